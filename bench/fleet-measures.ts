/**
 * What the fleet bench measures of a running fleet (fleet.bench.ts): at rest, and the deliveries of
 * a change; the same for the library's apps and for the bare etcd3 ones.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  putEndpoint,
  putOperation,
  repoRoot,
  testEndpoint,
  type AppProcess,
  type EtcdCluster,
  type EtcdGrpcProxy,
} from '@repo/testing';
import type { Etcd3 } from 'etcd3';
import { cpuTimeMs, quick, sleep } from './harness.js';

/**
 * The library's own keepalive stream, from its build (not part of the package's API): the latency an
 * app's keepalives see, through the fleet's hosts — the proxy when there is one.
 */
async function libraryKeepAlives() {
  const load = (file: string) => import(pathToFileURL(join(repoRoot(), 'libs/discovery/dist/etcd', file)).href);
  const { EtcdConnections } = (await load(
    'etcd-connections.js',
  )) as typeof import('../libs/discovery/dist/etcd/etcd-connections.js');
  const { LeaseKeepAlives } = (await load(
    'lease-keepalives.js',
  )) as typeof import('../libs/discovery/dist/etcd/lease-keepalives.js');
  return { EtcdConnections, LeaseKeepAlives };
}

/** The simulated apps' lease TTL, in seconds; the bench's own keepalive uses it too. */
export const TTL = 10;
/** Changes written to fleet-common, one every ~0.6 s. */
export const PROBES = 10;
/** Policy changes the library's apps apply before the probes, unmeasured. */
const POLICY_WARM_UPS = 40;
const STEADY_MS = quick ? 10_000 : 30_000;
/**
 * How long a fleet runs after its last app is ready before "at rest" is measured, for both fleets
 * alike: the first seconds are still its boot's (250 library apps in one worker, 5 s windows right
 * after ready: 328 µs/s per app in the first, 128–224 in the next; bare etcd3 apps 168 then 112–208).
 */
const SETTLE_MS = quick ? 5_000 : 15_000;

export interface Fleet {
  workers: AppProcess[];
  size: number;
  /** When each app saw probe `id` (ms since the epoch, its clock: the same machine's). */
  seen(id: string): number[];
}

/** What a fleet's apps cost at rest, measured over STEADY_MS once it has run SETTLE_MS. */
export interface AtRest {
  /** etcd's CPU (3 members together) and the proxy's, % of a core. */
  etcdShare: number;
  proxyShare: number;
  etcdRssMb: number;
  keepalivesPerSecond: number;
  readsPerSecond: number;
  /** Latencies of a keepalive made by the bench meanwhile, and how many of its leases expired all the same. */
  keepalives: KeepAlives;
  /** The apps' own CPU (their processes), µs per second per app. */
  appsCpuPerApp: number;
}

export interface KeepAlives {
  latencies: number[];
  leasesLost: number;
}

/** The document of a policy probe: a drain of no instance, whose reason names the probe. */
interface PolicyProbe {
  instances: Record<string, { reason: string }>;
}

/** How a fleet's apps saw the probes. */
export interface Deliveries {
  /** For each app and probe, ms from the write until the app had it. */
  delays: number[];
  /** The same for a bare etcd3 watcher in the bench's process, on the members directly. */
  bareWatcherDelays: number[];
  /** CPU the apps' processes used per probe, all together (their idle work in those seconds included). */
  appsCpuPerChange: number;
  /** With policy probes: for each app and policy probe, ms from the write until the app had applied it. */
  policyDelays: number[];
  /**
   * With policy probes, a policy change and an endpoint change written in one transaction (one revision, one fan-out
   * by etcd): for each app and pair, ms from the write until the app had applied the policy, and had the endpoint.
   */
  together: { policyDelays: number[]; endpointDelays: number[] };
  /** With policy probes: the bench's bare etcd3 watcher's delays for the policy probes written alone. */
  bareWatcherPolicyDelays: number[];
}

