import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSubsetArgs, cli } from '../support/cli.js';
import { smallDisk } from '../support/small-disk.js';
import { missing } from '../support/system.js';
import { FsChunkStore } from '../../src/node.js';

const root = mkdtempSync(join(tmpdir(), 'edgelake-full-disk-'));
const disk = smallDisk(join(root, 'disk'), '3m');
const dataset = join(root, 'ds');
const cacheDir = join(disk.path, 'cache');
afterAll(() => {
  disk.unmount();
  rmSync(root, { recursive: true, force: true });
});

const stream = async (split: string) => {
  const r = await cli('stream', dataset, '--split', split, '--cache', cacheDir, '--workers', '0', '--json');
  return { ...r, stats: r.code === 0 ? JSON.parse(r.stdout) : undefined };
};
const warnings = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('warning:'));

describe.skipIf(missing('a tmpfs to fill', 'run the tests as root, which may mount -t tmpfs', disk.mounted))('a cache on a full disk', () => {
  beforeAll(async () => {
    expect((await cli(...buildSubsetArgs(dataset, '--chunk-kib', '64'))).code).toBe(0);
  }, 60_000);

  it('a warm split streams completely from the cache on a full disk', async () => {
    const cold = await stream('test');
    expect(cold.stats).toMatchObject({ samples: 1000, cacheHits: 0 });
    const free = disk.fill();
    try {
      const warm = await stream('test');
      expect(warm.code, warm.stderr).toBe(0);
      expect(warm.stats).toMatchObject({ samples: 1000, cacheMisses: 0, cacheHitRatio: 1 });
      // It could not remember edgelake.json (a note of 170 bytes): a warning, not an error.
      expect(warnings(warm.stderr)).toEqual([expect.stringMatching(/cannot store note "refs:.*the disk is full.*; reading on without caching/)]);
    } finally {
      free();
    }
  });

  it('a cold split streams uncached on a full disk, with one warning and a count of what was not stored', async () => {
    const before = (await (await FsChunkStore.open(cacheDir)).usage()).entries;
    const free = disk.fill();
    try {
      const cold = await stream('train');
      expect(cold.code, cold.stderr).toBe(0);
      expect(cold.stats).toMatchObject({ samples: 5000 });
      expect(cold.stats.chunksNotCached).toBe(cold.stats.cacheMisses);
      expect(cold.stats.cacheWriteFailures).toBe(cold.stats.cacheMisses);
      expect(warnings(cold.stderr)).toEqual([expect.stringMatching(/cannot store (note|chunk) .*the disk is full.*; reading on without caching/)]);
    } finally {
      free();
    }
    expect((await (await FsChunkStore.open(cacheDir)).usage()).entries).toBe(before); // the warm split is still there
  });

  it('with a budget on a nearly full disk, the epoch completes, storing what fits and streaming the rest', async () => {
    expect((await cli('cache', 'clear', '--cache', cacheDir)).code).toBe(0);
    expect((await cli('cache', 'stats', '--cache', cacheDir, '--budget', '2M')).code).toBe(0);
    const free = disk.fill(300_000);
    try {
      const r = await stream('train');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stats).toMatchObject({ samples: 5000 });
      expect(r.stats.cacheWriteFailures).toBeGreaterThan(0);
      expect(warnings(r.stderr)).toHaveLength(1);
      const { entries, bytes } = await (await FsChunkStore.open(cacheDir)).usage();
      expect(entries).toBeGreaterThan(0);
      expect(bytes).toBeGreaterThan(100_000);
    } finally {
      free();
    }
  });

  it('fetch on a full disk fetches every chunk and says how many it could not store', async () => {
    expect((await cli('cache', 'clear', '--cache', cacheDir)).code).toBe(0);
    // A budget the split fits (the test before left 2 MB): what stops the writes here is the disk alone.
    expect((await cli('cache', 'stats', '--cache', cacheDir, '--budget', '1G')).code).toBe(0);
    const free = disk.fill();
    try {
      const r = await cli('fetch', dataset, '--cache', cacheDir, '--split', 'train');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^(\d+) chunks, .*: 0 already cached, \1 fetched .*, \1 not stored \(\1 refused by the disk\)/);
      expect(warnings(r.stderr)).toHaveLength(1);
    } finally {
      free();
    }
  });
});
