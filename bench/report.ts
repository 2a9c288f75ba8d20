import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@repo/testing';

/** One measured figure, with the baseline measured next to it in the same run. */
export interface Figure {
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

export function record(figure: Figure): void {
  figures.push(figure);
  const baseline = figure.baseline
    ? `  vs ${figure.baseline.name}: ${format(figure.baseline.value)} ${figure.unit}`
    : '';
  const ratio = figure.ratio !== undefined ? `  (${format(figure.ratio)}×)` : '';
  const target = figure.target ? `  target ${figure.target}: ${figure.met ? 'met' : 'NOT met'}` : '';
  console.log(`  ${figure.name}: ${format(figure.value)} ${figure.unit}${baseline}${ratio}${target}`);
}

export function format(value: number): string {
  return Math.abs(value) >= 100
    ? Math.round(value).toLocaleString('en-US')
    : value.toFixed(Math.abs(value) >= 10 ? 1 : 2);
}

export function median(values: number[]): number {
  return percentile(values, 50);
}

/** The nearest-rank percentile: a value that was measured, never an interpolation. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Writes bench/results.json and prints the targets met and missed. */
export function writeResults(mode: 'quick' | 'full'): void {
  const results = {
    date: new Date().toISOString(),
    mode,
    machine: {
      cpus: cpus().length,
      cpu: cpus()[0]?.model,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      platform: process.platform,
    },
    versions: {
      node: process.version,
      etcd: execFileSync('etcd', ['--version']).toString().split('\n')[0],
      library: '0.1.0',
    },
    figures,
  };
  writeFileSync(join(repoRoot(), 'bench/results.json'), `${JSON.stringify(results, null, 2)}\n`);
  const missed = figures.filter((figure) => figure.met === false);
  console.log(
    `\nWrote bench/results.json. Targets: ${figures.filter((figure) => figure.met).length} met, ${missed.length} not met.`,
  );
  for (const figure of missed) console.log(`  not met: ${figure.name} (${figure.target})`);
}
