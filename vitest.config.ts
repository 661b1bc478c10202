import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// Files that time themselves (a page's first paint, a proxy's rate, a refusal's latency, workers'
// order) or fill every core on their own (Chromium on SwiftShader, processes killed at random
// moments): they run one at a time once the rest are done, so no other file's load decides them.
const alone = [
  'test/browser/**/*.test.ts',
  'test/bench/throttle-proxy.test.ts',
  'test/cache/fs-store-crash.test.ts',
  'test/format/json-check.test.ts',
  'test/format/image/jpeg-fuzz.test.ts',
  'test/format/image/jpeg/hostile.test.ts',
  'test/runtime/loader/workers/pool.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // GPU tests share one dawn-node instance per worker; forks isolate native crashes.
    pool: 'forks',
    projects: [
      // Every core: vitest's default leaves one free, which on a 2-core CI machine runs one file at a time.
      { extends: true, test: { name: 'shared', include: ['test/**/*.test.ts'], exclude: alone, maxWorkers: availableParallelism() } },
      { extends: true, test: { name: 'alone', include: alone, fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
  },
});