/** etcd's, the proxy's and the apps' CPU, etcd's memory and requests, and keepalive latency, over STEADY_MS. */
export async function measureAtRest(
  cluster: EtcdCluster,
  proxy: EtcdGrpcProxy | undefined,
  hosts: string[],
  fleet: Fleet,
): Promise<AtRest> {
  await sleep(SETTLE_MS);
  const etcdPids = cluster.members.map((member) => member.pid!);
  const workerPids = fleet.workers.map((worker) => worker.child.pid!);
  const cpuOf = (pids: number[]) => pids.reduce((sum, pid) => sum + cpuTimeMs(pid), 0);
  const before = {
    etcd: cpuOf(etcdPids),
    proxy: proxy ? cpuTimeMs(proxy.pid!) : 0,
    apps: cpuOf(workerPids),
    requests: await requestCounts(cluster),
  };
  const keepalives = await keepaliveLatencies(hosts, STEADY_MS);
  const share = (ms: number) => (ms / STEADY_MS) * 100;
  const requests = await requestCounts(cluster);
  return {
    etcdShare: share(cpuOf(etcdPids) - before.etcd),
    proxyShare: proxy ? share(cpuTimeMs(proxy.pid!) - before.proxy) : 0,
    etcdRssMb: etcdPids.reduce((sum, pid) => sum + rss(pid), 0),
    keepalivesPerSecond: ((requests.keepalives - before.requests.keepalives) * 1000) / STEADY_MS,
    readsPerSecond: ((requests.reads - before.requests.reads) * 1000) / STEADY_MS,
    keepalives,
    appsCpuPerApp: ((cpuOf(workerPids) - before.apps) * 1000) / (STEADY_MS / 1000) / fleet.size,
  };
}

/**
 * Each app's own CPU at rest (µs per second) of two fleets running at once: the library's and a bare etcd3 one beside
 * it. Measured one after the other, each fleet meets moments of this machine of its own (the library's apps at
 * 0.79× to about 1.4× the bare ones in the runs of 2026-12-07, the same code); at once, both meet the same ones.
 */
export async function measureAppsAtRestTogether(
  library: Fleet,
  bare: Fleet,
): Promise<{ library: number; bare: number }> {
  await sleep(SETTLE_MS);
  const cpuOf = (fleet: Fleet) => fleet.workers.reduce((sum, worker) => sum + cpuTimeMs(worker.child.pid!), 0);
  const before = { library: cpuOf(library), bare: cpuOf(bare) };
  await sleep(STEADY_MS);
  const perApp = (fleet: Fleet, start: number) => ((cpuOf(fleet) - start) * 1000) / (STEADY_MS / 1000) / fleet.size;
  return { library: perApp(library, before.library), bare: perApp(bare, before.bare) };
}

/**
 * PROBES endpoints written to fleet-common with two fleets watching it at once, the library's and a bare etcd3 one:
 * how long until each app of each had each. Both meet the same fan-out by etcd and the same moments of this machine.
 */
export async function measureChangesTogether(
  client: Etcd3,
  library: Fleet,
  bare: Fleet,
): Promise<{ library: number[]; bare: number[] }> {
  const delays = { library: [] as number[], bare: [] as number[] };
  for (let probe = 0; probe < PROBES; probe += 1) {
    const id = `probe-together-${probe}`;
    const writtenAt = performance.timeOrigin + performance.now();
    await putEndpoint(client, testEndpoint('fleet-common', id, 9000 + probe, { host: '127.0.0.1' }));
    await waitUntil(() => library.seen(id).length >= library.size && bare.seen(id).length >= bare.size, 30_000);
    delays.library.push(...library.seen(id).map((at) => at - writtenAt));
    delays.bare.push(...bare.seen(id).map((at) => at - writtenAt));
    await sleep(500);
  }
  await client.delete().prefix('/services/fleet-common/');
  return delays;
}

/**
 * PROBES endpoints written to fleet-common, one every ~0.6 s: when each app had each; next to it a
 * bare etcd3 watcher of this process (on the members directly), and the CPU the apps' processes
 * used meanwhile — whose time a slow delivery is. With `policyProbes` (the library's fleet: bare
 * etcd3 apps have no policies), each endpoint probe is followed by a traffic policy probe alone (a
 * document of fleet-common whose drain's reason names it), then by a policy probe and an endpoint
 * probe written in one transaction: etcd fans both out in the same moment, so what differs between
 * them is the apps' own path. Before those, the apps apply POLICY_WARM_UPS policy changes unmeasured, and
 * the bench's bare watcher watches the policy key too (whether a gap shows without the library as well).
 * Nobody asks for the apps' reports there: a change alone makes no app write.
 */
