import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSubsetArgs, cli } from '../support/cli.js';
import { openVersion } from '../../src/index.js';
import { FileSource, FsChunkStore } from '../../src/node.js';

const root = mkdtempSync(join(tmpdir(), 'edgelake-budget-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const run = promisify(execFile);
const dataset = join(root, 'ds');

/** Starts budget-writer.child.ts; resolves to its JSON summary. */
async function writer(mode: 'stream' | 'fetch', cacheDir: string, budget: number, seed: number) {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'test/cache/budget-writer.child.ts', mode, dataset, cacheDir, String(budget), String(seed)], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as { mode: string; samples: number; writes: number; most: number; stats: { evictions: number } };
}

describe('a byte budget shared by processes writing into one cache folder', () => {
  let largest = 0;
  beforeAll(async () => {
    expect((await cli(...buildSubsetArgs(dataset, '--chunk-kib', '64'))).code).toBe(0);
    const { manifest } = await openVersion(new FileSource(dataset));
    largest = Math.max(...Object.values(manifest.tensors).flatMap((t) => t.chunks.map((c) => c.bytes)));
  }, 60_000);

  // The subset is ~2.6 MB of chunks of up to 64 KiB: every budget here forces eviction.
  for (const budget of [50_000, 200_000, 600_000, 1_000_000]) {
    it(`${budget} bytes: two streaming and one fetching never hold more than the budget plus the largest chunk, measured at every write`, { timeout: 120_000 }, async () => {
      const cacheDir = join(root, `cache-${budget}`);
      const results = await Promise.all([writer('stream', cacheDir, budget, 1), writer('stream', cacheDir, budget, 2), writer('fetch', cacheDir, budget, 3)]);
      console.log(`budget ${budget}, largest chunk ${largest}: ${results.map((r) => `${r.mode} ${r.writes} writes, most ${r.most}`).join('; ')}`);
      for (const r of results) {
        expect(r.samples).toBe(r.mode === 'stream' ? 6000 : 2 * 6000); // fetch counts image and label chunks
        expect(r.writes).toBeGreaterThan(0);
        expect(r.most, `${r.mode}: ${r.most} bytes on disk after a write`).toBeLessThanOrEqual(budget + largest);
      }
      expect(results.reduce((a, r) => a + r.stats.evictions, 0)).toBeGreaterThan(0);
      const store = await FsChunkStore.open(cacheDir);
      expect((await store.usage()).bytes).toBeLessThanOrEqual(budget);
      await store.close();
    });
  }
});
