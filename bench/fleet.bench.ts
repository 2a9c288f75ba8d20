import { EtcdCluster, EtcdGrpcProxy, type AppProcess } from '@repo/testing';
import type { Etcd3 } from 'etcd3';
import {
  type AtRest,
  type Deliveries,
  type Fleet,
  measureAtRest,
  measureDeliveries,
  measureAskedReports,
  measureAppsAtRestTogether,
  measureChangesTogether,
  PROBES,
  TTL,
} from './fleet-measures.js';
import { cpuTimeMs, quick, sleep, startProcess } from './harness.js';
import { format, percentile, record } from './report.js';

/** The `fleet-N` services the simulated apps register under; each app watches fleet-common and two of them. */
const SERVICES = 10;
/** Apps per worker process: 125, or more at sizes past 1,000 (8 workers at most: more processes than that stalled a 2,000-app start). */
const appsPerWorker = (size: number) => Math.max(125, Math.ceil(size / 8));
const WAVE_MS = 30_000;
const IDLE_MS = 10_000;

/**
 * What a fleet costs etcd: a 3-member cluster on loopback and `size` simulated apps (bench/processes/
 * fleet-apps.ts: each its own connection, lease, registration and watches, through the library),
 * directly and through one `etcd grpc-proxy`, each next to the same fleet written on etcd3 alone
 * (fleet-bare-apps.ts: a lease, a put, 3 watches, no library) on the same cluster. At rest: etcd's
 * CPU and memory, requests per second, a keepalive's latency, the apps' own CPU; a probe written to
 * a service every app watches: how long until each app saw it; a deploy wave (every app closed and
 * started again within 30 s): etcd's CPU meanwhile.
 */