export async function measureDeliveries(
  client: Etcd3,
  fleet: Fleet,
  size: number,
  run: string,
  policyProbes = false,
): Promise<Deliveries> {
  const delays: number[] = [];
  const bareWatcherDelays: number[] = [];
  const policyDelays: number[] = [];
  const together = { policyDelays: [] as number[], endpointDelays: [] as number[] };
  const bareWatcherPolicyDelays: number[] = [];
  const bareSeen = new Map<string, number>();
  const bare = await client.watch().prefix('/services/fleet-common/').create();
  bare.on('put', (kv) =>
    bareSeen.set(kv.key.toString().split('/').at(-1)!, performance.timeOrigin + performance.now()),
  );
  // The policy probes too, on the same watch stream (etcd3 keeps one for a client's watchers): is a gap etcd's?
  const barePolicy = await client.watch().key('/services.policy/fleet-common').create();
  barePolicy.on('put', (kv) => {
    const reason = Object.values((JSON.parse(kv.value.toString()) as PolicyProbe).instances)[0].reason;
    bareSeen.set(reason, performance.timeOrigin + performance.now());
  });
  const until = new Date(Date.now() + 3600_000).toISOString();
  const policyPut = (reason: string) => ({
    request_put: {
      key: Buffer.from('/services.policy/fleet-common'),
      value: Buffer.from(JSON.stringify({ instances: { 'app-none': { drained: true, until, reason } } })),
    },
  });
  const delaysOf = (id: string, writtenAt: number) => fleet.seen(id).map((at) => at - writtenAt);
  const workersCpu = () => fleet.workers.reduce((sum, worker) => sum + cpuTimeMs(worker.child.pid!), 0);
  let appsCpu = 0;
  if (policyProbes) {
    // The apps' endpoint path has run hundreds of times by now (the fleet's own registrations); their policy path
    // never: both warm before either is measured.
    for (let change = 0; change < POLICY_WARM_UPS; change += 1) {
      await client.kv.txn({ success: [policyPut(`warm-up-${change}`)] });
      await sleep(100);
    }
    await waitUntil(() => fleet.seen(`warm-up-${POLICY_WARM_UPS - 1}`).length >= size, 30_000);
    await sleep(1000);
  }
  for (let probe = 0; probe < PROBES; probe += 1) {
    const id = `probe-${run}-${probe}`;
    const cpuBefore = workersCpu();
    const writtenAt = performance.timeOrigin + performance.now();
    await putEndpoint(client, testEndpoint('fleet-common', id, 9000 + probe, { host: '127.0.0.1' }));
    await waitUntil(() => fleet.seen(id).length >= size && bareSeen.has(id), 30_000);
    delays.push(...delaysOf(id, writtenAt));
    bareWatcherDelays.push(bareSeen.get(id)! - writtenAt);
    await sleep(500);
    appsCpu += workersCpu() - cpuBefore;
    if (!policyProbes) continue;

    const policyId = `policy-probe-${probe}`;
    const policyWrittenAt = performance.timeOrigin + performance.now();
    await client.kv.txn({ success: [policyPut(policyId)] });
    await waitUntil(() => fleet.seen(policyId).length >= size && bareSeen.has(policyId), 30_000);
    policyDelays.push(...delaysOf(policyId, policyWrittenAt));
    bareWatcherPolicyDelays.push(bareSeen.get(policyId)! - policyWrittenAt);
    await sleep(500);

    const pairedPolicy = `paired-policy-probe-${probe}`;
    const pairedEndpoint = `paired-probe-${run}-${probe}`;
    const pairWrittenAt = performance.timeOrigin + performance.now();
    const endpoint = testEndpoint('fleet-common', pairedEndpoint, 9500 + probe, { host: '127.0.0.1' });
    await client.kv.txn({ success: [putOperation(endpoint), policyPut(pairedPolicy)] });
    await waitUntil(() => fleet.seen(pairedPolicy).length >= size && fleet.seen(pairedEndpoint).length >= size, 30_000);
    together.policyDelays.push(...delaysOf(pairedPolicy, pairWrittenAt));
    together.endpointDelays.push(...delaysOf(pairedEndpoint, pairWrittenAt));
    await sleep(500);
  }
  await bare.cancel();
  await barePolicy.cancel();
  // Gone again, so that the next fleet's first lists are the same size.
  await client.delete().prefix('/services/fleet-common/');
  return {
    delays,
    bareWatcherDelays,
    appsCpuPerChange: appsCpu / PROBES,
    policyDelays,
    together,
    bareWatcherPolicyDelays,
  };
}

