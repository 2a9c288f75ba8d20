import type { EtcdServer } from '@repo/testing';
import type { Etcd3 } from 'etcd3';
import {
  ConsistentHashStrategy,
  DiscoveryClient,
  LatencyAwareStrategy,
  LeastOutstandingStrategy,
  RandomStrategy,
  RoundRobinStrategy,
  WeightedRoundRobinStrategy,
  type LoadBalancingStrategy,
  type ServiceEndpoint,
} from 'nestjs-etcd-discovery';
import { servicePrefix } from 'nestjs-etcd-discovery/codec';
import { PerformanceObserver } from 'node:perf_hooks';
import { context, quick, RUNS, seed } from './harness.js';
import { format, median, record } from './report.js';

const strategies: [string, () => LoadBalancingStrategy, number][] = [
  // name, strategy, the target at 10,000 and 100,000 endpoints (round robin: also 30 M/s at 100)
  ['RoundRobin', () => new RoundRobinStrategy(), 5e6],
  ['Random', () => new RandomStrategy(), 5e6],
  ['WeightedRoundRobin', () => new WeightedRoundRobinStrategy(), 5e6],
  ['ConsistentHash', () => new ConsistentHashStrategy(), 5e6],
  ['LeastOutstanding', () => new LeastOutstandingStrategy(), 5e6],
  ['LatencyAware', () => new LatencyAwareStrategy(), 5e6],
];

/** Picks per second of `pick` (synchronous), over `ms`, median of RUNS; and the garbage collections meanwhile. */
function measure(pick: (index: number) => unknown, ms: number): { rate: number; picks: number; collections: number } {
  let collections = 0;
  const observer = new PerformanceObserver((list) => (collections += list.getEntries().length));
  observer.observe({ entryTypes: ['gc'] });
  const rates: number[] = [];
  let picks = 0;
  for (let run = 0; run < RUNS; run += 1) {
    let count = 0;
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < ms) {
      for (let batch = 0; batch < 1000; batch += 1) pick(count++);
      elapsed = performance.now() - start;
    }
    rates.push((count / elapsed) * 1000);
    picks += count;
  }
  // GC entries are delivered asynchronously; takeRecords() hands over those not delivered yet.
  collections += observer.takeRecords().length;
  observer.disconnect();
  return { rate: median(rates), picks, collections };
}

/** Gets per second when every call lists the service from etcd (how the Go article picks). */
async function getPerCall(client: Etcd3, prefix: string, ms: number): Promise<number> {
  let count = 0;
  const start = performance.now();
  while (performance.now() - start < ms || count < 3) {
    const { kvs } = await client.getAll().prefix(prefix).exec();
    if (kvs.length === 0) throw new Error('nothing to pick from');
    count += 1;
  }
  return (count / (performance.now() - start)) * 1000;
}

export async function benchPick(etcd: EtcdServer, client: Etcd3): Promise<void> {
  const sizes = quick ? [100, 10_000] : [100, 10_000, 100_000];
  console.log(
    `\npick(): picks per second from the cache (${sizes.map(format).join(' / ')} endpoints), next to a Get per call and a bare array loop`,
  );
  const keys = Array.from({ length: 1024 }, (_, index) => `user-${index}`);
  const windowMs = quick ? 150 : 400;
  for (const size of sizes) {
    const service = `pick-${size}`;
    await seed(client, [service], size);
    const list: ServiceEndpoint[] = Array.from({ length: size }, (_, index) => ({
      service,
      id: String(index),
      host: 'h',
      port: 1,
      address: 'h:1',
      metadata: {},
      weight: 1,
    }));
    record({
      section: 'pick',
      name: `bare array loop, ${format(size)} endpoints (the limit)`,
      value: measure((index) => list[index % size], windowMs).rate,
      unit: 'picks/s',
    });
    const perCallGet = await getPerCall(
      client,
      servicePrefix('/services', service),
      size >= 100_000 ? 1 : quick ? 300 : 1000,
    );
    record({
      section: 'pick',
      name: `a Get per call, ${format(size)} endpoints (baseline)`,
      value: perCallGet,
      unit: 'picks/s',
    });
    for (const [name, make, atScale] of strategies) {
      const app = await context({ etcd: { hosts: [etcd.host] }, requires: [service], strategy: make() });
      const discovery = app.get(DiscoveryClient);
      discovery.pick(service, 'warm-up');
      const rangesBefore = await etcd.metric('grpc_server_started_total', 'grpc_method="Range"');
      const { rate, picks, collections } = measure((index) => discovery.pick(service, keys[index & 1023]), windowMs);
      const ranges = (await etcd.metric('grpc_server_started_total', 'grpc_method="Range"')) - rangesBefore;
      await app.close();
      const floor = name === 'RoundRobin' && size === 100 ? 30e6 : size >= 10_000 ? atScale : undefined;
      record({
        section: 'pick',
        name: `${name}, ${format(size)} endpoints (${ranges} etcd requests, ${collections} garbage collections during ${format(picks)} picks)`,
        value: rate,
        unit: 'picks/s',
        baseline: { name: 'a Get per call', value: perCallGet },
        ratio: rate / perCallGet,
        ...(floor !== undefined
          ? { target: `≥ ${format(floor / 1e6)} M/s, no etcd request`, met: rate >= floor && ranges === 0 }
          : {}),
      });
    }
    await benchLatencyAwareLearnt(etcd, service, size, windowMs, perCallGet);
    // After the strategies: picks with options warm other paths of pick(), which would colour their figures.
    await benchViews(etcd, client, size, keys, windowMs, perCallGet);
  }
}

