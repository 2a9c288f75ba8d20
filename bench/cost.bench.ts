import { EtcdServer, establishedConnections, waitFor } from '@repo/testing';
import { Etcd3 } from 'etcd3';
import { quick, seed, startProcess } from './harness.js';
import { record } from './report.js';

/** What one app process costs etcd, read from etcd's /metrics (requests, leases, watch streams) and from /proc (connections). */
export async function benchCost(): Promise<void> {
  console.log("\nCost on etcd: what one app process costs, read from etcd's /metrics");
  const etcd = await EtcdServer.start();
  const client = new Etcd3({ hosts: [etcd.host] });
  await seed(client, ['target'], 3);
  const windowMs = quick ? 3000 : 10_000;
  const requestsPerSecond = async () => {
    const before = await etcd.metric('grpc_server_started_total');
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    // Each /metrics read is HTTP, not gRPC: it does not count itself.
    return ((await etcd.metric('grpc_server_started_total')) - before) / (windowMs / 1000);
  };
  for (const [label, services, pick] of [
    ['idle, 1 registered service, watching 1', 1, false],
    ['picking without pause, 1 registered service', 1, true],
    ['idle, 10 registered services', 10, false],
  ] as const) {
    const app = startProcess('cost-app.js', { ETCD_HOSTS: etcd.host, APP_CONFIG: JSON.stringify({ services, pick }) });
    await app.waitForLine('the app', (line) => line.ready === true, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    app.kill('SIGUSR2');
    const picksBefore = (await app.waitForLine('picks', (line) => line.picks !== undefined)).picks as number;
    const rate = await requestsPerSecond();
    app.messages.length = 0;
    app.kill('SIGUSR2');
    const picks = ((await app.waitForLine('picks', (line) => line.picks !== undefined)).picks as number) - picksBefore;
    const leases = (await client.leaseClient.leaseLeases()).leases.length;
    const streams = await etcd.metric('etcd_debugging_mvcc_watch_stream_total');
    const port = Number(etcd.host.split(':')[1]);
    const connections = establishedConnections(app.child.pid!, [port]).get(port)!;
    record({
      section: 'cost',
      name: `${label}: etcd requests`,
      value: rate,
      unit: 'req/s',
      target: pick ? '0 requests per pick' : undefined,
      met: pick ? rate * (windowMs / 1000) < picks / 1e6 + 3 * (windowMs / 1000) : undefined,
    });
    if (pick) record({ section: 'cost', name: `${label}: picks in the same window`, value: picks, unit: 'picks' });
    record({
      section: 'cost',
      name: `${label}: leases`,
      value: leases,
      unit: '',
      target: '1 lease per process',
      met: leases === 1,
    });
    record({
      section: 'cost',
      name: `${label}: watch streams`,
      value: streams,
      unit: '',
      target: 'one watch stream per process',
      met: streams === 1,
    });
    record({
      section: 'cost',
      name: `${label}: TCP connections to etcd`,
      value: connections,
      unit: '',
      target: 'one per member',
      met: connections === 1,
    });
    await app.terminate();
    await waitFor('the lease to go', async () => (await client.leaseClient.leaseLeases()).leases.length === 0, {
      timeoutMs: 15_000,
    });
  }
  client.close();
  await etcd.destroy();
}
