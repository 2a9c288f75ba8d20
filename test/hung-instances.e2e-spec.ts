import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppProcesses, CallLoop, CapturingLogger, EtcdServer, startedIn, type AppProcess } from '@repo/testing';
import { DiscoveryClient, DiscoveryModule } from 'nestjs-etcd-discovery';

// Several instances hung at once — 2 of 5 frozen with SIGSTOP together, as a bad deploy or a stuck dependency does:
// listed still (their lease outlives the freeze), their ports accepting connections, answering nothing. Callers in
// this process keep calling with the library's defaults: 4 loops through discovery.fetch() (GET), 4 through the
// README's call() example, each starting a call every 20 ms; and one loop of POSTs through discovery.fetch(), which
// are not idempotent: never hedged, never sent twice.
let etcd: EtcdServer;
const processes = new AppProcesses(() => ({ ETCD_HOSTS: etcd.host }));
let caller: INestApplicationContext;
let discovery: DiscoveryClient;
let instances: AppProcess[];
const FREEZE_MS = 8000;

beforeAll(async () => {
  etcd = await EtcdServer.start();
  instances = [];
  for (let index = 0; index < 5; index += 1) {
    const app = processes.start('discoverable-app', {
      transport: 'http',
      services: [{ name: 'hung-five' }],
      discovery: { ttl: 15 }, // longer than the freeze: listed all along, as hung processes are
    });
    await app.waitForMessage('registration', 15_000, (message) => message.type === 'registered');
    instances.push(app);
  }
  @Module({ imports: [DiscoveryModule.forRoot({ etcd: { hosts: [etcd.host] }, requires: ['hung-five'] })] })
  class CallerModule {}
  caller = await NestFactory.createApplicationContext(CallerModule, { logger: new CapturingLogger() });
  discovery = caller.get(DiscoveryClient);
  await discovery.waitFor('hung-five', { count: 5 });
}, 90_000);

afterAll(async () => {
  await caller?.close();
  await processes.stopAll();
  await etcd.destroy();
});

describe('two of five instances hung at once (SIGSTOP, still listed, their ports still accepting)', () => {
  it('no GET lost, none longer than the attempt timeout, throughput kept; no POST sent twice', async () => {
    const fetchLoops = [1, 2, 3, 4].map(
      () => new CallLoop(async () => (await discovery.fetch('http://hung-five/whoami')).text()),
    );
    const callLoops = [1, 2, 3, 4].map(
      () =>
        new CallLoop(() =>
          discovery.call(
            'hung-five',
            async ({ address }, { signal }) => (await fetch(`http://${address}/whoami`, { signal })).text(),
            { idempotent: true },
          ),
        ),
    );
    let posts = 0;
    const postLoop = new CallLoop(
      async () => (await discovery.fetch(`http://hung-five/orders?id=${posts++}`, { method: 'POST' })).text(),
      50,
    );
    const getLoops = [...fetchLoops, ...callLoops];

    await new Promise((resolve) => setTimeout(resolve, 3000));
    const frozen = instances.slice(0, 2);
    const frozenAt = Date.now();
    for (const app of frozen) app.kill('SIGSTOP');
    await new Promise((resolve) => setTimeout(resolve, FREEZE_MS));
    for (const app of frozen) app.kill('SIGCONT');
    const thawedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await Promise.all([...getLoops, postLoop].map((loop) => loop.stop()));
    // What the thawed instances had queued while frozen is served now: every POST received, to count each once.
    await new Promise((resolve) => setTimeout(resolve, 1000));

    const before = startedIn(getLoops, frozenAt - 3000, frozenAt).length / 3;
    const during = startedIn(getLoops, frozenAt, thawedAt).length / (FREEZE_MS / 1000);
    const gets = getLoops.flatMap((loop) => loop.calls);
    const failed = gets.filter((call) => call.error !== undefined);
    const slowest = Math.max(...gets.map((call) => call.tookMs));
    const slowestDuring = Math.max(...startedIn(getLoops, frozenAt, thawedAt).map((call) => call.tookMs));
    const received = new Map<string, number>();
    for (const app of instances)
      for (const message of app.messages.filter((message) => message.event === 'posted'))
        received.set(String(message.id), (received.get(String(message.id)) ?? 0) + 1);
    const twice = [...received].filter(([, times]) => times > 1);
    const postsFailed = postLoop.calls.filter((call) => call.error !== undefined).length;
    console.log(
      `[measured] 2 of 5 instances hung for ${FREEZE_MS / 1000} s, 8 GET loops (fetch + call): ${before.toFixed(0)} calls/s before, ` +
        `${during.toFixed(0)} during (${((100 * during) / before).toFixed(0)} %); ${gets.length} calls, ${failed.length} failed, ` +
        `slowest ${slowest} ms (${slowestDuring} ms during the freeze). POSTs: ${postLoop.calls.length} sent, ${postsFailed} failed, ` +
        `${received.size} received, ${twice.length} received twice`,
    );
    expect(failed).toEqual([]);
    expect(before).toBeGreaterThanOrEqual(200); // calls a second, all loops together
    expect(slowest).toBeLessThanOrEqual(2000); // the default attemptTimeoutMs: none waits it out
    expect(during).toBeGreaterThanOrEqual(0.8 * before);
    expect(twice).toEqual([]);
    expect(received.size).toBeGreaterThan(0);
  }, 90_000);
});