/**
 * LatencyAwareStrategy once it has learnt every endpoint (one call each, through the tracker calls
 * that call() makes): a pick then reads two loads, the clock and a decay — what it costs in use.
 */
async function benchLatencyAwareLearnt(
  etcd: EtcdServer,
  service: string,
  size: number,
  windowMs: number,
  perCallGet: number,
): Promise<void> {
  const strategy = new LatencyAwareStrategy();
  const app = await context({ etcd: { hosts: [etcd.host] }, requires: [service], strategy });
  const discovery = app.get(DiscoveryClient);
  for (const [index, endpoint] of discovery.getEndpoints(service).entries()) {
    strategy.callStarted(endpoint);
    strategy.callFinished(endpoint, 1 + (index % 7));
  }
  discovery.pick(service);
  const { rate, picks, collections } = measure(() => discovery.pick(service), windowMs);
  await app.close();
  record({
    section: 'pick',
    name: `LatencyAware, every endpoint learnt, ${format(size)} endpoints (${collections} garbage collections during ${format(picks)} picks)`,
    value: rate,
    unit: 'picks/s',
    baseline: { name: 'a Get per call', value: perCallGet },
    ratio: rate / perCallGet,
    ...(size >= 10_000 ? { target: '≥ 5.00 M/s, no allocation', met: rate >= 5e6 && collections === 0 } : {}),
  });
}

/** Instances the policy case drains: i00000 … (the first by id). */
const DRAINED = 50;
const drainedIds = Array.from({ length: DRAINED }, (_, index) => `i${String(index).padStart(5, '0')}`);

function canaryPolicy(): object {
  const until = new Date(Date.now() + 3600_000).toISOString();
  return {
    split: { by: 'version', weights: { '1.0.0': 90, '2.0.0': 10 } },
    instances: Object.fromEntries(drainedIds.map((id) => [id, { drained: true, until, reason: 'bench' }])),
    guards: { maxDrainedPercent: 100 },
  };
}

/** Waits until picks leave the drained instances out (the app read the policy). */
async function policyApplied(discovery: DiscoveryClient, service: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const picked = new Set(Array.from({ length: 2000 }, () => discovery.pick(service).id));
    if (!drainedIds.some((id) => picked.has(id))) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`the traffic policy of ${service} was not applied in 2 s`);
}

/**
 * Round robin over the views a pick may take — this app's zone (half the endpoints in it), and a
 * subset (`where: { version }`, half match, the same object every pick) — next to the same service
 * without them, and with a traffic policy that splits by version and drains some: the views and the version groups
 * are computed once per list, so a pick should cost about the same.
 */
async function benchViews(
  etcd: EtcdServer,
  client: Etcd3,
  size: number,
  keys: string[],
  windowMs: number,
  perCallGet: number,
): Promise<void> {
  const service = `zoned-${size}`;
  await seed(client, [service], size, (index) => ({
    zone: index % 2 === 0 ? 'eu-1' : 'us-1',
    version: index % 4 < 2 ? '1.0.0' : '2.0.0',
  }));
  const where = { version: '2.0.0' };
  const cases: [string, object, (discovery: DiscoveryClient, index: number) => unknown][] = [
    [
      'RoundRobin, no zone, no subset (baseline)',
      {},
      (discovery, index) => discovery.pick(service, keys[index & 1023]),
    ],
    [
      "RoundRobin, preferring this app's zone (half the endpoints)",
      { zone: 'eu-1' },
      (discovery, index) => discovery.pick(service, keys[index & 1023]),
    ],
    ['RoundRobin, where: { version } (half match)', {}, (discovery) => discovery.pick(service, { where })],
    [
      `RoundRobin, a traffic policy: split 90/10 by version, ${DRAINED} instances drained`,
      {},
      (discovery, index) => discovery.pick(service, keys[index & 1023]),
    ],
  ];
  let baseline = 0;
  for (const [index, [name, options, pick]] of cases.entries()) {
    const withPolicy = name.includes('traffic policy');
    if (withPolicy) await client.put(`/services.policy/${service}`).value(JSON.stringify(canaryPolicy()));
    const app = await context({ etcd: { hosts: [etcd.host] }, requires: [service], ...options });
    const discovery = app.get(DiscoveryClient);
    pick(discovery, 0);
    if (withPolicy) await policyApplied(discovery, service);
    const { rate, picks, collections } = measure((index) => pick(discovery, index), windowMs);
    await app.close();
    if (withPolicy) await client.delete().key(`/services.policy/${service}`);
    if (index === 0) baseline = rate;
    const judged = size >= 10_000 && index > 0;
    record({
      section: 'pick',
      name: `${name}, ${format(size)} endpoints (${collections} garbage collections during ${format(picks)} picks)`,
      value: rate,
      unit: 'picks/s',
      baseline:
        index === 0 ? { name: 'a Get per call', value: perCallGet } : { name: 'no zone, no subset', value: baseline },
      ...(judged ? { target: '≥ 5.00 M/s, no allocation', met: rate >= 5e6 && collections === 0 } : {}),
    });
  }
}
