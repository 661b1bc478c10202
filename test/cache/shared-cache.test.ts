import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { buildSubsetArgs, cli, SUBSET } from '../support/cli.js';
import { FsChunkStore } from '../../src/node.js';

const root = mkdtempSync(join(tmpdir(), 'edgelake-shared-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const run = promisify(execFile);

describe('several processes sharing one cache folder', () => {
  it('4 processes under a budget that forces constant eviction all read every sample correctly', { timeout: 120_000 }, async () => {
    expect((await cli(...buildSubsetArgs(join(root, 'ds'), '--chunk-kib', '64'))).code).toBe(0);
    // The images alone are ~2.6 MB in ~75 chunks; 400 KB holds a handful at a time.
    const budget = 400_000;
    const children = [1, 2, 3, 4].map((seed) => run(process.execPath,
      ['--import', 'tsx', 'test/cache/shared-reader.child.ts', join(root, 'ds'), join(root, 'cache'), String(budget), String(seed), SUBSET],
      { maxBuffer: 1 << 20 }));
    const results = (await Promise.all(children)).map((r) => JSON.parse(r.stdout.trim().split('\n').pop()!));
    for (const r of results) {
      expect(r.samples).toBe(2 * 2 * 6000);
      expect(r.mismatches).toBe(0);
      expect(r.damaged).toBe(0);
    }
    expect(results.reduce((a, r) => a + r.evictions, 0)).toBeGreaterThan(50);
    const store = await FsChunkStore.open(join(root, 'cache'));
    // Each process may pass the budget by one chunk in flight (a deflated chunk is < 64 KiB).
    expect((await store.usage()).bytes).toBeLessThanOrEqual(budget + 4 * 65536);
    await store.close();
  });
});
