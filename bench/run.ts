/**
 * `npm run bench [-- --quick]`: what the library costs, next to baselines measured in the same run.
 * Prints a table and writes bench/results.json. Each figure is the median of several runs.
 */
import 'reflect-metadata';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleWhen } from 'cockatiel';
import { Etcd3, isRecoverableError } from 'etcd3';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import {
  ConsistentHashStrategy,
  DiscoveryClient,
  DiscoveryModule,
  encodeEndpoint,
  endpointKey,
  LeastOutstandingStrategy,
  RandomStrategy,
  RoundRobinStrategy,
  ServiceRegistry,
  WeightedRoundRobinStrategy,
  type DiscoveryModuleOptions,
  type LoadBalancingStrategy,
  servicePrefix,
} from 'nestjs-etcd-discovery';
import { AppProcess, EtcdServer, numberedEndpoint as endpoint, putEndpoint, putOperation, repoRoot, waitFor } from '@repo/testing';

const quick = process.argv.includes('--quick');
/** `--only recovery` (or pick, propagation, scale, cost): one section, for working on it. */
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const wanted = (section: string) => only === undefined || only === section;
const RUNS = quick ? 3 : 5;
const now = () => performance.timeOrigin + performance.now();

interface Figure {
  section: string;
  name: string;
  value: number;
  unit: string;
  baseline?: { name: string; value: number };
  /** value / baseline (or baseline / value for times, so that > 1 always means "better than the baseline"). */
  ratio?: number;
  target?: string;
  met?: boolean;
}
const figures: Figure[] = [];

function record(figure: Figure): void {
  figures.push(figure);
  const baseline = figure.baseline ? `  vs ${figure.baseline.name}: ${format(figure.baseline.value)} ${figure.unit}` : '';
  const ratio = figure.ratio !== undefined ? `  (${format(figure.ratio)}×)` : '';
  const target = figure.target ? `  target ${figure.target}: ${figure.met ? 'met' : 'NOT met'}` : '';
  console.log(`  ${figure.name}: ${format(figure.value)} ${figure.unit}${baseline}${ratio}${target}`);
}

function format(value: number): string {
  return Math.abs(value) >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(Math.abs(value) >= 10 ? 1 : 2);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Writes `count` endpoints of each service in transactions of 1,000 puts. */
async function seed(client: Etcd3, services: string[], count: number): Promise<void> {
  const puts = services.flatMap((service) => Array.from({ length: count }, (_, index) => putOperation(endpoint(service, index, 1 + (index % 3)))));
  for (let start = 0; start < puts.length; start += 1000) await client.kv.txn({ success: puts.slice(start, start + 1000) });
}

async function context(options: DiscoveryModuleOptions): Promise<INestApplicationContext> {
  @Module({ imports: [DiscoveryModule.forRoot(options)] })
  class BenchModule {}
  return NestFactory.createApplicationContext(BenchModule, { logger: ['error'] });
}

/** Operations per second of `operation` (sync), over `ms`, median of RUNS. */
function opsPerSecond(operation: (index: number) => unknown, ms: number): number {
  const rates: number[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    let count = 0;
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < ms) {
      for (let batch = 0; batch < 1000; batch += 1) operation(count++);
      elapsed = performance.now() - start;
    }
    rates.push((count / elapsed) * 1000);
  }
  return median(rates);
}

async function asyncOpsPerSecond(operation: (index: number) => Promise<unknown>, ms: number): Promise<number> {
  const rates: number[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    let count = 0;
    const start = performance.now();
    while (performance.now() - start < ms || count < 3) await operation(count++);
    rates.push((count / (performance.now() - start)) * 1000);
  }
  return median(rates);
}

/** A bench process (bench/*.ts, built next to this file), reporting in JSON lines. */
function startProcess(script: string, env: NodeJS.ProcessEnv, nodeArgs: string[] = []): AppProcess {
  return AppProcess.run(join(repoRoot(), 'bench/dist', script), { env, nodeArgs });
}

