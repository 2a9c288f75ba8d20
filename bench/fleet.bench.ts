import { readFileSync } from 'node:fs';
import { EtcdCluster, EtcdGrpcProxy, putEndpoint, testEndpoint, type AppProcess } from '@repo/testing';
import type { Etcd3 } from 'etcd3';
import { cpuTimeMs, quick, sleep, startProcess } from './harness.js';
import { format, percentile, record } from './report.js';

/** The `fleet-N` services the simulated apps register under; each app watches fleet-common and two of them. */
const SERVICES = 10;
const APPS_PER_WORKER = 125;
const TTL = 10;
const WAVE_MS = 30_000;
const STEADY_MS = quick ? 10_000 : 20_000;
const PROBES = 10;
const IDLE_MS = 10_000;

interface Fleet {
  workers: AppProcess[];
  /** When each app saw probe `id` (ms since the epoch, its clock: the same machine's). */
  seen(id: string): number[];
}

/**
 * What a fleet costs etcd: a 3-member cluster on loopback and `size` simulated apps (bench/processes/
 * fleet-apps.ts: each its own connection, lease, registration and watches, through the library),
 * directly and through one `etcd grpc-proxy`. At rest: etcd's CPU and memory, requests per second, a
 * keepalive's latency; a probe written to a service every app watches: how long until each app saw it;
 * a deploy wave (every app closed and started again within 30 s): etcd's CPU meanwhile.
 */
export async function benchFleet(): Promise<void> {
  const sizes = quick ? [200] : [250, 1_000];
  console.log(`\nFleet: ${sizes.map(format).join(' / ')} simulated apps on a 3-member etcd, directly and through etcd grpc-proxy`);
  for (const size of sizes) {
    for (const viaProxy of [false, true]) {
      const cluster = await EtcdCluster.start(3);
      const proxy = viaProxy ? await EtcdGrpcProxy.start(cluster.hosts) : undefined;
      try {
        await measureFleet(cluster, proxy, size);
      } finally {
        await proxy?.destroy();
        await cluster.destroy();
      }
    }
  }
}

async function measureFleet(cluster: EtcdCluster, proxy: EtcdGrpcProxy | undefined, size: number): Promise<void> {
  const label = `${format(size)} apps, ${proxy ? 'through grpc-proxy' : 'direct'}`;
  const hosts = proxy ? [proxy.host] : cluster.hosts;
  const client = cluster.client();
  const etcdPids = cluster.members.map((member) => member.pid!);
  // The cluster with no app first (raft heartbeats, the proxy's own streams): what the apps add is the difference.
  const idleBefore = etcdPids.map(cpuTimeMs);
  await sleep(IDLE_MS);
  const idleShare = (etcdPids.reduce((sum, pid, index) => sum + cpuTimeMs(pid) - idleBefore[index]!, 0) / IDLE_MS) * 100;
  const startedAt = performance.now();
  const fleet = await startFleet(hosts, size);
  try {
    const bootMs = performance.now() - startedAt;

    // At rest.
    const before = { cpu: etcdPids.map(cpuTimeMs), proxyCpu: proxy ? cpuTimeMs(proxy.pid!) : 0, requests: await requestCounts(cluster) };
    const keepalives = await keepaliveLatencies(client, STEADY_MS);
    const cpuShare = (etcdPids.reduce((sum, pid, index) => sum + cpuTimeMs(pid) - before.cpu[index]!, 0) / STEADY_MS) * 100;
    const proxyShare = proxy ? ((cpuTimeMs(proxy.pid!) - before.proxyCpu) / STEADY_MS) * 100 : 0;
    const after = await requestCounts(cluster);
    const perSecond = (key: keyof typeof after) => ((after[key] - before.requests[key]) * 1000) / STEADY_MS;
    const rssMb = etcdPids.reduce((sum, pid) => sum + rss(pid), 0);
    record({
      section: 'fleet',
      name: `${label}: etcd CPU at rest (3 members together)`,
      value: cpuShare,
      unit: '% of a core',
      baseline: { name: 'the same cluster with no app', value: idleShare },
    });
    if (proxy) record({ section: 'fleet', name: `${label}: the proxy's own CPU at rest`, value: proxyShare, unit: '% of a core' });
    record({ section: 'fleet', name: `${label}: etcd memory (3 members together)`, value: rssMb, unit: 'MB' });
    record({
      section: 'fleet',
      name: `${label}: requests reaching etcd at rest (keepalives ${format(perSecond('keepalives'))}/s, ranges and txns ${format(perSecond('reads'))}/s)`,
      value: perSecond('keepalives') + perSecond('reads'),
      unit: '/s',
    });
    record({ section: 'fleet', name: `${label}: a keepalive's latency at rest, p99 (p50 ${format(percentile(keepalives, 50))} ms)`, value: percentile(keepalives, 99), unit: 'ms' });
    record({ section: 'fleet', name: `${label}: started and registered, every app's lists read`, value: bootMs / 1000, unit: 's' });

    // A change reaching every app; next to it, a bare etcd3 watcher of this process (on the members
    // directly), and the CPU the apps' processes used meanwhile: whose time a slow delivery is.
    const delays: number[] = [];
    const bareDelays: number[] = [];
    const bareSeen = new Map<string, number>();
    const bare = await client.watch().prefix('/services/fleet-common/').create();
    bare.on('put', (kv) => bareSeen.set(kv.key.toString().split('/').at(-1)!, performance.timeOrigin + performance.now()));
    const workersCpu = fleet.workers.map((worker) => cpuTimeMs(worker.child.pid!));
    for (let probe = 0; probe < PROBES; probe += 1) {
      const id = `probe-${probe}`;
      const writtenAt = performance.timeOrigin + performance.now();
      await putEndpoint(client, testEndpoint('fleet-common', id, 9000 + probe, { host: '127.0.0.1' }));
      await waitUntil(() => fleet.seen(id).length >= size && bareSeen.has(id), 30_000);
      delays.push(...fleet.seen(id).map((at) => at - writtenAt));
      bareDelays.push(bareSeen.get(id)! - writtenAt);
      await sleep(500);
    }
    // The apps' CPU per change, all apps together (their idle work in those seconds included).
    const appsCpuPerChange = fleet.workers.reduce((sum, worker, index) => sum + cpuTimeMs(worker.child.pid!) - workersCpu[index]!, 0) / PROBES;
    await bare.cancel();
    record({
      section: 'fleet',
      name: `${label}: a change reaching every app, p99 (p50 ${format(percentile(delays, 50))} ms, ${PROBES} changes × ${format(size)} apps; the apps used ${format(appsCpuPerChange)} ms of CPU per change, together)`,
      value: percentile(delays, 99),
      unit: 'ms',
      baseline: { name: `a bare etcd3 watcher on the members, in the bench's process, p99 (p50 ${format(percentile(bareDelays, 50))} ms)`, value: percentile(bareDelays, 99) },
      target: '≤ 100 ms',
      met: percentile(delays, 99) <= 100,
    });

    // A deploy wave.
    const waveCpu = etcdPids.map(cpuTimeMs);
    const waveStart = performance.now();
    const done = Promise.all(fleet.workers.map((worker) => worker.waitForMessage('wave-done', WAVE_MS + 300_000)));
    for (const worker of fleet.workers) worker.kill('SIGUSR2');
    const failedStarts = (await done).reduce((sum, message) => sum + (message.failed as number), 0);
    const waveMs = performance.now() - waveStart;
    const waveShare = (etcdPids.reduce((sum, pid, index) => sum + cpuTimeMs(pid) - waveCpu[index]!, 0) / waveMs) * 100;
    record({
      section: 'fleet',
      name: `${label}: deploy wave (every app restarted within 30 s, done in ${format(waveMs / 1000)} s, ${failedStarts} starts failed and were retried): etcd CPU meanwhile`,
      value: waveShare,
      unit: '% of a core',
    });
  } finally {
    await Promise.all(fleet.workers.map((worker) => worker.stop()));
  }
}

