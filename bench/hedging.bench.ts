import type { EtcdServer } from '@repo/testing';
import type { Etcd3 } from 'etcd3';
import type { DiscoveryClient } from 'nestjs-etcd-discovery';
import { closeInstances, discoveryFor, instances, openLoop, WARM_UP_MS, type Instances } from './call-loops.js';
import { quick } from './harness.js';
import { format, percentile, record } from './report.js';

/** One instance of three stalls this long on every STALL_EVERY-th request it gets: 1.1 % of all requests. */
const STALL = { every: 30, ms: 200 };
/** Calls a second: half of what makes this process (caller and servers in one event loop) the bottleneck, that, and twice it. */
const RATES = [500, 1_000, 2_000];

/** One segment of calls at a rate: what its calls took, and what they cost the instances. */
interface Segment {
  times: number[];
  p99: number;
  calls: number;
  failed: number;
  /** Requests the instances got beyond one per call started (hedges and retries), warm-up included. */
  extra: number;
  started: number;
  /** Connections the instances accepted once the segment had warmed up (its pool grown to its load). */
  connections: number;
}

async function segment(
  discovery: DiscoveryClient,
  stalling: Instances,
  service: string,
  rate: number,
  windowMs: number,
) {
  const requestsBefore = stalling.requests();
  let connectionsBefore = Infinity;
  setTimeout(() => (connectionsBefore = stalling.connections()), WARM_UP_MS);
  const run = await openLoop(async () => (await discovery.fetch(`http://${service}/`)).arrayBuffer(), rate, windowMs);
  return {
    times: run.times,
    p99: percentile(run.times, 99),
    calls: run.times.length,
    failed: run.failed,
    extra: stalling.requests() - requestsBefore - run.started,
    started: run.started,
    connections: stalling.connections() - connectionsBefore,
  } satisfies Segment;
}

/**
 * Hedged requests against the same requests unhedged, in the same run: 3 HTTP instances, one stalling
 * 200 ms now and then (the tail at scale); at each rate, `runs` pairs of segments, their order swapped
 * every run so that a pause of this machine falls on either alike. Hedging must never be worse: its p99
 * at most the unhedged one in every run (a quarter of it at 500 calls/s), at most 5 % more requests, and
 * no more new connections (an aborted HTTP/1.1 loser would cost one). Those are counted in `runs` more runs
 * with both callers at once, each at half the rate on 3 instances of its own: a pause of this process makes
 * an open loop start many calls at once and its pools grow, so callers one after the other each meet
 * pauses of their own, and which opens more was chance (39 against 1 in one full run, 122 against 184 in it).
 */
export async function benchHedging(etcd: EtcdServer, client: Etcd3): Promise<void> {
  const runs = quick ? 2 : 10;
  const windowMs = quick ? 2_000 : 3_000;
  console.log(
    `\nCalls: hedging (3 HTTP instances, every ${STALL.every}th request to one stalls ${STALL.ms} ms; discovery.fetch() GET ` +
      `at ${RATES.map(format).join(', ')} calls/s in one process; ${runs} runs each of ${windowMs / 1000} s without hedging and with)`,
  );
  const service = 'hedge-bench';
  // Each caller's own instances, for the runs where both call at once: their connections apart, and their pools grown
  // by those runs alone (pools the runs one after the other had grown to the full rate opened fewer in a pause).
  const [plainOwn, hedgedOwn] = ['hedge-bench-unhedged', 'hedge-bench-hedged'];
  const stalling = await instances(client, service, STALL);
  const plainStalling = await instances(client, plainOwn, STALL);
  const hedgedStalling = await instances(client, hedgedOwn, STALL);
  const plain = await discoveryFor(etcd, service, { calls: { hedge: false }, requires: [service, plainOwn] });
  const hedging = await discoveryFor(etcd, service, { requires: [service, hedgedOwn] });
  await plain.discovery.waitFor(plainOwn, { count: 3 });
  await hedging.discovery.waitFor(hedgedOwn, { count: 3 });
  try {
    for (const rate of RATES) {
      const unhedged: Segment[] = [];
      const hedged: Segment[] = [];
      for (let run = 0; run < runs; run += 1) {
        const pair = [
          { discovery: plain.discovery, into: unhedged },
          { discovery: hedging.discovery, into: hedged },
        ];
        if (run % 2 === 1) pair.reverse();
        for (const { discovery, into } of pair) into.push(await segment(discovery, stalling, service, rate, windowMs));
      }
      const atOnce = { unhedged: [] as Segment[], hedged: [] as Segment[] };
      for (let run = 0; run < runs; run += 1) {
        const [one, other] = await Promise.all([
          segment(plain.discovery, plainStalling, plainOwn, rate / 2, windowMs),
          segment(hedging.discovery, hedgedStalling, hedgedOwn, rate / 2, windowMs),
        ]);
        atOnce.unhedged.push(one);
        atOnce.hedged.push(other);
      }
      recordRate(rate, unhedged, hedged, atOnce);
    }
  } finally {
    await plain.app.close();
    await hedging.app.close();
    await closeInstances(stalling);
    await closeInstances(plainStalling);
    await closeInstances(hedgedStalling);
  }
}

