import { putEndpoint, testEndpoint } from '@repo/testing';
import type { EtcdServer } from '@repo/testing';
import type { Etcd3 } from 'etcd3';
import { DiscoveryClient, type DiscoveryModuleOptions } from 'nestjs-etcd-discovery';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, quick, RUNS, sleep, startProcess } from './harness.js';
import { format, median, percentile, record } from './report.js';

const CALLERS = 8;

/** Calls a second of the hedging runs: half of what makes this process (caller and servers in one event loop) the bottleneck. */
const RATE = 500;
const STALL_MS = 200;
/** One request in this many to the stalling instance stalls: with three instances, 1.1 % of all requests. */
const STALL_EVERY = 30;

/** Three HTTP instances on loopback; the first stalls STALL_MS on every STALL_EVERY-th request when `stalls`. Each counts its requests. */
async function instances(
  client: Etcd3,
  service: string,
  stalls: boolean,
): Promise<{ servers: Server[]; requests: () => number }> {
  let requests = 0;
  const servers = await Promise.all(
    [0, 1, 2].map((index) => {
      let seen = 0;
      const server = createServer((_request, response) => {
        requests += 1;
        seen += 1;
        if (stalls && index === 0 && seen % STALL_EVERY === 0) setTimeout(() => response.end('ok'), STALL_MS);
        else response.end('ok');
      });
      return new Promise<Server>((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
    }),
  );
  for (const [index, server] of servers.entries()) {
    await putEndpoint(
      client,
      testEndpoint(service, `i${index}`, (server.address() as AddressInfo).port, { host: '127.0.0.1' }),
    );
  }
  return { servers, requests: () => requests };
}

/** CALLERS closed-loop callers of `call` for `windowMs`: every call's time in ms, the failures, and the process's CPU time per call in µs. */
async function closedLoop(
  call: () => Promise<unknown>,
  windowMs: number,
): Promise<{ times: number[]; failed: number; cpuPerCallUs: number }> {
  const times: number[] = [];
  let failed = 0;
  const cpuBefore = process.cpuUsage();
  const deadline = performance.now() + windowMs;
  const caller = async () => {
    while (performance.now() < deadline) {
      const startedAt = performance.now();
      try {
        await call();
      } catch {
        failed += 1;
      }
      times.push(performance.now() - startedAt);
    }
  };
  await Promise.all(Array.from({ length: CALLERS }, caller));
  const cpu = process.cpuUsage(cpuBefore);
  return { times, failed, cpuPerCallUs: (cpu.user + cpu.system) / times.length };
}

/**
 * `rate` calls a second for `windowMs`, each started on time whether the others have ended or not
 * (an open loop: a slow call does not hold back the next, as a closed loop's would, so the
 * latencies of two runs compare at the same load): every call's time in ms, and the failures.
 */
async function openLoop(
  call: () => Promise<unknown>,
  rate: number,
  windowMs: number,
): Promise<{ times: number[]; failed: number; started: number }> {
  const times: number[] = [];
  let failed = 0;
  const calls: Promise<void>[] = [];
  // The first second warms up (connections opened, code compiled, response times learnt) and is not counted.
  const warmUpMs = 1000;
  const startedAt = performance.now();
  const total = Math.floor((rate * (warmUpMs + windowMs)) / 1000);
  while (calls.length < total) {
    const due = Math.min(total, Math.floor(((performance.now() - startedAt) * rate) / 1000));
    while (calls.length < due) {
      const callStartedAt = performance.now();
      const counted = callStartedAt - startedAt >= warmUpMs;
      calls.push(
        call().then(
          () => void (counted && times.push(performance.now() - callStartedAt)),
          () => void (counted && (failed += 1)),
        ),
      );
    }
    await sleep(2);
  }
  await Promise.all(calls);
  return { times, failed, started: total };
}

async function discoveryFor(etcd: EtcdServer, service: string, extra: Partial<DiscoveryModuleOptions> = {}) {
  const app = await context({ etcd: { hosts: [etcd.host] }, requires: [service], ...extra });
  const discovery = app.get(DiscoveryClient);
  await discovery.waitFor(service, { count: 3 });
  return { app, discovery };
}

/**
 * Calls through discovery, in the same run as their baselines: hedged requests against the same
 * requests unhedged, with one of three instances stalling 200 ms now and then (the tail at scale);
 * `discovery.fetch()` against Node's fetch to one fixed instance; `call()` (deadline and attempt
 * timers, counts, reports) against awaiting the same promise bare.
 */
export async function benchCalls(etcd: EtcdServer, client: Etcd3): Promise<void> {
  const segments = quick ? 2 : 5;
  const segmentMs = 3_000;
  console.log(
    `\nCalls: hedging (3 HTTP instances, every ${STALL_EVERY}th request to one stalls ${STALL_MS} ms; discovery.fetch() GET, ${format(RATE)} calls/s, ` +
      `${segments} segments of ${segmentMs / 1000} s without hedging and with, in turn), overhead`,
  );
  const hedgeService = 'hedge-bench';
  const stalling = await instances(client, hedgeService, true);
  try {
    const plain = await discoveryFor(etcd, hedgeService, { calls: { hedge: false } });
    const hedging = await discoveryFor(etcd, hedgeService);
    const unhedged = { times: [] as number[], failed: 0, started: 0, requests: 0 };
    const hedged = { times: [] as number[], failed: 0, started: 0, requests: 0 };
    // In turn, so that a pause of this machine falls on either alike; each segment's first second warms up.
    for (let segment = 0; segment < segments; segment += 1) {
      for (const [discovery, into] of [
        [plain.discovery, unhedged],
        [hedging.discovery, hedged],
      ] as const) {
        const before = stalling.requests();
        const run = await openLoop(
          async () => (await discovery.fetch(`http://${hedgeService}/`)).arrayBuffer(),
          RATE,
          segmentMs,
        );
        into.times.push(...run.times);
        into.failed += run.failed;
        into.started += run.started;
        into.requests += stalling.requests() - before;
      }
    }
    await plain.app.close();
    await hedging.app.close();
    // Requests per call, warm-up included (the requests are counted by the instances).
    const extra = (100 * (hedged.requests - hedged.started)) / hedged.started;
    const calls = `${format(hedged.times.length)} calls, ${hedged.failed} failed; unhedged ${format(unhedged.times.length)}, ${unhedged.failed} failed, ${format((100 * (unhedged.requests - unhedged.started)) / unhedged.started)} % extra`;
    for (const p of [50, 99, 99.9]) {
      const withHedging = percentile(hedged.times, p);
      const without = percentile(unhedged.times, p);
      record({
        section: 'calls',
        name: `hedged fetch(): p${p} of a call${p === 50 ? ` (${calls})` : ''}`,
        value: withHedging,
        unit: 'ms',
        baseline: { name: 'without hedging', value: without },
        ratio: without / withHedging,
        ...(p === 99 ? { target: '≤ 1/4 of without', met: withHedging <= without / 4 && hedged.failed === 0 } : {}),
      });
    }
    record({
      section: 'calls',
      name: 'hedged fetch(): extra requests (hedges), per call',
      value: extra,
      unit: '%',
      target: '≤ 5 %',
      met: extra <= 5,
    });
  } finally {
    await Promise.all(stalling.servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
  await benchOverhead(etcd, client, quick ? 500 : 1_000);
  await benchTelemetryCost();
}

type TelemetryMode = 'absent' | 'api' | 'lastMinute' | 'metrics' | 'traces';

/**
 * pick() and call() with OpenTelemetry absent, its API without an SDK, the metrics SDK, and the
 * metrics and tracing SDKs: each mode in fresh processes, in turn, RUNS rounds. The best of each
 * mode is compared: processes differ by up to a quarter here (which core, what else runs), and noise
 * only ever slows one down.
 */
async function benchTelemetryCost(): Promise<void> {
  const endpoints = 10_000;
  const config = { endpoints, picks: quick ? 2_000_000 : 5_000_000, calls: quick ? 20_000 : 100_000 };
  const modes: TelemetryMode[] = ['absent', 'api', 'lastMinute', 'metrics', 'traces'];
  const results = new Map<TelemetryMode, { pickRate: number[]; addedUs: number[] }>(
    modes.map((mode) => [mode, { pickRate: [], addedUs: [] }]),
  );
  for (let round = 0; round < RUNS; round += 1) {
    for (const mode of modes) {
      const measured = startProcess('telemetry-cost.js', { APP_CONFIG: JSON.stringify({ mode, ...config }) });
      const { pickRate, callUs, bareUs } = (await measured.waitForMessage('measured', 120_000)) as unknown as {
        pickRate: number;
        callUs: number;
        bareUs: number;
      };
      await measured.stop();
      results.get(mode)!.pickRate.push(pickRate);
      results.get(mode)!.addedUs.push(callUs - bareUs);
    }
  }
  const pickRate = (mode: TelemetryMode) => Math.max(...results.get(mode)!.pickRate);
  const addedUs = (mode: TelemetryMode) => Math.min(...results.get(mode)!.addedUs);
  record({
    section: 'calls',
    name: `pick() (round robin, ${format(endpoints)} endpoints) with @opentelemetry/api and no SDK (best of ${RUNS} processes)`,
    value: pickRate('api'),
    unit: 'picks/s',
    baseline: { name: '@opentelemetry/api not installed', value: pickRate('absent') },
    ratio: pickRate('api') / pickRate('absent'),
    target: 'the same within noise (±10 %)',
    met: Math.abs(pickRate('api') / pickRate('absent') - 1) <= 0.1,
  });
  record({
    section: 'calls',
    name: `call(): added time per call with @opentelemetry/api and no SDK (best of ${RUNS} processes)`,
    value: addedUs('api'),
    unit: 'µs',
    baseline: { name: '@opentelemetry/api not installed', value: addedUs('absent') },
    target: 'the same within noise (±0.3 µs)',
    met: Math.abs(addedUs('api') - addedUs('absent')) <= 0.3,
  });
  record({
    section: 'calls',
    name: `call() with each instance's last minute kept (the dashboard mounted; ${format(endpoints)} instances called in turn): time it adds per call`,
    value: addedUs('lastMinute') - addedUs('api'),
    unit: 'µs',
    baseline: { name: 'call() with @opentelemetry/api and no SDK', value: addedUs('api') },
  });
  record({
    section: 'calls',
    name: 'call() with the OpenTelemetry metrics SDK: time its metrics add per call',
    value: addedUs('metrics') - addedUs('api'),
    unit: 'µs',
    baseline: { name: 'call() with @opentelemetry/api and no SDK', value: addedUs('api') },
    target: '≤ 2 µs',
    met: addedUs('metrics') - addedUs('api') <= 2,
  });
  record({
    section: 'calls',
    name: 'call() with the metrics and tracing SDKs (every span recorded): time the span adds per call',
    value: addedUs('traces') - addedUs('metrics'),
    unit: 'µs',
    baseline: { name: 'call() with the metrics SDK', value: addedUs('metrics') },
  });
}

/** discovery.fetch() against fetch() to a fixed instance, and call() against a bare promise, in alternating rounds. */
async function benchOverhead(etcd: EtcdServer, client: Etcd3, roundMs: number): Promise<void> {
  const service = 'overhead-bench';
  const fast = await instances(client, service, false);
  const { app, discovery } = await discoveryFor(etcd, service);
  try {
    const fixed = `http://127.0.0.1:${(fast.servers[0].address() as AddressInfo).port}/`;
    // CPU time rather than wall time: on a shared machine it is what the request costs, steal and all aside.
    const viaDiscovery: number[] = [];
    const direct: number[] = [];
    // Many short rounds, alternating, the median of each: the machine's noise falls on both alike.
    for (let round = 0; round < 3 * RUNS; round += 1) {
      direct.push((await closedLoop(async () => (await fetch(fixed)).arrayBuffer(), roundMs)).cpuPerCallUs);
      viaDiscovery.push(
        (await closedLoop(async () => (await discovery.fetch(`http://${service}/`)).arrayBuffer(), roundMs))
          .cpuPerCallUs,
      );
    }
    const ours = median(viaDiscovery);
    const theirs = median(direct);
    record({
      section: 'calls',
      name: `discovery.fetch() GET: CPU time per request (caller and server in one process, ${CALLERS} callers)`,
      value: ours,
      unit: 'µs',
      baseline: { name: "Node's fetch() to one fixed instance", value: theirs },
      ratio: theirs / ours,
      target: '≤ 5 % more',
      met: ours <= theirs * 1.05,
    });

    const answer = Promise.resolve('ok');
    const attempt = () => answer;
    const bare = await timePerCall(() => attempt());
    const called = await timePerCall(() => discovery.call(service, attempt));
    const idempotent = await timePerCall(() => discovery.call(service, attempt, { idempotent: true }));
    record({
      section: 'calls',
      name: 'call(): added time per call (deadline, attempt timeout, counts)',
      value: called - bare,
      unit: 'µs',
      baseline: { name: 'a bare promise', value: bare },
      target: '≤ 2 µs',
      met: called - bare <= 2,
    });
    record({
      section: 'calls',
      name: 'call({ idempotent: true }): added time per call (and a hedge timer)',
      value: idempotent - bare,
      unit: 'µs',
      baseline: { name: 'a bare promise', value: bare },
    });
  } finally {
    await app.close();
    await Promise.all(fast.servers.map((server) => new Promise((resolve) => server.close(resolve))));
    await sleep(100);
  }
}

/** µs per awaited call of `run`, one after another: the best of RUNS rounds of 200,000 (20,000 with --quick); noise only slows a round. */
async function timePerCall(run: () => Promise<unknown>): Promise<number> {
  const count = quick ? 20_000 : 200_000;
  const rounds: number[] = [];
  for (let round = 0; round < RUNS; round += 1) {
    const startedAt = performance.now();
    for (let call = 0; call < count; call += 1) await run();
    rounds.push(((performance.now() - startedAt) * 1000) / count);
  }
  return Math.min(...rounds);
}
