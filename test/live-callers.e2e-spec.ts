import { Inject, Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { ClientProxy } from '@nestjs/microservices';
import { AppProcess, CapturingLogger, EtcdServer, freePort, readKeys, startConsumer, waitFor } from '@repo/testing';
import type { Etcd3 } from 'etcd3';
import {
  DiscoveryClient,
  DiscoveryClientsModule,
  DiscoveryModule,
  NoEndpointAvailableError,
  type DiscoveryModuleOptions,
} from 'nestjs-etcd-discovery';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom, timeout } from 'rxjs';

// Live callers across everything that happens to a fleet: three hybrid instances (an HTTP service
// and a TCP service each), an HTTP caller through DiscoveryClient.call() + fetch and a TCP caller
// through DiscoveryClientsModule, 50 calls a second each, while one instance is killed (-9), etcd is
// wiped, an instance is stopped (SIGTERM: draining first), and a health check turns false then true.
// Then self-preservation's bounds, and zones and subsets, with real instances.
let etcd: EtcdServer;
let client: Etcd3;
const apps: AppProcess[] = [];
const contexts: INestApplicationContext[] = [];
const healthDir = mkdtempSync(join(tmpdir(), 'live-callers-'));
const instanceOptions = { ttl: 3, drainMs: 1000, backoff: { initialDelayMs: 100, maxDelayMs: 500 } };

beforeAll(async () => {
  etcd = await EtcdServer.start();
  client = etcd.client();
});
afterAll(async () => {
  await Promise.all(contexts.map((context) => context.close()));
  await Promise.all(apps.map((app) => app.stop()));
  await etcd.destroy();
  rmSync(healthDir, { recursive: true, force: true });
});

interface Instance {
  app: AppProcess;
  pid: string;
  /** While this file exists, the instance's health check fails. */
  unhealthyFile: string;
}

/** A hybrid instance: `live-tcp` at its TCP port, `live-http` at its HTTP port. */
async function startInstance(
  name: string,
  extra: { zone?: string; version?: string; namespace?: string } = {},
): Promise<Instance> {
  const httpPort = await freePort();
  const unhealthyFile = join(healthDir, name);
  const { zone, version, namespace } = extra;
  const declared = { ...(version ? { version } : {}) };
  const app = AppProcess.start(
    'discoverable-app',
    {
      transport: 'hybrid',
      httpPort,
      services: [
        { name: 'live-tcp', options: declared },
        { name: 'live-http', options: { ...declared, port: httpPort } },
      ],
      discovery: { ...instanceOptions, ...(zone ? { zone } : {}), ...(namespace ? { namespace } : {}) },
      unhealthyWhileFileExists: unhealthyFile,
    },
    { ETCD_HOSTS: etcd.host },
  );
  apps.push(app);
  await app.waitForMessage(
    'registration',
    15_000,
    (message) => message.type === 'registered' && (message.endpoint as { service: string }).service === 'live-http',
  );
  await app.waitForMessage(
    'registration',
    15_000,
    (message) => message.type === 'registered' && (message.endpoint as { service: string }).service === 'live-tcp',
  );
  return { app, pid: String(app.child.pid), unhealthyFile };
}

const CALL_EVERY_MS = 18;

/** Calls made by one caller: how many, which failed (and why), and which instance answered each. */
class Traffic {
  calls = 0;
  readonly failures: string[] = [];
  readonly answeredBy: { at: number; pid: string }[] = [];
  private running = true;
  private readonly done: Promise<void>;

  constructor(call: () => Promise<string>) {
    this.done = this.run(call);
  }

  /** Answers by `pid` since `since` (ms timestamp). */
  answersFrom(pid: string, since: number): number {
    return this.answeredBy.filter((answer) => answer.at >= since && answer.pid === pid).length;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }

  /**
   * A call every 18 ms (55 a second), each started on time whether or not the previous has answered.
   * The schedule is kept by the clock, not by the timer: a timer that fires late (a busy test process)
   * makes the next tick start every call that is due, so the rate offered does not depend on the load.
   */
  private async run(call: () => Promise<string>): Promise<void> {
    const pending: Promise<void>[] = [];
    const startedAt = Date.now();
    while (this.running) {
      const due = Math.floor((Date.now() - startedAt) / CALL_EVERY_MS) + 1;
      while (this.calls < due) {
        this.calls += 1;
        pending.push(
          call().then(
            (pid) => void this.answeredBy.push({ at: Date.now(), pid }),
            (error: Error) => void this.failures.push(`${new Date().toISOString()} ${error.name}: ${error.message}`),
          ),
        );
      }
      await new Promise((resolve) => setTimeout(resolve, CALL_EVERY_MS - ((Date.now() - startedAt) % CALL_EVERY_MS)));
    }
    await Promise.all(pending);
  }
}

/** An app in the test process that calls `live-tcp` through DiscoveryClientsModule. */
async function tcpCaller(options: DiscoveryModuleOptions) {
  @Injectable()
  class Caller {
    constructor(@Inject('LIVE') readonly proxy: ClientProxy) {}
  }
  @Module({
    imports: [
      DiscoveryModule.forRoot(options),
      DiscoveryClientsModule.register([{ name: 'LIVE', service: 'live-tcp' }]),
    ],
    providers: [Caller],
  })
  class CallerModule {}
  const logger = new CapturingLogger();
  const app = await NestFactory.createApplicationContext(CallerModule, { logger, abortOnError: false });
  contexts.push(app);
  return { discovery: app.get(DiscoveryClient), proxy: app.get(Caller).proxy, logger };
}

/** Every line the library logs (log and warn), for what self-preservation says. */
class LogLines extends CapturingLogger {
  readonly lines: string[] = [];
  override log(message?: unknown): void {
    this.lines.push(String(message));
  }
  override warn(message: unknown): void {
    super.warn(message);
    this.lines.push(String(message));
  }
}

/** The smallest list of `service` that `discovery` published from now on. */
function smallestList(discovery: DiscoveryClient, service: string) {
  let smallest = Infinity;
  const subscription = discovery.endpoints$(service).subscribe((list) => (smallest = Math.min(smallest, list.length)));
  return { stop: () => (subscription.unsubscribe(), smallest) };
}