/** What the CLI's `--wait` costs a fleet: every app's report written, and etcd's CPU meanwhile. */
export interface AskedReports {
  /** From the ask until every app's report had the last policy probe's revision. */
  allReportedMs: number;
  etcdCpuMs: number;
}

/**
 * After the policy probes: the CLI's ask for reports (as `drain --wait` writes it), and how long until every app's
 * report says it applied the last probe — then the policy is deleted.
 */
export async function measureAskedReports(client: Etcd3, cluster: EtcdCluster, size: number): Promise<AskedReports> {
  const etcdPids = cluster.members.map((member) => member.pid!);
  const cpuBefore = etcdPids.reduce((sum, pid) => sum + cpuTimeMs(pid), 0);
  const askedAt = performance.now();
  const { header } = await client.put('/services.policy/reports/asked').value(`{"at":"${new Date().toISOString()}"}`);
  const revision = Number(header.revision);
  const reportedAll = async () => {
    const reports = Object.values(await client.getAll().prefix('/services.policy-applied/').strings());
    return reports.filter((text) => (JSON.parse(text) as { revision: number }).revision >= revision).length >= size;
  };
  for (const deadline = askedAt + 30_000; !(await reportedAll()); await sleep(50))
    if (performance.now() > deadline) throw new Error('the fleet did not write its reports in time');
  const allReportedMs = performance.now() - askedAt;
  const etcdCpuMs = etcdPids.reduce((sum, pid) => sum + cpuTimeMs(pid), 0) - cpuBefore;
  await client.delete().key('/services.policy/fleet-common');
  await client.delete().key('/services.policy/reports/asked');
  return { allReportedMs, etcdCpuMs };
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

/** Leases the bench keeps alive at once, each as an app of its own: enough answers for a p99 in STEADY_MS. */
const KEEPALIVE_PROBES = 8;

/**
 * KEEPALIVE_PROBES leases of this process, each kept alive as the library keeps an app's (its own
 * connection and one long-lived stream, the next keepalive TTL/3 after the last answer) through
 * `hosts`, for `ms`: each keepalive's round trip. Through `etcd grpc-proxy` that includes the wait for
 * the proxy's own next renewal of the lease.
 */
async function keepaliveLatencies(hosts: string[], ms: number): Promise<KeepAlives> {
  const { EtcdConnections, LeaseKeepAlives } = await libraryKeepAlives();
  const result: KeepAlives = { latencies: [], leasesLost: 0 };
  const until = performance.now() + ms;
  const probe = async () => {
    const connections = new EtcdConnections({ hosts, grpcOptions: { 'grpc.use_local_subchannel_pool': 1 } }, 5000);
    const keepAlives = new LeaseKeepAlives(connections);
    const deadline = () => ({ deadline: Date.now() + 5000 });
    const grant = async () => (await connections.exec<{ ID: string }>('Lease', 'leaseGrant', { TTL }, deadline())).ID;
    try {
      let id = await grant();
      while (performance.now() < until) {
        const startedAt = performance.now();
        // A keepalive left unanswered (the longest wait: 30 s) counts as that long, and the next goes on.
        const ttl = await keepAlives.keepAlive(id, 30_000).catch(() => 1);
        result.latencies.push(performance.now() - startedAt);
        if (ttl <= 0) {
          // Expired before its keepalive was answered: counted, and a new lease goes on.
          result.leasesLost += 1;
          id = await grant();
        }
        await sleep(Math.min((TTL * 1000) / 3, until - performance.now()));
      }
      await connections.exec('Lease', 'leaseRevoke', { ID: id }, deadline()).catch((error: Error) => {
        if (!/lease not found/.test(error.message)) throw error;
        result.leasesLost += 1;
      });
    } finally {
      keepAlives.close();
      connections.close();
    }
  };
  await Promise.all(
    Array.from({ length: KEEPALIVE_PROBES }, async (_, index) => {
      await sleep((index * (TTL * 1000)) / 3 / KEEPALIVE_PROBES); // spread over a keepalive period
      await probe();
    }),
  );
  return result;
}

function rss(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('VmRSS:'))!;
  return Number(line.split(/\s+/)[1]) / 1024;
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error('the fleet did not see the change in time');
    await sleep(20);
  }
}
