import type { EtcdServer } from '@repo/testing';
import type { Etcd3 } from 'etcd3';
import { quick, RUNS, seed, startProcess } from './harness.js';
import { format, median, record } from './report.js';

interface FirstList {
  fromBootstrapMs: number;
  fromProcessStartMs: number;
  rssMB: number;
}

/** Starts a consumer requiring `services` (holding `expected` endpoints in all), and reads its report. */
async function firstList(etcd: EtcdServer, services: readonly string[], expected: number): Promise<FirstList> {
  const consumer = startProcess(
    'scale-consumer.js',
    { ETCD_HOSTS: etcd.host, APP_CONFIG: JSON.stringify({ services, expected }) },
    ['--expose-gc'],
  );
  const report = await consumer.waitForLine('the consumer', (line) => line.fromBootstrapMs !== undefined, 120_000);
  await consumer.terminate();
  return {
    fromBootstrapMs: report.fromBootstrapMs as number,
    fromProcessStartMs: report.fromProcessStartMs as number,
    rssMB: (report.rssBytes as number) / 2 ** 20,
  };
}

async function medianOf(runs: number, measure: () => Promise<FirstList>): Promise<FirstList> {
  const results: FirstList[] = [];
  for (let run = 0; run < runs; run += 1) results.push(await measure());
  return {
    fromBootstrapMs: median(results.map((result) => result.fromBootstrapMs)),
    fromProcessStartMs: median(results.map((result) => result.fromProcessStartMs)),
    rssMB: median(results.map((result) => result.rssMB)),
  };
}

/** First lists and memory at fleet sizes, next to the same consumer process with no endpoint. */
export async function benchScale(etcd: EtcdServer, client: Etcd3): Promise<void> {
  console.log('\nScale: a consumer process reading its first lists, next to the same process with no endpoint');
  const runs = quick ? 1 : Math.min(3, RUNS);
  const empty = await medianOf(runs, () => firstList(etcd, ['empty'], 0));
  record({
    section: 'scale',
    name: 'consumer RSS with no endpoint (baseline: Node + Nest + etcd3 + gRPC)',
    value: empty.rssMB,
    unit: 'MB',
  });
  const cases: [string, string[], number, { ms?: number; addedMB?: number }][] = [
    [
      '1,000 services × 10 endpoints',
      Array.from({ length: 1000 }, (_, index) => `svc-${String(index).padStart(4, '0')}`),
      10,
      { ms: 300 },
    ],
    ['1 service × 10,000 endpoints', ['big-10k'], 10_000, {}],
    ...(quick
      ? []
      : [
          ['1 service × 100,000 endpoints', ['big-100k'], 100_000, { ms: 2000, addedMB: 150 }] as [
            string,
            string[],
            number,
            { ms?: number; addedMB?: number },
          ],
        ]),
  ];
  for (const [label, services, perService, target] of cases) {
    await seed(client, services, perService);
    const result = await medianOf(runs, () => firstList(etcd, services, services.length * perService));
    record({
      section: 'scale',
      name: `${label}: first lists readable after bootstrap starts`,
      value: result.fromBootstrapMs,
      unit: 'ms',
      baseline: { name: 'no endpoint', value: empty.fromBootstrapMs },
      ...(target.ms ? { target: `≤ ${format(target.ms)} ms`, met: result.fromBootstrapMs <= target.ms } : {}),
    });
    record({
      section: 'scale',
      name: `${label}: … after the process starts`,
      value: result.fromProcessStartMs,
      unit: 'ms',
      baseline: { name: 'no endpoint', value: empty.fromProcessStartMs },
    });
    const added = result.rssMB - empty.rssMB;
    record({
      section: 'scale',
      name: `${label}: RSS the endpoints add`,
      value: added,
      unit: 'MB',
      baseline: { name: `no endpoint (${format(empty.rssMB)} MB in all)`, value: 0 },
      ...(target.addedMB ? { target: `≤ ${format(target.addedMB)} MB`, met: added <= target.addedMB } : {}),
    });
  }
}