describe('live callers: no failed call through a kill -9, an etcd wipe, a SIGTERM and a health flip', () => {
  it('HTTP through call() and TCP through DiscoveryClientsModule, 50 calls/s each: 0 failed', async () => {
    const instances = await Promise.all(['i1', 'i2', 'i3'].map((name) => startInstance(name)));
    const logger = new LogLines();
    const { app, discovery: http } = await startConsumer(
      { etcd: { hosts: [etcd.host] }, requires: ['live-http'] },
      logger,
    );
    contexts.push(app);
    // The same consumer without self-preservation, for comparison: it only watches.
    const plain = await startConsumer({
      etcd: { hosts: [etcd.host] },
      requires: ['live-http'],
      selfPreservation: false,
    });
    contexts.push(plain.app);
    const tcp = await tcpCaller({ etcd: { hosts: [etcd.host] }, requires: ['live-tcp'] });
    await http.waitFor('live-http', { count: 3 });
    await tcp.discovery.waitFor('live-tcp', { count: 3 });
    const seenBoth = (count: number) =>
      http.getEndpoints('live-http').length === count && tcp.discovery.getEndpoints('live-tcp').length === count;

    const httpTraffic = new Traffic(() =>
      http.call('live-http', async (endpoint) =>
        (await fetch(`http://${endpoint.address}/whoami`, { signal: AbortSignal.timeout(2000) })).text(),
      ),
    );
    const tcpTraffic = new Traffic(() => firstValueFrom(tcp.proxy.send<string>('whoami', {}).pipe(timeout(2000))));
    const startedAt = Date.now();
    const phases: string[] = [];
    const phase = async (name: string, action: () => Promise<void>) => {
      const from = {
        http: httpTraffic.calls,
        tcp: tcpTraffic.calls,
        httpFailed: httpTraffic.failures.length,
        tcpFailed: tcpTraffic.failures.length,
      };
      const began = Date.now();
      await action();
      phases.push(
        `${name} (${((Date.now() - began) / 1000).toFixed(1)} s): HTTP ${httpTraffic.calls - from.http} calls, ${httpTraffic.failures.length - from.httpFailed} failed; ` +
          `TCP ${tcpTraffic.calls - from.tcp} calls, ${tcpTraffic.failures.length - from.tcpFailed} failed`,
      );
    };
    const settle = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

    await phase('warm-up', () => settle(1000));

    await phase('kill -9 of one of three', async () => {
      instances[0].app.kill('SIGKILL');
      await settle(4000);
      instances[0] = await startInstance('i4');
      await waitFor('the replacement seen by both callers', () => seenBoth(4) || seenBoth(3), { timeoutMs: 15_000 });
      await waitFor("the killed instance's lease to expire", () => seenBoth(3), { timeoutMs: 15_000 });
    });

    await phase('etcd data wipe', async () => {
      expect((await readKeys(client, '/services/live-http/')).size).toBe(3);
      const lists = { preserving: smallestList(http, 'live-http'), plain: smallestList(plain.discovery, 'live-http') };
      const wipedAt = Date.now();
      await etcd.restart({ wipe: true });
      await waitFor(
        'every instance registered again in the wiped etcd',
        async () => {
          const keys = await Promise.all(
            ['/services/live-http/', '/services/live-tcp/'].map((prefix) => readKeys(client, prefix)),
          );
          return keys.every((found) => found.size === 3);
        },
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      const backAt = Date.now();
      await waitFor(
        'the plain consumer to list them all again',
        () => plain.discovery.getEndpoints('live-http').length === 3,
        { timeoutMs: 10_000 },
      );
      await settle(2000);
      expect(seenBoth(3)).toBe(true);
      const smallest = { preserving: lists.preserving.stop(), plain: lists.plain.stop() };
      console.log(
        `[measured] wipe: instances registered again ${((backAt - wipedAt) / 1000).toFixed(1)} s after the restart began; smallest list of live-http: ` +
          `${smallest.preserving} with self-preservation, ${smallest.plain} without; HTTP caller said: ${logger.lines.filter((line) => line.startsWith('Self-preservation')).join(' | ') || 'nothing'}`,
      );
      // A list from the wiped etcd that lacked more than half of them was held: never empty.
      expect(smallest.preserving).toBeGreaterThanOrEqual(2);
    });

    await phase('SIGTERM of one (draining first)', async () => {
      const stopping = (await instances[1].app.waitForMessage('listening')).port as number;
      const seen: string[] = [];
      const subscription = http.changes$('live-http').subscribe((change) => {
        if (change.endpoint.port === stopping) seen.push(`${change.type} ${change.endpoint.status ?? 'up'}`);
      });
      await instances[1].app.terminate();
      await waitFor('the stopped instance gone from both lists', () => seenBoth(2), { timeoutMs: 5000 });
      subscription.unsubscribe();
      expect(seen).toEqual(['updated draining', 'removed draining']);
      await settle(1000);
    });

    const flipped = instances[2];
    await phase('a health check turning false, then true', async () => {
      const httpPort = (await flipped.app.waitForMessage('listening')).port as number;
      writeFileSync(flipped.unhealthyFile, '');
      await waitFor(
        "the instance 'down' in both callers' lists",
        () =>
          http.getEndpoints('live-http').some((endpoint) => endpoint.port === httpPort && endpoint.status === 'down') &&
          tcp.discovery.getEndpoints('live-tcp').filter((endpoint) => endpoint.status === 'down').length === 1,
        { timeoutMs: 5000 },
      );
      const downSince = Date.now() + 100; // calls already under way may still land
      await settle(1500);
      expect(httpTraffic.answersFrom(flipped.pid, downSince)).toBe(0);
      expect(tcpTraffic.answersFrom(flipped.pid, downSince)).toBe(0);
      rmSync(flipped.unhealthyFile);
      await waitFor(
        "the instance 'up' again",
        () => http.getEndpoints('live-http').every((endpoint) => (endpoint.status ?? 'up') === 'up'),
        { timeoutMs: 5000 },
      );
      const upSince = Date.now() + 100;
      await settle(1500);
      expect(httpTraffic.answersFrom(flipped.pid, upSince)).toBeGreaterThan(10);
      expect(tcpTraffic.answersFrom(flipped.pid, upSince)).toBeGreaterThan(10);
    });

    await Promise.all([httpTraffic.stop(), tcpTraffic.stop()]);
    const seconds = (Date.now() - startedAt) / 1000;
    for (const line of phases) console.log(`[measured] ${line}`);
    console.log(
      `[measured] in all: HTTP ${httpTraffic.calls} calls (${(httpTraffic.calls / seconds).toFixed(0)}/s), TCP ${tcpTraffic.calls} calls (${(tcpTraffic.calls / seconds).toFixed(0)}/s), over ${seconds.toFixed(1)} s`,
    );
    expect(httpTraffic.failures).toEqual([]);
    expect(tcpTraffic.failures).toEqual([]);
    expect(httpTraffic.calls / seconds).toBeGreaterThan(50);
    expect(tcpTraffic.calls / seconds).toBeGreaterThan(50);
  });
});

describe('self-preservation, bounded', () => {
  it('kill -9 of every instance: the list empties within ttl + maxHoldMs (held until a fresh list confirms it)', async () => {
    const namespace = '/doomed';
    await Promise.all(['d1', 'd2'].map((name) => startInstance(name, { namespace })));
    const doomed = apps.slice(-2);
    const logger = new LogLines();
    const maxHoldMs = 10_000;
    const { app, discovery } = await startConsumer(
      {
        etcd: { hosts: [etcd.host] },
        namespace,
        requires: ['live-http'],
        selfPreservation: { confirmMs: 3000, maxHoldMs },
      },
      logger,
    );
    contexts.push(app);
    await discovery.waitFor('live-http', { count: 2 });
    const killedAt = Date.now();
    for (const instance of doomed) instance.kill('SIGKILL');
    await waitFor('the list to empty', () => discovery.getEndpoints('live-http').length === 0, {
      timeoutMs: (instanceOptions.ttl * 1000 + maxHoldMs) * 1.5,
    });
    const emptyAfterMs = Date.now() - killedAt;
    const said = logger.lines.filter((line) => line.startsWith('Self-preservation') && line.includes('"live-http"'));
    console.log(
      `[measured] kill -9 of both: list empty after ${(emptyAfterMs / 1000).toFixed(1)} s (ttl ${instanceOptions.ttl} s, confirmMs 3 s, maxHoldMs 10 s); said: ${said.join(' | ')}`,
    );
    expect(emptyAfterMs).toBeLessThanOrEqual(instanceOptions.ttl * 1000 + maxHoldMs);
    // The last removal (all that was left) was held, then believed on a fresh list: one line each.
    expect(said).toHaveLength(2);
    expect(said[0]).toBe(
      `Self-preservation: not removing the 1 of 1 'up' endpoints of "live-http" that a single change took away, until a list 3 s later confirms them gone (at most 10 s)`,
    );
    expect(said[1]).toMatch(
      /^Self-preservation: removing 1 endpoint\(s\) of "live-http" \(a fresh list confirms it\)$/,
    );
  });

  it('a graceful stop of the only instance removes it at once (it turned draining first: never held)', async () => {
    const namespace = '/solo';
    const solo = await startInstance('s1', { namespace });
    const logger = new LogLines();
    const { app, discovery } = await startConsumer(
      { etcd: { hosts: [etcd.host] }, namespace, requires: ['live-http'] },
      logger,
    );
    contexts.push(app);
    await discovery.waitFor('live-http', { count: 1 });
    const stoppedAt = Date.now();
    solo.app.kill('SIGTERM');
    await waitFor('the list to empty', () => discovery.getEndpoints('live-http').length === 0, {
      timeoutMs: 3000,
      intervalMs: 10,
    });
    const goneAfterMs = Date.now() - stoppedAt;
    console.log(`[measured] SIGTERM of the only instance (drainMs 1 s): gone from the list after ${goneAfterMs} ms`);
    // drainMs (1 s) and the revoke; a hold would add confirmMs (3 s), a lease expiry the TTL (3 s).
    expect(goneAfterMs).toBeLessThan(2500);
    expect(logger.lines.filter((line) => line.startsWith('Self-preservation'))).toEqual([]);
  });
});

describe('zones and subsets, with real instances', () => {
  it("picks stay in the caller's zone until it has no 'up' endpoint, spread over the others meanwhile, and come back; where picks only matching versions", async () => {
    const namespace = '/zoned';
    const [a, b, c] = await Promise.all([
      startInstance('za', { namespace, zone: 'eu-1', version: '1.0.0' }),
      startInstance('zb', { namespace, zone: 'eu-1', version: '1.0.0' }),
      startInstance('zc', { namespace, zone: 'us-1', version: '2.0.0' }),
    ]);
    const { app, discovery } = await startConsumer({
      etcd: { hosts: [etcd.host] },
      namespace,
      zone: 'eu-1',
      requires: ['live-http'],
    });
    contexts.push(app);
    await discovery.waitFor('live-http', { count: 3 });
    const zoneOf = new Map(discovery.getEndpoints('live-http').map((endpoint) => [endpoint.port, endpoint.zone]));
    const zonesPicked = async (count: number, where?: { version: string }) => {
      const picked = new Map<string, number>();
      for (let call = 0; call < count; call += 1) {
        const pid = await discovery.call(
          'live-http',
          async (endpoint) => (await fetch(`http://${endpoint.address}/whoami`)).text(),
          { where },
        );
        const zone = pid === a.pid || pid === b.pid ? 'eu-1' : pid === c.pid ? 'us-1' : 'unknown';
        picked.set(zone, (picked.get(zone) ?? 0) + 1);
      }
      return Object.fromEntries(picked);
    };
    expect([...zoneOf.values()].sort()).toEqual(['eu-1', 'eu-1', 'us-1']);
    expect(await zonesPicked(30)).toEqual({ 'eu-1': 30 });

    for (const instance of [a, b]) writeFileSync(instance.unhealthyFile, '');
    await waitFor(
      "both eu-1 instances 'down'",
      () => discovery.getEndpoints('live-http').filter((endpoint) => endpoint.status === 'down').length === 2,
      { timeoutMs: 5000 },
    );
    expect(await zonesPicked(30)).toEqual({ 'us-1': 30 });

    rmSync(a.unhealthyFile);
    await waitFor(
      "one eu-1 instance 'up' again",
      () => discovery.getEndpoints('live-http').filter((endpoint) => endpoint.status === 'down').length === 1,
      { timeoutMs: 5000 },
    );
    expect(await zonesPicked(30)).toEqual({ 'eu-1': 30 });

    expect(await zonesPicked(20, { version: '2.0.0' })).toEqual({ 'us-1': 20 });
    expect(() => discovery.pick('live-http', { where: { version: '3.0.0' } })).toThrow(NoEndpointAvailableError);
    expect(() => discovery.pick('live-http', { where: { version: '3.0.0' } })).toThrow(/version/);
    rmSync(b.unhealthyFile);
  });
});
