import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (file: string) => fileURLToPath(new URL(`./libs/discovery/src/${file}`, import.meta.url));

// Two projects: unit specs beside the library code (pure logic and Nest testing modules), and
// end-to-end specs under test/ that start real etcd processes and real app processes.
export default defineConfig({
  test: {
    globals: true,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['libs/**/*.spec.ts'] },
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
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
