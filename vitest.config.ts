import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // GPU tests share one dawn-node instance per worker; forks isolate native crashes.
    pool: 'forks',
  },
});
