/**
 * `npm run bench [-- --quick] [-- --only <section>]`: what the library costs, each figure next to a
 * baseline measured in the same run. Prints a table and writes bench/results.json.
 *
 * Sections: pick, propagation, policy, scale, churn, leaks, latency, catalog, calls, safetynet (on one etcd started with --max-txn-ops=2000, so
 * that 1,000-put seeding transactions fit), then cost, recovery and restarts (each on an etcd of its own);
 * `--only hedging`: the hedging part of calls alone.
 * `--only fleet` (only when asked for) starts 3-member clusters and a fleet of simulated apps.
 * `--quick` runs the small sizes only (CI): 100 and 10,000 endpoints for pick(), 100 and 1,000 for
 * propagation, no 100,000-endpoint list, 5-second churn, a tenth of the leak cycles, 10 etcd restarts instead of 50.
 */
import 'reflect-metadata';
import { EtcdServer } from '@repo/testing';
import { Etcd3 } from 'etcd3';
import { benchCalls } from './calls.bench.js';
import { benchCatalog } from './catalog.bench.js';
import { benchChurn } from './churn.bench.js';
import { benchCost } from './cost.bench.js';
import { quick, RUNS } from './harness.js';
import { benchFleet } from './fleet.bench.js';
import { benchHedging } from './hedging.bench.js';
import { benchLatency } from './latency.bench.js';
import { benchLeaks } from './leaks.bench.js';
import { benchPick } from './pick.bench.js';
import { benchPolicy } from './policy.bench.js';
import { benchPropagation } from './propagation.bench.js';
import { benchRecovery } from './recovery.bench.js';
import { benchRestarts } from './restarts.bench.js';
import { writeResults } from './report.js';
import { benchSafetyNet } from './safety-net.bench.js';
import { benchScale } from './scale.bench.js';

const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const wanted = (section: string) => only === undefined || only === section;

async function main(): Promise<void> {
  console.log(
    `nestjs-etcd-discovery benchmarks${quick ? ' (--quick)' : ''}: median of ${RUNS} runs where a figure repeats`,
  );
  const etcd = await EtcdServer.start({ extraArgs: ['--max-txn-ops=2000', '--quota-backend-bytes=4294967296'] });
  // The bench's own client reads whole 100,000-endpoint services for the Get-per-call baseline: a
  // 15 MB answer, past gRPC's default 4 MB limit (the library reads in pages).
  const client = new Etcd3({ hosts: [etcd.host], grpcOptions: { 'grpc.max_receive_message_length': 64 * 2 ** 20 } });
  try {
    if (wanted('pick')) await benchPick(etcd, client);
    if (wanted('propagation')) await benchPropagation(etcd, client);
    if (wanted('policy')) await benchPolicy(etcd, client);
    if (wanted('scale')) await benchScale(etcd, client);
    if (wanted('churn')) await benchChurn(etcd, client);
    if (wanted('leaks')) await benchLeaks(etcd, client);
    if (wanted('latency')) await benchLatency(etcd, client);
    if (wanted('catalog')) await benchCatalog(etcd, client);
    if (wanted('calls')) await benchCalls(etcd, client);
    if (only === 'hedging') await benchHedging(etcd, client);
    if (wanted('safetynet')) await benchSafetyNet(etcd, client);
  } finally {
    client.close();
    await etcd.destroy();
  }
  if (wanted('cost')) await benchCost();
  if (wanted('recovery')) await benchRecovery();
  if (wanted('restarts')) await benchRestarts();
  // Only when asked for: many minutes, and most of this machine's memory.
  if (only === 'fleet') await benchFleet();
  writeResults(quick ? 'quick' : 'full');
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
