import type { INestApplicationContext } from '@nestjs/common';
import type { DiscoveryClient } from 'nestjs-etcd-discovery';
import { AppProcesses, EtcdServer, startConsumer } from '@repo/testing';

// kill -9 of one of three HTTP instances while two callers send 50 calls/s each through
// DiscoveryClient.call() and fetch(): one with outlier ejection (the default), one without. The
// instance's key stays in etcd for its whole TTL (10 s), longer than the test looks.
let etcd: EtcdServer;
const processes = new AppProcesses(() => ({ ETCD_HOSTS: etcd.host }));
const contexts: INestApplicationContext[] = [];

beforeAll(async () => {
  etcd = await EtcdServer.start();
});
afterAll(async () => {
  await Promise.all(contexts.map((context) => context.close()));
  await processes.stopAll();
  await etcd.destroy();
});

interface Traffic {
  calls: number;
  failed: number;
  /** Attempts per port, in the order made (retries included). */
  attempts: number[];
}

/** 50 calls a second for `ms`, each a fetch of GET / on an instance `call()` chooses. */
async function traffic(discovery: DiscoveryClient, ms: number, stats: Traffic): Promise<void> {
  const pending: Promise<void>[] = [];
  const until = Date.now() + ms;
  while (Date.now() < until) {
    stats.calls += 1;
    pending.push(
      discovery
        .call('flaky', async (endpoint) => {
          stats.attempts.push(endpoint.port);
          const response = await fetch(`http://${endpoint.address}/`, { signal: AbortSignal.timeout(2000) });
          return response.text();
        })
        .then(
          (text) => void (text === 'pong' || (stats.failed += 1)),
          () => void (stats.failed += 1),
        ),
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await Promise.all(pending);
}

describe('outlier ejection, with real instances', () => {
  it('kill -9 of one of three: no failed call, and the dead instance is no longer tried after a few failures', async () => {
    const apps = [1, 2, 3].map(() =>
      processes.start('discoverable-app', { transport: 'http', services: [{ name: 'flaky' }], discovery: { ttl: 10 } }),
    );
    const ports = await Promise.all(apps.map(async (app) => (await app.waitForMessage('listening')).port as number));
    const callers = await Promise.all(
      [undefined, false as const].map(async (outlierEjection) => {
        const { app, discovery } = await startConsumer({
          etcd: { hosts: [etcd.host] },
          requires: ['flaky'],
          ...(outlierEjection === false ? { outlierEjection } : {}),
        });
        contexts.push(app);
        await discovery.waitFor('flaky', { count: 3 });
        return discovery;
      }),
    );
    const [ejecting, plain] = callers.map(() => ({ calls: 0, failed: 0, attempts: [] as number[] }));
    const running = Promise.all([traffic(callers[0], 4000, ejecting), traffic(callers[1], 4000, plain)]);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const dead = ports[0];
    const before = { ejecting: ejecting.attempts.length, plain: plain.attempts.length };
    apps[0].kill('SIGKILL');
    await running;
    const afterKill = (stats: Traffic, from: number) =>
      stats.attempts.slice(from).filter((port) => port === dead).length;
    console.log(
      `[measured] with ejection: ${ejecting.calls} calls, ${ejecting.failed} failed, ${afterKill(ejecting, before.ejecting)} attempts at the dead instance in 3 s`,
    );
    console.log(
      `[measured] without: ${plain.calls} calls, ${plain.failed} failed, ${afterKill(plain, before.plain)} attempts at the dead instance in 3 s`,
    );
    expect(ejecting.failed).toBe(0);
    expect(plain.failed).toBe(0);
    expect(ejecting.calls).toBeGreaterThan(150);
    // Ejected after 3 failures (a call or two already under way may add one each).
    expect(afterKill(ejecting, before.ejecting)).toBeLessThanOrEqual(5);
    // Without ejection, round robin keeps sending it its share until the lease expires.
    expect(afterKill(plain, before.plain)).toBeGreaterThan(30);
    expect(callers[0].getEndpoints('flaky')).toHaveLength(3); // still listed: its lease lives
  });
});
