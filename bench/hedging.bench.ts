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
  /** Calls over 40 ms, and requests stalled, after the warm-up: the calls a pause of the processes slowed are the rest. */
  slow: number;
  stalled: number;
}

async function segment(
  discovery: DiscoveryClient,
  stalling: Instances,
  service: string,
  rate: number,
  windowMs: number,
) {
  const requestsBefore = stalling.requests();
  let [connectionsBefore, stalledBefore] = [Infinity, Infinity];
  setTimeout(() => ([connectionsBefore, stalledBefore] = [stalling.connections(), stalling.stalled()]), WARM_UP_MS);
  const run = await openLoop(async () => (await discovery.fetch(`http://${service}/`)).arrayBuffer(), rate, windowMs);
  return {
    times: run.times,
    p99: percentile(run.times, 99),
    calls: run.times.length,
    failed: run.failed,
    extra: stalling.requests() - requestsBefore - run.started,
    started: run.started,
    connections: stalling.connections() - connectionsBefore,
    slow: run.times.filter((ms) => ms > 40).length,
    stalled: stalling.stalled() - stalledBefore,
  } satisfies Segment;
}

/**
 * Hedged requests against the same requests unhedged, at the same moments: at each rate, `runs` runs in which two
 * callers of this process call at once, half the rate each, each on 3 HTTP instances of its own, one of them
 * stalling 200 ms now and then (the tail at scale): one caller hedges, the other does not. Hedging must never be
 * worse: its p99 at most the unhedged one in every run (at 500 calls/s a quarter of it over all runs' calls), at
 * most 5 % more requests, and no more new connections (an aborted HTTP/1.1 loser would cost one). Then each caller
 * alone at the full rate, one after the other, with the same targets, as measured before. Callers at once meet the
 * same pauses of this machine and process; one after the other, a pause in the hedged caller's run decided: the
 * unhedged p99 is the stall's 200 ms whatever else happens, and pauses of the processes (the instances in this one
 * or in a child process alike: the caller's loop up to 60–90 ms late, 33 to 650 of an unhedged run's 3,000 calls
 * over 60 ms) set the hedged one above it in 1 to 5 runs of 10. Printed by run: the calls over 40 ms on each side,
 * the unhedged caller's stalled ones left out — in a scratch run's bad runs at once, 10–34 each, the same on both
 * sides; at 250 calls/s 8 calls are 1 % of a run. New connections follow those pauses too (a late open loop starts
 * many calls at once, and pools grow): 39 against 1 in one full run one after the other, 122 against 184 in another.
 */
export async function benchHedging(etcd: EtcdServer, client: Etcd3): Promise<void> {
  const runs = quick ? 2 : 10;
  const windowMs = quick ? 2_000 : 3_000;
  console.log(
    `\nCalls: hedging (every ${STALL.every}th request to one of 3 HTTP instances stalls ${STALL.ms} ms; discovery.fetch() GET ` +
      `at ${RATES.map(format).join(', ')} calls/s in one process; ${runs} runs each of ${windowMs / 1000} s: a hedged and ` +
      `an unhedged caller at once, then each alone)`,
  );
  const service = 'hedge-bench';
  // Each caller's own instances, for the runs where both call at once: their requests and connections apart, and
  // their pools grown by those runs alone.
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
      const atOnce = { unhedged: [] as Segment[], hedged: [] as Segment[] };
      for (let run = 0; run < runs; run += 1) {
        const [one, other] = await Promise.all([
          segment(plain.discovery, plainStalling, plainOwn, rate / 2, windowMs),
          segment(hedging.discovery, hedgedStalling, hedgedOwn, rate / 2, windowMs),
        ]);
        atOnce.unhedged.push(one);
        atOnce.hedged.push(other);
      }
      const alone = { unhedged: [] as Segment[], hedged: [] as Segment[] };
      for (let run = 0; run < runs; run += 1) {
        const pair = [
          { discovery: plain.discovery, into: alone.unhedged },
          { discovery: hedging.discovery, into: alone.hedged },
        ];
        if (run % 2 === 1) pair.reverse(); // a pause of this machine falls on either alike
        for (const { discovery, into } of pair) into.push(await segment(discovery, stalling, service, rate, windowMs));
      }
      recordRate(rate, atOnce, alone);
    }
  } finally {
    await plain.app.close();
    await hedging.app.close();
    await closeInstances(stalling);
    await closeInstances(plainStalling);
    await closeInstances(hedgedStalling);
  }
}

type Pair = { unhedged: Segment[]; hedged: Segment[] };

const sum = (segments: Segment[], field: Exclude<keyof Segment, 'times'>) =>
  segments.reduce((total, one) => total + one[field], 0);
/** A percentile of every call of the runs together. */
const pooled = (segments: Segment[], p: number) =>
  percentile(
    segments.flatMap((run) => run.times),
    p,
  );
const p99s = (segments: Segment[]) => segments.map((run) => format(run.p99)).join(' ');

