/**
 * Warm-cache epoch vs the same chunk files read straight from disk, side by side in one run.
 * Both paths verify every byte against its SHA-256 (the cache on read; the direct path as any
 * reader must), so the ratio is the cost of the cache layer itself. Target: 0.8 or better.
 *
 *   npx tsx bench/cache-read.ts [--mib 256] [--chunk-mib 4] [--rounds 5]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchArgs, median, report } from './report.js';
import { ChunkCache } from '../src/index.js';
import { FsChunkStore } from '../src/node.js';
import { sha256Hex } from '../src/format/index.js';

const { values } = benchArgs(import.meta.url, { options: { mib: { type: 'string', default: '256' }, 'chunk-mib': { type: 'string', default: '4' }, rounds: { type: 'string', default: '5' } } });
const totalBytes = Number(values.mib) * 2 ** 20;
const chunkBytes = Number(values['chunk-mib']) * 2 ** 20;
const rounds = Number(values.rounds);

const root = mkdtempSync(join(tmpdir(), 'edgelake-bench-cache-'));
try {
  // The "remote" folder of chunk files, and a cache folder warmed with the same chunks.
  const files = await FsChunkStore.open(join(root, 'files'));
  const cacheStore = await FsChunkStore.open(join(root, 'cache'));
  const cache = new ChunkCache(cacheStore, { budgetBytes: totalBytes * 2 });
  const hashes: string[] = [];
  let seed = 1;
  for (let written = 0; written < totalBytes; written += chunkBytes) {
    const bytes = new Uint8Array(chunkBytes);
    for (let i = 0; i < bytes.length; i += 4) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      bytes[i] = seed;
      bytes[i + 1] = seed >>> 8;
    }
    const hash = await sha256Hex(bytes);
    hashes.push(hash);
    await files.put(hash, bytes);
    await cache.get(hash, { fetch: async () => bytes });
  }
  const direct = async () => {
    for (const h of hashes) {
      const bytes = await readFile(join(root, 'files', 'chunks', h.slice(0, 2), h));
      if ((await sha256Hex(bytes)) !== h) throw new Error('corrupt');
    }
  };
  const cached = async () => {
    for (const h of hashes) await cache.get(h);
  };
  const time = async (f: () => Promise<void>) => {
    const t = performance.now();
    await f();
    return totalBytes / 2 ** 20 / ((performance.now() - t) / 1000);
  };
  await direct();
  await cached();
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < rounds; r++) {
    a.push(await time(direct));
    b.push(await time(cached));
  }
  const [directMiBs, cachedMiBs] = [median(a), median(b)];
  report('cache-read', 'Warm cache vs straight from disk (epoch read, every byte SHA-256 verified)', [
    { measure: 'straight from disk', value: directMiBs, unit: 'MiB/s' },
    { measure: 'warm cache (FsChunkStore + ChunkCache)', value: cachedMiBs, unit: 'MiB/s' },
    { measure: 'ratio cache / disk (target >= 0.8)', value: cachedMiBs / directMiBs, unit: '' },
  ], [`${hashes.length} chunks of ${values['chunk-mib']} MiB (${values.mib} MiB), median of ${rounds} alternating rounds, files in the page cache for both`]);
  await files.close();
  await cacheStore.close();
} finally {
  rmSync(root, { recursive: true, force: true });
}
