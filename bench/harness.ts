import 'reflect-metadata';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppProcess, numberedEndpoint, putOperation, repoRoot } from '@repo/testing';
import type { Etcd3 } from 'etcd3';
import { DiscoveryModule, type DiscoveryModuleOptions, type ServiceEndpoint } from 'nestjs-etcd-discovery';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';

/** Run with `--quick`: small sizes and fewer samples, for CI. */
export const quick = process.argv.includes('--quick');
/** How many times a repeated figure is measured; the median is reported. */
export const RUNS = quick ? 3 : 5;

export const now = () => performance.timeOrigin + performance.now();
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Writes `count` endpoints of each service (ids i00000 …, weights 1–3) in transactions of 1,000 puts. */
export async function seed(
  client: Etcd3,
  services: readonly string[],
  count: number,
  extra: (index: number) => Partial<ServiceEndpoint> = () => ({}),
): Promise<void> {
  const puts = services.flatMap((service) =>
    Array.from({ length: count }, (_, index) =>
      putOperation({ ...numberedEndpoint(service, index, 1 + (index % 3)), ...extra(index) }),
    ),
  );
  for (let start = 0; start < puts.length; start += 1000)
    await client.kv.txn({ success: puts.slice(start, start + 1000) });
}

/** A discovery-only Nest application context in this process. */
export async function context(options: DiscoveryModuleOptions): Promise<INestApplicationContext> {
  @Module({ imports: [DiscoveryModule.forRoot(options)] })
  class BenchModule {}
  return NestFactory.createApplicationContext(BenchModule, { logger: ['error'] });
}

/** A bench process (bench/processes/*.ts, built to bench/dist/processes), reporting in JSON lines. */
export function startProcess(script: string, env: NodeJS.ProcessEnv, nodeArgs: string[] = []): AppProcess {
  return AppProcess.run(join(repoRoot(), 'bench/dist/processes', script), { env, nodeArgs });
}

/** CPU time a process has used so far, in ms (user + system, from /proc). */
export function cpuTimeMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // utime and stime are fields 14 and 15 of the line, 12 and 13 after the command name, in clock ticks (100 per second).
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}
