import { Inject, Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { ClientProxy } from '@nestjs/microservices';
import { AppProcesses, CallLoop, CapturingLogger, EtcdServer, freePort, startedIn, waitFor } from '@repo/testing';
import { CallTimeoutError, DiscoveryClient, DiscoveryClientsModule, DiscoveryModule } from 'nestjs-etcd-discovery';
import { firstValueFrom } from 'rxjs';

// A hung instance — frozen with SIGSTOP: it stays listed (its lease outlives the freeze) and its ports
// still accept connections, but it answers nothing — while callers in this process keep calling with
// the library's defaults: through discovery.fetch() (GET) and through the README's call() example, 4
// loops each, every loop starting a call every 20 ms (`CallLoop`: or when its last one ended, if later); and
// through DiscoveryClientsModule clients with a timeoutMs, with and without retryOnTimeout.
let etcd: EtcdServer;
const processes = new AppProcesses(() => ({ ETCD_HOSTS: etcd.host }));
let caller: INestApplicationContext;
let logger: CapturingLogger;
const FREEZE_MS = 8000;
const TCP_TIMEOUT_MS = 1000;

beforeAll(async () => {
  etcd = await EtcdServer.start();
});
afterAll(async () => {
  await caller?.close();
  await processes.stopAll();
  await etcd.destroy();
});

/**
 * A hybrid instance: `hung-http` (and `hung-all`, whose calls have a retry budget of their own) at its
 * HTTP port, `hung-tcp` at its TCP port; all answer `whoami` with its pid.
 */
async function startInstance(): Promise<{ pid: number; freeze(): void; thaw(): void }> {
  const httpPort = await freePort();
  const app = processes.start('discoverable-app', {
    transport: 'hybrid',
    httpPort,
    services: [
      { name: 'hung-tcp' },
      { name: 'hung-http', options: { port: httpPort } },
      { name: 'hung-all', options: { port: httpPort } },
    ],
    // A TTL longer than the freeze: the instance stays listed, as a hung process does.
    discovery: { ttl: 15 },
  });
  await app.waitForMessage(
    'registration',
    15_000,
    (message) => message.type === 'registered' && (message.endpoint as { service: string }).service === 'hung-http',
  );
  for (const service of ['hung-tcp', 'hung-all']) {
    await app.waitForMessage(
      'registration',
      15_000,
      (message) => message.type === 'registered' && (message.endpoint as { service: string }).service === service,
    );
  }
  return { pid: app.child.pid!, freeze: () => app.kill('SIGSTOP'), thaw: () => app.kill('SIGCONT') };
}

@Injectable()
class TcpCallers {
  constructor(
    @Inject('RETRYING') readonly retrying: ClientProxy,
    @Inject('PLAIN') readonly plain: ClientProxy,
  ) {}
}

let instances: Awaited<ReturnType<typeof startInstance>>[];
let discovery: DiscoveryClient;

beforeAll(async () => {
  instances = [await startInstance(), await startInstance(), await startInstance()];
  @Module({
    imports: [
      DiscoveryModule.forRoot({ etcd: { hosts: [etcd.host] }, requires: ['hung-http', 'hung-all'] }),
      DiscoveryClientsModule.register([
        { name: 'RETRYING', service: 'hung-tcp', timeoutMs: TCP_TIMEOUT_MS, retryOnTimeout: true },
        { name: 'PLAIN', service: 'hung-tcp', timeoutMs: TCP_TIMEOUT_MS },
      ]),
    ],
    providers: [TcpCallers],
  })
  class CallerModule {}
  logger = new CapturingLogger();
  caller = await NestFactory.createApplicationContext(CallerModule, { logger, abortOnError: false });
  discovery = caller.get(DiscoveryClient);
  await discovery.waitFor('hung-http', { count: 3 });
  await discovery.waitFor('hung-tcp', { count: 3 });
  await discovery.waitFor('hung-all', { count: 3 });
}, 60_000);

describe('a hung instance (SIGSTOP, still listed, its ports still accepting)', () => {
  it('costs callers nothing: no failed call, none longer than the attempt timeout plus an answer, throughput kept; it is picked again once thawed', async () => {
    const { retrying, plain } = caller.get(TcpCallers);
    const fetchLoops = [1, 2, 3, 4].map(
      () => new CallLoop(async () => (await discovery.fetch('http://hung-http/whoami')).text()),
    );
    // The package README's call() example, as it stands there.
    const callLoops = [1, 2, 3, 4].map(
      () =>
        new CallLoop(() =>
          discovery.call(
            'hung-http',
            async ({ address }, { signal }) => (await fetch(`http://${address}/whoami`, { signal })).text(),
            { idempotent: true },
          ),
        ),
    );
    const retryingLoop = new CallLoop(() => firstValueFrom(retrying.send<string>('whoami', {})));
    const plainLoop = new CallLoop(() => firstValueFrom(plain.send<string>('whoami', {})));
    const httpLoops = [...fetchLoops, ...callLoops];

    await new Promise((resolve) => setTimeout(resolve, 3000));
    const frozen = instances[0];
    const frozenAt = Date.now();
    frozen.freeze();
    await new Promise((resolve) => setTimeout(resolve, FREEZE_MS));
    frozen.thaw();
    const thawedAt = Date.now();
    // Once thawed (and its ejection over), the instance is picked and answers again.
    await waitFor(
      'answers from the thawed instance',
      () => startedIn(fetchLoops, thawedAt, Infinity).some((call) => call.pid === String(frozen.pid)),
      { timeoutMs: 30_000 },
    );
    await Promise.all([...httpLoops, retryingLoop, plainLoop].map((loop) => loop.stop()));

    const before = startedIn(httpLoops, frozenAt - 3000, frozenAt).length / 3;
    const during = startedIn(httpLoops, frozenAt, thawedAt).length / (FREEZE_MS / 1000);
    const all = httpLoops.flatMap((loop) => loop.calls);
    const failed = all.filter((call) => call.error !== undefined);
    const slowest = Math.max(...all.map((call) => call.tookMs));
    const tcpRetrying = retryingLoop.calls;
    const tcpPlain = plainLoop.calls;
    const plainFailures = tcpPlain.filter((call) => call.error !== undefined);
    console.log(
      `[measured] hung instance, HTTP (fetch + call, 8 loops): ${before.toFixed(0)} calls/s before, ${during.toFixed(0)} during the freeze ` +
        `(${((100 * during) / before).toFixed(0)} %); ${all.length} calls, ${failed.length} failed, slowest ${slowest} ms. ` +
        `TCP with retryOnTimeout: ${tcpRetrying.length} sends, ${tcpRetrying.filter((call) => call.error).length} failed, slowest ${Math.max(...tcpRetrying.map((call) => call.tookMs))} ms; ` +
        `without: ${plainFailures.length} of ${tcpPlain.length} timed out, slowest ${Math.max(...tcpPlain.map((call) => call.tookMs))} ms`,
    );
    expect(failed).toEqual([]);
    expect(before).toBeGreaterThanOrEqual(200); // calls a second, all loops together
    expect(slowest).toBeLessThanOrEqual(2000 + 500); // the default attemptTimeoutMs, plus an answer
    expect(during).toBeGreaterThanOrEqual(0.8 * before);
    expect(tcpRetrying.filter((call) => call.error !== undefined)).toEqual([]);
    expect(Math.max(...tcpRetrying.map((call) => call.tookMs))).toBeLessThanOrEqual(TCP_TIMEOUT_MS + 500);
    expect(
      plainFailures.every((call) =>
        call.error!.startsWith(
          `${CallTimeoutError.name}: send() to "hung-tcp" got no reply within timeoutMs (1000 ms)`,
        ),
      ),
    ).toBe(true);
    expect(Math.max(...tcpPlain.map((call) => call.tookMs))).toBeLessThanOrEqual(TCP_TIMEOUT_MS + 500);
  }, 90_000);

  it('every instance hung: retries and hedges stay within the budget (attempts per call ≤ 1 + 20 % + its floor), said once; callers recover on thaw', async () => {
    const ALL_FROZEN_MS = 6000;
    const budgetWarningsBefore = logger.warnings.filter((warning) =>
      warning.includes('Retry budget of "hung-all" spent'),
    ).length;
    for (const instance of instances) instance.freeze();
    const frozenAt = Date.now();
    // Many callers of a service not called before, all started while everything is frozen: the
    // budget's window holds these calls only.
    let attempts = 0;
    const loops = Array.from(
      { length: 200 },
      () =>
        new CallLoop(() =>
          discovery.call(
            'hung-all',
            async ({ address }, { signal }) => {
              attempts += 1;
              return (await fetch(`http://${address}/whoami`, { signal })).text();
            },
            { idempotent: true },
          ),
        ),
    );
    await new Promise((resolve) => setTimeout(resolve, ALL_FROZEN_MS));
    const attemptsWhileFrozen = attempts;
    for (const instance of instances) instance.thaw();
    const thawedAt = Date.now();
    await waitFor(
      'answers once thawed',
      () => startedIn(loops, thawedAt + 500, Infinity).filter((call) => call.pid !== undefined).length >= 200,
      { timeoutMs: 30_000 },
    );
    await Promise.all(loops.map((loop) => loop.stop()));

    const calls = startedIn(loops, frozenAt, thawedAt);
    const failed = calls.filter((call) => call.error !== undefined);
    const floorPerWindow = 10 * 10; // minPerSecond 10, over the 10 s the budget looks at
    const allowedPerCall = 1 + (0.2 * calls.length + floorPerWindow) / calls.length;
    const afterThaw = startedIn(loops, thawedAt + 500, Infinity);
    const budgetWarnings =
      logger.warnings.filter((warning) => warning.includes('Retry budget of "hung-all" spent')).length -
      budgetWarningsBefore;
    console.log(
      `[measured] every instance hung for ${ALL_FROZEN_MS / 1000} s, 200 callers: ${calls.length} calls, ${attemptsWhileFrozen} attempts ` +
        `(${(attemptsWhileFrozen / calls.length).toFixed(2)} per call; the budget allows ${allowedPerCall.toFixed(2)}); ${failed.length} failed ` +
        `(${failed[0]?.error?.slice(0, 240) ?? 'none'}${failed.length > 1 ? ', …' : ''}); ` +
        `budget warnings: ${budgetWarnings}; after the thaw ${afterThaw.filter((call) => call.error).length} of ${afterThaw.length} failed`,
    );
    expect(attemptsWhileFrozen / calls.length).toBeLessThanOrEqual(allowedPerCall);
    // A call whose budget is spent fails with what it had: its attempt's timeout.
    expect(failed.every((call) => call.error!.startsWith(`${CallTimeoutError.name}:`))).toBe(true);
    expect(budgetWarnings).toBe(1);
    expect(afterThaw.filter((call) => call.error !== undefined)).toEqual([]);
  }, 90_000);
});