// ——— pick() ———
async function benchPick(etcd: EtcdServer, client: Etcd3): Promise<void> {
  console.log('\npick(): picks per second, from the cache, next to a Get per call (how the Go article picks) and a bare array loop');
  const sizes = [3, 100, 10_000];
  const services = sizes.map((size) => `pick-${size}`);
  for (const [index, service] of services.entries()) await seed(client, [service], sizes[index]!);
  const strategies: [string, () => LoadBalancingStrategy][] = [
    ['RoundRobin', () => new RoundRobinStrategy()],
    ['Random', () => new RandomStrategy()],
    ['WeightedRoundRobin', () => new WeightedRoundRobinStrategy()],
    ['ConsistentHash', () => new ConsistentHashStrategy()],
    ['LeastOutstanding', () => new LeastOutstandingStrategy()],
  ];
  const keys = Array.from({ length: 1024 }, (_, index) => `user-${index}`);
  const windowMs = quick ? 150 : 400;
  for (const [sizeIndex, size] of sizes.entries()) {
    const service = services[sizeIndex]!;
    const prefix = servicePrefix('/services', service);
    const perCallGet = await asyncOpsPerSecond(async (index) => {
      const { kvs } = await client.getAll().prefix(prefix).exec();
      return kvs[index % kvs.length];
    }, quick ? 300 : 1000);
    const list = Array.from({ length: size }, (_, index) => endpoint(service, index));
    const bareLoop = opsPerSecond((index) => list[index % size], windowMs);
    record({ section: 'pick', name: `bare array loop, ${size} endpoints (the limit)`, value: bareLoop, unit: 'ops/s' });
    record({ section: 'pick', name: `Get per call, ${size} endpoints (baseline)`, value: perCallGet, unit: 'ops/s' });
    for (const [name, make] of strategies) {
      const app = await context({ etcd: { hosts: [etcd.host] }, requires: [service], strategy: make() });
      const discovery = app.get(DiscoveryClient);
      const rangesBefore = await etcd.metric('grpc_server_started_total', 'grpc_method="Range"');
      const rate = opsPerSecond((index) => discovery.pick(service, keys[index & 1023]), windowMs);
      const rangesDuring = (await etcd.metric('grpc_server_started_total', 'grpc_method="Range"')) - rangesBefore;
      await app.close();
      const ratio = rate / perCallGet;
      record({
        section: 'pick',
        name: `${name}, ${size} endpoints (${rangesDuring} etcd requests during ${format(rate * windowMs * RUNS / 1000)} picks)`,
        value: rate,
        unit: 'ops/s',
        baseline: { name: 'Get per call', value: perCallGet },
        ratio,
        target: '≥ 1,000× Get per call, 0 requests',
        met: ratio >= 1000 && rangesDuring === 0,
      });
    }
  }
}

// ——— propagation ———
async function benchPropagation(etcd: EtcdServer, client: Etcd3): Promise<void> {
  const subscriberCount = 10;
  const changes = quick ? 40 : 300;
  console.log(`\nPropagation: ${changes} changes (register under a lease / revoke it) seen by ${subscriberCount} subscriber processes`);
  const subscribers = Array.from({ length: subscriberCount }, () => startProcess('subscriber.js', { ETCD_HOSTS: etcd.host }));
  await Promise.all(subscribers.map((subscriber) => subscriber.waitForLine('the subscriber', (line) => line.ready === true, 60_000)));
  const latency = { library: { register: [] as number[], deregister: [] as number[] }, bare: { register: [] as number[], deregister: [] as number[] } };
  for (let change = 0; change < changes; change += 1) {
    const id = `c${change}`;
    const { ID } = await client.leaseClient.leaseGrant({ TTL: 60 });
    for (const [kind, action] of [
      ['register', () => client.put(endpointKey('/services', 'prop', id)).value(encodeEndpoint({ ...endpoint('prop', change), id })).lease(ID).exec()],
      ['deregister', () => client.leaseClient.leaseRevoke({ ID })],
    ] as const) {
      const mark = kind === 'register' ? `+${id}` : `-${id}`;
      const startedAt = now();
      await action();
      const seen = await waitFor(`${mark} everywhere`, () => {
        const found = subscribers.map(({ messages }) => ['library', 'bare'].map((via) => messages.find((line) => line.change === mark && line.via === via)));
        return found.every((pair) => pair.every(Boolean)) ? found : undefined;
      }, { timeoutMs: 10_000, intervalMs: 1 });
      for (const [library, bare] of seen) {
        latency.library[kind].push((library!.at as number) - startedAt);
        latency.bare[kind].push((bare!.at as number) - startedAt);
      }
    }
  }
  await Promise.all(subscribers.map((subscriber) => subscriber.terminate()));
  for (const kind of ['register', 'deregister'] as const) {
    const libraryP99 = percentile(latency.library[kind], 99);
    const bareP99 = percentile(latency.bare[kind], 99);
    record({ section: 'propagation', name: `${kind}: endpoints$ p50`, value: percentile(latency.library[kind], 50), unit: 'ms', baseline: { name: 'bare watcher p50', value: percentile(latency.bare[kind], 50) } });
    record({
      section: 'propagation',
      name: `${kind}: endpoints$ p99`,
      value: libraryP99,
      unit: 'ms',
      baseline: { name: 'bare watcher p99', value: bareP99 },
      target: 'within 2 ms of the bare watcher',
      met: libraryP99 - bareP99 <= 2,
    });
  }
}

