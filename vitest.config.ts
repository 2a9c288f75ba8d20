import { defineConfig } from 'vitest/config';

// Two projects: unit specs beside the library code (pure logic and Nest testing modules), and
// end-to-end specs under test/ that start real etcd processes and real app processes.
export default defineConfig({
  test: {
    globals: true,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['libs/**/*.spec.ts'] },
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