export async function benchFleet(): Promise<void> {
  const sizes = fleetSizes() ?? (quick ? [200] : [250, 1_000]);
  const paths = fleetPaths();
  const ways = paths.map((viaProxy) => (viaProxy ? 'through etcd grpc-proxy' : 'directly')).join(' and ');
  console.log(`\nFleet: ${sizes.map(format).join(' / ')} simulated apps on a 3-member etcd, ${ways}`);
  for (const size of sizes) {
    for (const viaProxy of paths) {
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

/** `--fleet-sizes 500,2000`: other fleet sizes than the default ones. */
function fleetSizes(): number[] | undefined {
  const at = process.argv.indexOf('--fleet-sizes');
  if (at < 0) return undefined;
  const sizes = (process.argv[at + 1] ?? '').split(',').map(Number);
  if (sizes.some((size) => !Number.isInteger(size) || size < 1))
    throw new Error(
      `--fleet-sizes takes whole numbers separated by commas, e.g. 500,2000 (got ${process.argv[at + 1]})`,
    );
  return sizes;
}

/** `--fleet-via direct` or `proxy`: one of the two ways only (default: both). */
function fleetPaths(): boolean[] {
  const at = process.argv.indexOf('--fleet-via');
  if (at < 0) return [false, true];
  const via = process.argv[at + 1];
  if (via !== 'direct' && via !== 'proxy') throw new Error(`--fleet-via takes direct or proxy (got ${via})`);
  return [via === 'proxy'];
}

async function measureFleet(cluster: EtcdCluster, proxy: EtcdGrpcProxy | undefined, size: number): Promise<void> {
  const label = `${format(size)} apps, ${proxy ? 'through grpc-proxy' : 'direct'}`;
  const hosts = proxy ? [proxy.host] : cluster.hosts;
  const client = cluster.client();
  const etcdPids = cluster.members.map((member) => member.pid!);
  // The cluster with no app first (raft heartbeats, the proxy's own streams): what the apps add is the difference.
  const idleBefore = etcdPids.map(cpuTimeMs);
  await sleep(IDLE_MS);
  const idleShare = (etcdPids.reduce((sum, pid, index) => sum + cpuTimeMs(pid) - idleBefore[index], 0) / IDLE_MS) * 100;

  // The baseline: the same fleet written on etcd3 alone, on the same cluster, just before.
  const bareFleet = await startFleet('fleet-bare-apps.js', hosts, size);
  let bare: { atRest: AtRest; deliveries: Deliveries };
  try {
    bare = {
      atRest: await measureAtRest(cluster, proxy, hosts, bareFleet),
      deliveries: await measureDeliveries(client, bareFleet, size, 'bare'),
    };
  } finally {
    await Promise.all(bareFleet.workers.map((worker) => worker.stop()));
  }

  const startedAt = performance.now();
  const fleet = await startFleet('fleet-apps.js', hosts, size);
  try {
    const bootMs = performance.now() - startedAt;
    const atRest = await measureAtRest(cluster, proxy, hosts, fleet);
    record({
      section: 'fleet',
      name: `${label}: etcd CPU at rest (3 members together; the same cluster with no app: ${format(idleShare)} %)`,
      value: atRest.etcdShare,
      unit: '% of a core',
      baseline: { name: 'the same fleet on bare etcd3', value: bare.atRest.etcdShare },
    });
    if (proxy)
      record({
        section: 'fleet',
        name: `${label}: the proxy's own CPU at rest`,
        value: atRest.proxyShare,
        unit: '% of a core',
        baseline: { name: 'bare etcd3', value: bare.atRest.proxyShare },
      });
    record({
      section: 'fleet',
      name: `${label}: etcd memory (3 members together)`,
      value: atRest.etcdRssMb,
      unit: 'MB',
      baseline: { name: 'bare etcd3', value: bare.atRest.etcdRssMb },
    });
    record({
      section: 'fleet',
      name: `${label}: requests reaching etcd at rest (keepalives ${format(atRest.keepalivesPerSecond)}/s, ranges and txns ${format(atRest.readsPerSecond)}/s)`,
      value: atRest.keepalivesPerSecond + atRest.readsPerSecond,
      unit: '/s',
      baseline: { name: 'bare etcd3', value: bare.atRest.keepalivesPerSecond + bare.atRest.readsPerSecond },
    });
    const { latencies, leasesLost } = atRest.keepalives;
    record({
      section: 'fleet',
      name: `${label}: a keepalive's latency at rest, p99 (p50 ${format(percentile(latencies, 50))} ms; leases that expired all the same: ${leasesLost})`,
      value: percentile(latencies, 99),
      unit: 'ms',
      baseline: {
        name: `the same keepalives next to the bare etcd3 fleet (leases that expired: ${bare.atRest.keepalives.leasesLost})`,
        value: percentile(bare.atRest.keepalives.latencies, 99),
      },
    });
    record({
      section: 'fleet',
      name: `${label}: started and registered, every app's lists read`,
      value: bootMs / 1000,
      unit: 's',
    });

    await measureBesideBare(client, hosts, fleet, label, {
      library: atRest.appsCpuPerApp,
      bare: bare.atRest.appsCpuPerApp,
    });

    const { delays, bareWatcherDelays, appsCpuPerChange, policyDelays, together, bareWatcherPolicyDelays } =
      await measureDeliveries(client, fleet, size, 'library', true);
    const bareDelays = bare.deliveries.delays;
    record({
      section: 'fleet',
      name:
        `${label}: a change reaching every app, p99 (p50 ${format(percentile(delays, 50))} ms, ${PROBES} changes × ${format(size)} apps; ` +
        `the apps used ${format(appsCpuPerChange)} ms of CPU per change together, bare etcd3 apps ${format(bare.deliveries.appsCpuPerChange)} ms; ` +
        `a bare etcd3 watcher on the members had it in p50 ${format(percentile(bareWatcherDelays, 50))} / p99 ${format(percentile(bareWatcherDelays, 99))} ms)`,
      value: percentile(delays, 99),
      unit: 'ms',
      baseline: {
        name: `the same fleet on bare etcd3, p99 (p50 ${format(percentile(bareDelays, 50))} ms)`,
        value: percentile(bareDelays, 99),
      },
      target: '≤ 100 ms',
      met: percentile(delays, 99) <= 100,
    });

    for (const p of [50, 99]) {
      const policy = percentile(together.policyDelays, p);
      const endpoint = percentile(together.endpointDelays, p);
      record({
        section: 'fleet',
        name:
          `${label}: a traffic policy change applied by every app, p${p}, written in one transaction with an endpoint ` +
          `change (${PROBES} pairs × ${format(size)} apps; a policy change alone, 0.5 s after an endpoint change alone: ` +
          `p${p} ${format(percentile(policyDelays, p))} ms against ${format(percentile(delays, p))}; the bench's bare ` +
          `etcd3 watcher had them in ${format(percentile(bareWatcherPolicyDelays, p))} against ` +
          `${format(percentile(bareWatcherDelays, p))})`,
        value: policy,
        unit: 'ms',
        baseline: { name: `the endpoint change of the same transaction, p${p}`, value: endpoint },
        target: '≤ the endpoint change + 1 ms',
        met: policy <= endpoint + 1,
      });
    }
    const asked = await measureAskedReports(client, cluster, size);
    record({
      section: 'fleet',
      name: `${label}: the CLI's --wait, every app's report of the last change written after the ask (etcd CPU meanwhile ${format(asked.etcdCpuMs)} ms)`,
      value: asked.allReportedMs,
      unit: 'ms',
    });

    // A deploy wave.
    const waveCpu = etcdPids.map(cpuTimeMs);
    const waveStart = performance.now();
    const done = Promise.all(fleet.workers.map((worker) => worker.waitForMessage('wave-done', WAVE_MS + 300_000)));
    for (const worker of fleet.workers) worker.kill('SIGUSR2');
    const failedStarts = (await done).reduce((sum, message) => sum + (message.failed as number), 0);
    const waveMs = performance.now() - waveStart;
    const waveShare = (etcdPids.reduce((sum, pid, index) => sum + cpuTimeMs(pid) - waveCpu[index], 0) / waveMs) * 100;
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

/**
 * The bare fleet again, beside the library's (its apps numbered after these): both at rest in the same window, then
 * the same changes to both. Measured before the library's fleet has done anything but start, as its at-rest figures
 * above; the bare fleet is stopped after.
 */
async function measureBesideBare(
  client: Etcd3,
  hosts: string[],
  fleet: Fleet,
  label: string,
  oneAfterTheOther: { library: number; bare: number },
): Promise<void> {
  const size = fleet.size;
  const beside = await startFleet('fleet-bare-apps.js', hosts, size, size);
  try {
    const together = await measureAppsAtRestTogether(fleet, beside);
    const ratio = together.library / together.bare;
    record({
      section: 'fleet',
      name:
        `${label}: each app's own CPU at rest, the library's and a bare etcd3 fleet running at once ` +
        `(${format(ratio)}×; one fleet after the other, as the figures above: ${format(oneAfterTheOther.library)} ` +
        `against ${format(oneAfterTheOther.bare)})`,
      value: together.library,
      unit: 'µs per s',
      baseline: { name: 'a bare etcd3 app, at the same moments', value: together.bare },
      target: '≤ 1.1× a bare etcd3 app',
      met: ratio <= 1.1,
    });
    const changes = await measureChangesTogether(client, fleet, beside);
    for (const p of [50, 99]) {
      const [library, bareApps] = [percentile(changes.library, p), percentile(changes.bare, p)];
      record({
        section: 'fleet',
        name:
          `${label}: a change reaching every app, p${p}, the library's and a bare etcd3 fleet watching at once ` +
          `(${PROBES} changes × ${format(size)} apps of each; ${format(2 * size)} apps on this machine)`,
        value: library,
        unit: 'ms',
        baseline: { name: `the bare etcd3 apps, the same changes, p${p}`, value: bareApps },
        target: '≤ the bare etcd3 apps',
        met: library <= bareApps,
      });
    }
  } finally {
    await Promise.all(beside.workers.map((worker) => worker.stop()));
  }
  // Its registrations are deleted as it stops, in services the library's apps watch: settled before what follows.
  await sleep(15_000);
}

/** `size` apps of `script`, numbered from `firstIndex` (their ids, keys and addresses apart from another fleet's). */
async function startFleet(script: string, hosts: string[], size: number, firstIndex = 0): Promise<Fleet> {
  const workers: AppProcess[] = [];
  const perWorker = appsPerWorker(size);
  for (let first = 0; first < size; first += perWorker) {
    const apps = Math.min(perWorker, size - first);
    const config = { hosts, apps, firstIndex: firstIndex + first, services: SERVICES, ttl: TTL, waveMs: WAVE_MS };
    workers.push(startProcess(script, { APP_CONFIG: JSON.stringify(config) }, ['--max-old-space-size=4096']));
  }
  try {
    await Promise.all(workers.map((worker) => worker.waitForMessage('ready', 300_000)));
  } catch (error) {
    await Promise.all(workers.map((worker) => worker.stop())); // none left running when a start fails
    throw error;
  }
  const seen = (id: string) =>
    workers.flatMap((worker) =>
      worker.messages
        .filter((message) => message.event === 'seen' && message.probe === id)
        .map((message) => message.at as number),
    );
  return { workers, size, seen };
}