// ——— scale ———
async function benchScale(etcd: EtcdServer, client: Etcd3): Promise<void> {
  console.log('\nScale: a consumer process reading 10,000 endpoints, next to the same process with none');
  // The baseline: Node, Nest, etcd3 and gRPC with no endpoint at all.
  const emptyRss: number[] = [];
  for (let run = 0; run < (quick ? 1 : 3); run += 1) {
    const empty = startProcess('scale-consumer.js', { ETCD_HOSTS: etcd.host, APP_CONFIG: JSON.stringify({ services: ['empty'], expected: 0 }) }, ['--expose-gc']);
    const ready = await empty.waitForLine('the empty consumer', (line) => line.rssBytes !== undefined, 60_000);
    emptyRss.push((ready.rssBytes as number) / 2 ** 20);
    await empty.terminate();
  }
  const baselineRss = median(emptyRss);
  record({ section: 'scale', name: 'consumer RSS with no endpoint (baseline: Node + Nest + etcd3 + gRPC)', value: baselineRss, unit: 'MB' });
  for (const [label, services, perService] of [
    ['1 service × 10,000 endpoints', ['big'], 10_000],
    ['1,000 services × 10 endpoints', Array.from({ length: 1000 }, (_, index) => `svc-${String(index).padStart(4, '0')}`), 10],
  ] as const) {
    await seed(client, [...services], perService);
    const firstList: number[] = [];
    const rss: number[] = [];
    for (let run = 0; run < (quick ? 1 : 3); run += 1) {
      const consumer = startProcess('scale-consumer.js', { ETCD_HOSTS: etcd.host, APP_CONFIG: JSON.stringify({ services, expected: services.length * perService }) }, ['--expose-gc']);
      const ready = await consumer.waitForLine('the consumer', (line) => line.firstListMs !== undefined, 120_000);
      firstList.push(ready.firstListMs as number);
      rss.push((ready.rssBytes as number) / 2 ** 20);
      if (run === 0 && services.length === 1) {
        // A transaction of 1,000 new registrations: how many emissions, and how long until the new list.
        const puts = Array.from({ length: 1000 }, (_, index) => putOperation(endpoint('big', perService + index)));
        const startedAt = now();
        await client.kv.txn({ success: puts });
        const sentinel = endpoint('big', 99_999);
        await putEndpoint(client, sentinel);
        await consumer.waitForLine('the sentinel', (line) => line.emission === perService + 1001, 30_000);
        const emissions = consumer.messages.filter((line) => line.emission !== undefined);
        const txnEmissions = emissions.filter((line) => line.emission === perService + 1000);
        record({ section: 'scale', name: '1,000-change transaction: emissions', value: txnEmissions.length, unit: '', target: 'one emission per transaction', met: txnEmissions.length === 1 });
        record({ section: 'scale', name: '1,000-change transaction: time until the new list', value: (txnEmissions[0]!.at as number) - startedAt, unit: 'ms' });
        // Back to 10,000 for the next runs: the transaction's 1,000 (i10000…) and the sentinel (i99999).
        await client.delete().prefix(`${servicePrefix('/services', 'big')}i1`).exec();
        await client.delete().key(endpointKey('/services', 'big', sentinel.id)).exec();
      }
      await consumer.terminate();
    }
    record({ section: 'scale', name: `${label}: time to the first full list (process start to lists read)`, value: median(firstList), unit: 'ms', target: '< 1 s', met: median(firstList) < 1000 });
    record({ section: 'scale', name: `${label}: consumer RSS`, value: median(rss), unit: 'MB', baseline: { name: 'no endpoint', value: baselineRss } });
    const added = median(rss) - baselineRss;
    record({ section: 'scale', name: `${label}: RSS the endpoints add`, value: added, unit: 'MB', target: '< 100 MB', met: added < 100 });
  }
}

// ——— cost on etcd ———
async function benchCost(): Promise<void> {
  console.log('\nCost on etcd: what one app process costs, read from etcd\'s /metrics');
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
    record({ section: 'cost', name: `${label}: etcd requests`, value: rate, unit: 'req/s', target: pick ? '0 requests per pick' : undefined, met: pick ? rate * (windowMs / 1000) < picks / 1e6 + 3 * (windowMs / 1000) : undefined });
    if (pick) record({ section: 'cost', name: `${label}: picks in the same window`, value: picks, unit: 'picks' });
    record({ section: 'cost', name: `${label}: leases`, value: leases, unit: '', target: '1 lease per process', met: leases === 1 });
    record({ section: 'cost', name: `${label}: watch streams`, value: streams, unit: '', target: 'one watch stream per process', met: streams === 1 });
    await app.terminate();
    await waitFor('the lease to go', async () => (await client.leaseClient.leaseLeases()).leases.length === 0, { timeoutMs: 15_000 });
  }
  client.close();
  await etcd.destroy();
}