function recordRate(rate: number, atOnce: Pair, alone: Pair): void {
  const { hedged, unhedged } = atOnce;
  const ratios = hedged.map((run, index) => run.p99 / unhedged[index].p99);
  const worst = ratios.indexOf(Math.max(...ratios));
  const [hedgedP99, unhedgedP99] = [pooled(hedged, 99), pooled(unhedged, 99)];
  const quarter = rate === RATES[0];
  const medianRun = percentile(
    hedged.map((run) => run.p99),
    50,
  );
  const half = format(rate / 2);
  console.log(`    p99 by run, both at once, ms: hedged ${p99s(hedged)}; unhedged ${p99s(unhedged)}`);
  const slowBy = (segments: Segment[], less: (run: Segment) => number) =>
    segments.map((run) => run.slow - less(run)).join(' ');
  console.log(
    `    calls over 40 ms by run: hedged ${slowBy(hedged, () => 0)}; unhedged, less its stalled ones ` +
      `${slowBy(unhedged, (run) => run.stalled)}`,
  );
  const details =
    `${format(sum(hedged, 'calls'))} calls, ${sum(hedged, 'failed')} failed; unhedged ${sum(unhedged, 'failed')} failed; ` +
    `p50 ${format(pooled(hedged, 50))} ms, p99.9 ${format(pooled(hedged, 99.9))} ms (unhedged ${format(pooled(unhedged, 50))}, ` +
    `${format(pooled(unhedged, 99.9))}); worst run ${format(hedged[worst].p99)} against ${format(unhedged[worst].p99)} ms; ` +
    `median run ${format(medianRun)} ms`;
  const name = `hedged fetch() at ${format(rate)} calls/s in one process (a hedged caller and an unhedged one at once, ${half} each)`;
  record({
    section: 'calls',
    name: `${name}: p99 of a call, the ${hedged.length} runs' calls together (${details})`,
    value: hedgedP99,
    unit: 'ms',
    baseline: { name: 'the unhedged caller', value: unhedgedP99 },
    ratio: unhedgedP99 / hedgedP99,
    target: `≤ without in every run${quarter ? ', ≤ 1/4 of it in all' : ''}, no call failed`,
    met: neverWorse(hedged, unhedged, quarter),
  });
  const extra = (100 * sum(hedged, 'extra')) / sum(hedged, 'started');
  record({
    section: 'calls',
    name: `${name}: extra requests (hedges and retries), per call`,
    value: extra,
    unit: '%',
    baseline: { name: 'the unhedged caller', value: (100 * sum(unhedged, 'extra')) / sum(unhedged, 'started') },
    target: '≤ 5 %',
    met: extra <= 5,
  });
  const [hedgedNew, unhedgedNew] = [sum(hedged, 'connections'), sum(unhedged, 'connections')];
  record({
    section: 'calls',
    name: `${name}: new connections to the instances over ${hedged.length} runs (after each one's first second)`,
    value: hedgedNew,
    unit: 'connections',
    baseline: { name: 'the unhedged caller', value: unhedgedNew },
    target: '≤ without',
    met: hedgedNew <= unhedgedNew,
  });
  // Each caller alone at the full rate, one after the other: for comparison with the figures measured so before.
  const [aloneHedged, aloneUnhedged] = [pooled(alone.hedged, 99), pooled(alone.unhedged, 99)];
  const over = alone.hedged.filter((run, index) => run.p99 > alone.unhedged[index].p99).length;
  console.log(
    `    p99 by run, one after the other, ms: hedged ${p99s(alone.hedged)}; unhedged ${p99s(alone.unhedged)}`,
  );
  record({
    section: 'calls',
    name:
      `hedged fetch() at ${format(rate)} calls/s, alone, one caller after the other: p99 of a call, the runs' calls ` +
      `together (hedged above unhedged in ${over} of ${alone.hedged.length} runs; p50 ${format(pooled(alone.hedged, 50))} ` +
      `against ${format(pooled(alone.unhedged, 50))} ms; extra requests ` +
      `${format((100 * sum(alone.hedged, 'extra')) / sum(alone.hedged, 'started'))} %; new connections ` +
      `${sum(alone.hedged, 'connections')} against ${sum(alone.unhedged, 'connections')})`,
    value: aloneHedged,
    unit: 'ms',
    baseline: { name: 'without hedging, the same runs', value: aloneUnhedged },
    ratio: aloneUnhedged / aloneHedged,
    target: `≤ without in every run${quarter ? ', ≤ 1/4 of it in all' : ''}, no call failed`,
    met: neverWorse(alone.hedged, alone.unhedged, quarter),
  });
}

/** Hedged p99 at most the unhedged one in every run, a quarter of it over all runs' calls if `quarter`, no failure. */
function neverWorse(hedged: Segment[], unhedged: Segment[], quarter: boolean): boolean {
  const everyRun = hedged.every((run, index) => run.p99 <= unhedged[index].p99);
  return everyRun && (!quarter || pooled(hedged, 99) <= pooled(unhedged, 99) / 4) && sum(hedged, 'failed') === 0;
}
