import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (file: string) => fileURLToPath(new URL(`./libs/discovery/src/${file}`, import.meta.url));

// Unit specs beside the library code (pure logic and Nest testing modules), and end-to-end specs under test/ that
// start real etcd processes and real app processes. The unit specs run first, in shared workers (importing Nest once
// per worker, not once per file: 25 s instead of 140); then the e2e files, three at a time: most of their time is
// spent waiting on etcd leases, elections and app processes, and each starts its own etcd on free ports and
// temporary directories, so that files never share anything. Last, alone, the files that measure throughput: on
// 2 cores, a neighbour's CPU would be measured as theirs.
const measuringThroughput = [
  'test/hung-instance.e2e-spec.ts',
  'test/hung-instances.e2e-spec.ts',
  'test/traffic-policy.e2e-spec.ts',
];
const e2e = { testTimeout: 60_000, hookTimeout: 60_000 };
export default defineConfig({
  test: {
    globals: true,
    maxWorkers: 3,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['libs/**/*.spec.ts'],
          isolate: false,
          testTimeout: 15_000,
          sequence: { groupOrder: 0 },
        },
        // The README's examples import the package by name, as users do: here that is its sources, so
        // that the unit suite never tests a stale build (e2e specs use the build, as apps do).
        resolve: {
          alias: [
            { find: /^nestjs-etcd-discovery$/, replacement: source('index.ts') },
            { find: /^nestjs-etcd-discovery\/(testing|terminus|dashboard|codec)$/, replacement: source('$1/index.ts') },
          ],
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/**/*.e2e-spec.ts'],
          exclude: measuringThroughput,
          sequence: { groupOrder: 1 },
          ...e2e,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e-alone',
          include: measuringThroughput,
          fileParallelism: false,
          sequence: { groupOrder: 2 },
          ...e2e,
        },
      },
    ],
  },
});