// ——— recovery ———
async function benchRecovery(): Promise<void> {
  console.log(`\nRecovery: etcd down until the lease is given up (TTL 3 s) and ${quick ? 1 : 5} s more, then back; next to etcd3's default fault handling`);
  const ttl = 3;
  const etcd3Defaults = {
    host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 5000, breaker: new ConsecutiveBreaker(3) }),
    watchBackoff: new ExponentialBackoff() as never,
  };
  const results: Record<string, { registered: number[]; converged: number[] }> = {};
  for (const [label, faultHandling] of [['library defaults', undefined], ['etcd3 defaults (baseline)', etcd3Defaults]] as const) {
    results[label] = { registered: [], converged: [] };
    for (let run = 0; run < (quick ? 1 : 3); run += 1) {
      const etcd = await EtcdServer.start();
      const options: DiscoveryModuleOptions = { etcd: { hosts: [etcd.host], ...(faultHandling ? { faultHandling } : {}) }, ttl, requires: ['watched'] };
      const app = await context(options);
      await app.get(ServiceRegistry).register({ service: 'recovering', host: '127.0.0.1', port: 4000 });
      await etcd.stop();
      await waitFor('the registry to give up the lease', () => app.get(ServiceRegistry).registrations()[0]?.state === 'pending', { timeoutMs: (ttl + 5) * 1000 });
      // Down a while longer: backoffs and open circuits are what separate the two configurations.
      await new Promise((resolve) => setTimeout(resolve, quick ? 1000 : 5000));
      await etcd.restart();
      const backAt = now();
      const client = new Etcd3({ hosts: [etcd.host] });
      await putEndpoint(client, endpoint('watched', 1));
      let registeredAt = 0;
      let convergedAt = 0;
      const registry = app.get(ServiceRegistry);
      await waitFor('registered and converged', async () => {
        // The registry's own view: the key itself may never have left (etcd extends leases on restart).
        if (!registeredAt && registry.registrations()[0]?.state === 'registered') registeredAt = now();
        if (!convergedAt && app.get(DiscoveryClient).getEndpoints('watched').length === 1) convergedAt = now();
        return registeredAt > 0 && convergedAt > 0;
      }, { timeoutMs: 60_000, intervalMs: 20 });
      results[label]!.registered.push(registeredAt - backAt);
      results[label]!.converged.push(convergedAt - backAt);
      client.close();
      await app.close();
      await etcd.destroy();
    }
  }
  const ours = results['library defaults']!;
  const theirs = results['etcd3 defaults (baseline)']!;
  for (const [what, key] of [['the registry has re-registered', 'registered'], ['the watcher has a change made after the return', 'converged']] as const) {
    const value = median(ours[key]);
    const baseline = median(theirs[key]);
    record({ section: 'recovery', name: `etcd back → ${what}`, value, unit: 'ms', baseline: { name: 'with etcd3 defaults', value: baseline }, ratio: baseline / Math.max(value, 1) });
  }
}

async function main(): Promise<void> {
  console.log(`nestjs-etcd-discovery benchmarks${quick ? ' (--quick)' : ''}: median of ${RUNS} runs where a figure repeats`);
  const etcd = await EtcdServer.start({ extraArgs: ['--max-txn-ops=2000', '--quota-backend-bytes=4294967296'] });
  const client = new Etcd3({ hosts: [etcd.host] });
  try {
    if (wanted('pick')) await benchPick(etcd, client);
    if (wanted('propagation')) await benchPropagation(etcd, client);
    if (wanted('scale')) await benchScale(etcd, client);
  } finally {
    client.close();
    await etcd.destroy();
  }
  if (wanted('cost')) await benchCost();
  if (wanted('recovery')) await benchRecovery();
  const results = {
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), platform: process.platform },
    versions: {
      node: process.version,
      etcd: execFileSync('etcd', ['--version']).toString().split('\n')[0],
      library: '0.1.0',
    },
    figures,
  };
  writeFileSync(join(repoRoot(), 'bench/results.json'), `${JSON.stringify(results, null, 2)}\n`);
  const missed = figures.filter((figure) => figure.met === false);
  console.log(`\nWrote bench/results.json. Targets: ${figures.filter((figure) => figure.met).length} met, ${missed.length} not met.`);
  for (const figure of missed) console.log(`  not met: ${figure.name} (${figure.target})`);
}

// Kept alive on purpose: if an await inside never settled, the bench says so instead of exiting quietly.
const keepAlive = setInterval(() => undefined, 60_000);
main().then(
  () => {
    clearInterval(keepAlive);
    process.exit(0);
  },
  (error: Error) => {
    console.error(`bench failed: ${error.stack}`);
    process.exit(1);
  },
);
