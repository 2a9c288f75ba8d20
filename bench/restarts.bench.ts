import { join } from 'node:path';
import { AppProcess, EtcdServer, establishedConnections, repoRoot, startBusyService, waitFor } from '@repo/testing';
import { quick, sleep } from './harness.js';
import { format, median, record } from './report.js';

const MB = 2 ** 20;

/**
 * Nothing grows with the number of etcd outages: a busy app (test/fixtures/busy-app: registration,
 * a required service of 500 endpoints changing 50 times a second, every observable, 1,000 picks a
 * second) through 50 restarts of its etcd (kill -9, started again on its data 1 s later). Its heap
 * after a full GC and its open fds after the 50th restart, next to the same after the first; and
 * its connections to etcd after each.
 */
export async function benchRestarts(): Promise<void> {
  const restarts = quick ? 10 : 50;
  console.log(
    `\nRestarts: one busy app through ${restarts} etcd restarts (kill -9, 1 s down); heap and fds after the last next to after the first`,
  );
  const etcd = await EtcdServer.start();
  const busy = await startBusyService([etcd.host], 'churning', 500, 50);
  const port = Number(etcd.host.split(':')[1]);
  const config = { service: 'busy', watched: 'churning', discovery: { etcd: { hosts: [etcd.host] }, ttl: 3 } };
  const app = AppProcess.run(join(repoRoot(), 'test/fixtures/dist/busy-app.js'), {
    env: { APP_CONFIG: JSON.stringify(config) },
    nodeArgs: ['--expose-gc'],
  });
  const connections: number[] = [];
  try {
    await app.waitForMessage('ready', 30_000);
    // An app's heap grows by about 0.5 MB in its first half minute whatever happens (measured with
    // no restart at all): compare restarts, not warm-up.
    await sleep(quick ? 5000 : 20_000);
    let after1 = { heapMB: 0, fds: 0 };
    let after10 = { heapMB: 0, fds: 0 };
    for (let restart = 1; restart <= restarts; restart += 1) {
      busy.pause();
      await etcd.killAndStartAgain(1000);
      busy.resume();
      await waitFor('the app to reconnect', () => establishedConnections(app.child.pid!, [port]).get(port)! >= 1, {
        timeoutMs: 20_000,
      });
      // Long enough for a keepalive round and a re-list, and for any connection a failure left behind to come up.
      await sleep(2000);
      connections.push(establishedConnections(app.child.pid!, [port]).get(port)!);
      if (restart === 1) after1 = await usage(app);
      if (restart === 10 && restarts > 10) after10 = await usage(app);
    }
    const afterAll = await usage(app);
    const growth = afterAll.heapMB - after1.heapMB;
    record({
      section: 'restarts',
      name: `heap after a full GC, after ${restarts} restarts`,
      value: afterAll.heapMB,
      unit: 'MB',
      baseline: { name: 'after 1', value: after1.heapMB },
    });
    record({
      section: 'restarts',
      name: `heap growth from restart 1 to ${restarts}`,
      value: growth,
      unit: 'MB',
      target: '≤ 1 MB',
      met: growth <= 1,
    });
    if (restarts > 10)
      record({
        section: 'restarts',
        name: `heap growth from restart 10 to ${restarts}`,
        value: afterAll.heapMB - after10.heapMB,
        unit: 'MB',
        baseline: { name: 'heap after 10', value: after10.heapMB },
      });
    record({
      section: 'restarts',
      name: `open fds after ${restarts} restarts`,
      value: afterAll.fds,
      unit: '',
      baseline: { name: 'after 1', value: after1.fds },
      target: '≤ 2 more',
      met: afterAll.fds - after1.fds <= 2,
    });
    const most = Math.max(...connections);
    console.log(`  connections to etcd after each restart: ${connections.join(' ')}`);
    record({
      section: 'restarts',
      name: 'connections to etcd after a restart, most seen',
      value: most,
      unit: '',
      target: '1 per member',
      met: most === 1,
    });
  } finally {
    await app.stop();
    busy.stop();
    await etcd.destroy();
  }
}

/** The app's heap after a full GC (the median of 5 reports, 200 ms apart: the churn keeps it moving) and its open fds. */
async function usage(app: AppProcess): Promise<{ heapMB: number; fds: number }> {
  const heaps: number[] = [];
  let fds = 0;
  for (let sample = 0; sample < 5; sample += 1) {
    app.messages.length = 0;
    app.kill('SIGUSR2');
    const line = await app.waitForMessage('usage');
    heaps.push((line.heapUsed as number) / MB);
    fds = line.fds as number;
    await sleep(200);
  }
  console.log(`  heap samples after a GC: ${heaps.map(format).join(', ')} MB`);
  return { heapMB: median(heaps), fds };
}