function recordRate(
  rate: number,
  unhedged: Segment[],
  hedged: Segment[],
  atOnce: { unhedged: Segment[]; hedged: Segment[] },
): void {
  const sum = (segments: Segment[], field: Exclude<keyof Segment, 'times'>) =>
    segments.reduce((total, one) => total + one[field], 0);
  // Percentiles of every call of the runs together, as this figure was before it was measured run by run.
  const pooled = (segments: Segment[], p: number) =>
    percentile(
      segments.flatMap((run) => run.times),
      p,
    );
  const ratios = hedged.map((run, index) => run.p99 / unhedged[index].p99);
  const worst = ratios.indexOf(Math.max(...ratios));
  const [hedgedP99, unhedgedP99] = [pooled(hedged, 99), pooled(unhedged, 99)];
  const quarter = rate === RATES[0];
  const p99s = (segments: Segment[]) => segments.map((run) => format(run.p99)).join(' ');
  console.log(`    p99 by run, ms: hedged ${p99s(hedged)}; unhedged ${p99s(unhedged)}`);
  const details =
    `${format(sum(hedged, 'calls'))} calls, ${sum(hedged, 'failed')} failed; unhedged ${sum(unhedged, 'failed')} failed; ` +
    `p50 ${format(pooled(hedged, 50))} ms, p99.9 ${format(pooled(hedged, 99.9))} ms (unhedged ${format(pooled(unhedged, 50))}, ` +
    `${format(pooled(unhedged, 99.9))}); worst run ${format(hedged[worst].p99)} against ${format(unhedged[worst].p99)} ms`;
  record({
    section: 'calls',
    name: `hedged fetch() at ${format(rate)} calls/s: p99 of a call, the ${hedged.length} runs' calls together (${details})`,
    value: hedgedP99,
    unit: 'ms',
    baseline: { name: 'without hedging, same runs', value: unhedgedP99 },
    ratio: unhedgedP99 / hedgedP99,
    target: `≤ without in every run${quarter ? ', ≤ 1/4 of it in all' : ''}, no call failed`,
    met:
      ratios.every((ratio) => ratio <= 1) && (!quarter || hedgedP99 <= unhedgedP99 / 4) && sum(hedged, 'failed') === 0,
  });
  const extra = (100 * sum(hedged, 'extra')) / sum(hedged, 'started');
  record({
    section: 'calls',
    name: `hedged fetch() at ${format(rate)} calls/s: extra requests (hedges and retries), per call`,
    value: extra,
    unit: '%',
    baseline: { name: 'without hedging', value: (100 * sum(unhedged, 'extra')) / sum(unhedged, 'started') },
    target: '≤ 5 %',
    met: extra <= 5,
  });
  // New connections follow the pauses of this process (a late open loop starts many calls at once, and pools grow):
  // one caller after the other, each meets pauses of its own; calling at once, both meet the same ones.
  const [hedgedNew, unhedgedNew] = [sum(atOnce.hedged, 'connections'), sum(atOnce.unhedged, 'connections')];
  record({
    section: 'calls',
    name:
      `hedged fetch() at ${format(rate)} calls/s: new connections to the instances over ${hedged.length} runs (after each ` +
      `one's first second), both callers at once at ${format(rate / 2)} calls/s each, each on 3 instances of its own ` +
      `(one caller after the other, as the rows above: ${sum(hedged, 'connections')} against ${sum(unhedged, 'connections')})`,
    value: hedgedNew,
    unit: 'connections',
    baseline: { name: 'without hedging, at the same moments', value: unhedgedNew },
    target: '≤ without',
    met: hedgedNew <= unhedgedNew,
  });
}
