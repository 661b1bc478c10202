import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { type StorageLike } from '../../src/cache/idb-store.js';
import { randomChunk, sameBytes } from './random-chunks.js';
import { ChunkCache, IdbChunkStore, type EdgelakeError } from '../../src/index.js';

const KB = 1000;
const QUOTA = 8 * KB;

/** An origin whose quota is QUOTA bytes, `others` of them used by something else (navigator.storage as the store sees it). */
async function openFull(name: string, others = 0) {
  let store: IdbChunkStore | undefined;
  const storage: StorageLike = { estimate: async () => ({ usage: others + (await store!.usage()).bytes, quota: QUOTA }) };
  store = await IdbChunkStore.open(name, { indexedDB: new IDBFactory(), storage });
  const cache = new ChunkCache(store, { budgetBytes: 100 * KB }); // a budget far above the quota, as the viewer's 2 GiB is
  const warnings: EdgelakeError[] = [];
  cache.addEventListener('warning', (e) => warnings.push((e as CustomEvent<EdgelakeError>).detail));
  return { store, cache, warnings };
}

/** A remote that counts its fetches. */
function remote(bytes: Uint8Array) {
  const r = { calls: 0, fetch: async () => (r.calls++, bytes.slice()) };
  return r;
}

describe('ChunkCache over IdbChunkStore when the quota is smaller than the budget', () => {
  it('evicts least recently used chunks to fit the quota: the latest chunks are hits, nothing is refetched', async () => {
    const { store, cache, warnings } = await openFull('full');
    const chunks = await Promise.all(Array.from({ length: 30 }, (_, i) => randomChunk(1, i, KB, KB)));
    for (const c of chunks) await cache.get(c.hash, remote(c.bytes));
    expect((await store.usage()).bytes).toBeLessThanOrEqual(QUOTA);

    const last = chunks.slice(-5);
    const remotes = last.map((c) => remote(c.bytes));
    for (const [i, c] of last.entries()) expect(sameBytes(await cache.get(c.hash, remotes[i]), c.bytes)).toBe(true);
    expect(remotes.map((r) => r.calls)).toEqual([0, 0, 0, 0, 0]);
    expect(cache.stats).toMatchObject({ hits: 5, misses: 30, notStored: 0, writeFailures: 0 });
    expect(warnings).toEqual([]);

    // LRU, and consistent: the store holds the latest chunks whole, and the cache's listing agrees with it.
    const held = await Promise.all(chunks.map((c) => store.has(c.hash)));
    expect(held.lastIndexOf(false)).toBeLessThan(held.indexOf(true));
    expect(held.filter(Boolean).length).toBeGreaterThanOrEqual(5);
    expect(await Promise.all(chunks.map((c) => cache.listed(c.hash)))).toEqual(held);
    expect(cache.stats.evictions).toBe(30 - held.filter(Boolean).length);
    expect(await cache.verify()).toMatchObject({ corrupt: 0, entries: held.filter(Boolean).length, bytes: (await store.usage()).bytes });
    await store.close();
  });

  it('a chunk larger than the quota leaves room for is served, not stored, with one warning naming it; what was stored stays', async () => {
    const { store, cache, warnings } = await openFull('too-big', 4 * KB);
    const small = await Promise.all([0, 1].map((i) => randomChunk(2, i, KB, KB)));
    for (const c of small) await cache.get(c.hash, remote(c.bytes));
    const big = await randomChunk(2, 9, 5 * KB, 5 * KB); // 4 KB used by others: at most 4 KB is ever ours
    expect(sameBytes(await cache.get(big.hash, remote(big.bytes)), big.bytes)).toBe(true);
    expect(warnings).toMatchObject([{ code: 'storage-full', message: expect.stringContaining(big.hash) }]);
    expect(cache.stats).toMatchObject({ notStored: 1, writeFailures: 1 });
    expect(await store.has(big.hash)).toBe(false);
    for (const c of small) expect(sameBytes(await store.get(c.hash), c.bytes)).toBe(true);
    await store.close();
  });
});