async function startFleet(hosts: string[], size: number): Promise<Fleet> {
  const workers: AppProcess[] = [];
  for (let first = 0; first < size; first += APPS_PER_WORKER) {
    const apps = Math.min(APPS_PER_WORKER, size - first);
    const config = { hosts, apps, firstIndex: first, services: SERVICES, ttl: TTL, waveMs: WAVE_MS };
    workers.push(startProcess('fleet-apps.js', { APP_CONFIG: JSON.stringify(config) }, ['--max-old-space-size=4096']));
  }
  await Promise.all(workers.map((worker) => worker.waitForMessage('ready', 300_000)));
  const seen = (id: string) =>
    workers.flatMap((worker) => worker.messages.filter((message) => message.event === 'seen' && message.probe === id).map((message) => message.at as number));
  return { workers, seen };
}

/** Keepalive and read requests handled by the members so far. */
async function requestCounts(cluster: EtcdCluster): Promise<{ keepalives: number; reads: number }> {
  let keepalives = 0;
  let reads = 0;
  for (const member of cluster.members) {
    keepalives += await member.metric('grpc_server_msg_received_total', 'grpc_method="LeaseKeepAlive"');
    reads += await member.metric('grpc_server_handled_total', 'grpc_method="Range"');
    reads += await member.metric('grpc_server_handled_total', 'grpc_method="Txn"');
  }
  return { keepalives, reads };
}

/** A lease of this process kept alive every 500 ms for `ms`: each keepalive's round trip. */
async function keepaliveLatencies(client: Etcd3, ms: number): Promise<number[]> {
  const lease = client.lease(TTL, { autoKeepAlive: false });
  await lease.grant();
  const latencies: number[] = [];
  const until = performance.now() + ms;
  while (performance.now() < until) {
    const startedAt = performance.now();
    await lease.keepaliveOnce();
    latencies.push(performance.now() - startedAt);
    await sleep(500);
  }
  await lease.revoke();
  return latencies;
}

function rss(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((entry) => entry.startsWith('VmRSS:'))!;
  return Number(line.split(/\s+/)[1]) / 1024;
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error('the fleet did not see the change in time');
    await sleep(20);
  }
}
