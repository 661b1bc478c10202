import { describe, expect, it } from 'vitest';
import { ChunkCache, EdgelakeError, MemoryChunkStore } from '../../src/index.js';
import { sha256Hex } from '../../src/format/index.js';

/** A chunk of `size` bytes with its real SHA-256 name. */
async function chunk(seed: number, size = 100) {
  const bytes = Uint8Array.from({ length: size }, (_, i) => (i * 13 + seed * 7) & 255);
  return { hash: await sha256Hex(bytes), bytes };
}

/** A remote that counts its fetches. */
function remote(bytes: Uint8Array) {
  const r = { calls: 0, fetch: async () => (r.calls++, bytes.slice()) };
  return r;
}

describe('ChunkCache', () => {
  it('fetches a miss once, stores it, and serves it from the store afterwards', async () => {
    const cache = new ChunkCache(new MemoryChunkStore(), { budgetBytes: 10_000 });
    const c = await chunk(1);
    const r = remote(c.bytes);
    expect(await cache.get(c.hash, r)).toEqual(c.bytes);
    expect(await cache.get(c.hash, r)).toEqual(c.bytes);
    expect(r.calls).toBe(1);
    expect(cache.stats).toMatchObject({ hits: 1, misses: 1, bytesFetched: 100, bytesFromCache: 100 });
  });

  it('shares one fetch among concurrent gets of the same chunk', async () => {
    const cache = new ChunkCache(new MemoryChunkStore(), { budgetBytes: 10_000 });
    const c = await chunk(2);
    const r = remote(c.bytes);
    const all = await Promise.all(Array.from({ length: 10 }, () => cache.get(c.hash, r)));
    expect(r.calls).toBe(1);
    for (const b of all) expect(b).toEqual(c.bytes);
  });

  it('refuses fetched bytes that do not match the name, and stores nothing', async () => {
    const store = new MemoryChunkStore();
    const cache = new ChunkCache(store, { budgetBytes: 10_000 });
    const [a, b] = [await chunk(3), await chunk(4)];
    await expect(cache.get(a.hash, { fetch: async () => b.bytes, where: 'tensor image chunk 0' }))
      .rejects.toMatchObject({ code: 'integrity', message: expect.stringMatching(/tensor image chunk 0: fetched bytes do not match/) });
    expect(await store.has(a.hash)).toBe(false);
  });

  it('drops a damaged entry and fetches it again, never serving it', async () => {
    const store = new MemoryChunkStore();
    const cache = new ChunkCache(store, { budgetBytes: 10_000 });
    const c = await chunk(5);
    const damaged = c.bytes.slice();
    damaged[7] ^= 1;
    await store.put(c.hash, damaged);
    const r = remote(c.bytes);
    expect(await cache.get(c.hash, r)).toEqual(c.bytes);
    expect(r.calls).toBe(1);
    expect(cache.stats.damaged).toBe(1);
    expect(await store.get(c.hash)).toEqual(c.bytes);
  });

  it('evicts least recently used chunks to stay within the budget', async () => {
    const store = new MemoryChunkStore();
    const cache = new ChunkCache(store, { budgetBytes: 300 });
    const [a, b, c, d] = await Promise.all([1, 2, 3, 4].map((s) => chunk(10 + s)));
    for (const x of [a, b, c]) await cache.get(x.hash, remote(x.bytes));
    await cache.get(a.hash); // a is now more recent than b
    await cache.get(d.hash, remote(d.bytes)); // needs room: b goes
    expect(await store.has(b.hash)).toBe(false);
    expect([await store.has(a.hash), await store.has(c.hash), await store.has(d.hash)]).toEqual([true, true, true]);
    expect((await store.usage()).bytes).toBeLessThanOrEqual(300);
    expect(cache.stats).toMatchObject({ evictions: 1, bytesEvicted: 100 });
  });

  it('never evicts pinned chunks; with no room left it serves without storing instead of blocking', async () => {
    const store = new MemoryChunkStore();
    const cache = new ChunkCache(store, { budgetBytes: 200 });
    const [a, b, c] = await Promise.all([1, 2, 3].map((s) => chunk(20 + s)));
    const unpin = cache.pin([a.hash, b.hash]);
    await cache.get(a.hash, remote(a.bytes));
    await cache.get(b.hash, remote(b.bytes));
    expect(await cache.get(c.hash, remote(c.bytes))).toEqual(c.bytes);
    expect(await store.has(c.hash)).toBe(false);
    expect(cache.stats.notStored).toBe(1);
    unpin();
    await cache.get(c.hash, remote(c.bytes));
    expect(await store.has(c.hash)).toBe(true);
    expect((await store.usage()).bytes).toBeLessThanOrEqual(200);
  });

  it('a chunk larger than the whole budget is served but not stored', async () => {
    const cache = new ChunkCache(new MemoryChunkStore(), { budgetBytes: 50 });
    const c = await chunk(30, 100);
    expect(await cache.get(c.hash, remote(c.bytes))).toEqual(c.bytes);
    expect(cache.stats.notStored).toBe(1);
  });

  it('offline: cached chunks still serve; a missing one says it is not cached and the remote is unreachable', async () => {
    const cache = new ChunkCache(new MemoryChunkStore(), { budgetBytes: 10_000 });
    const [a, b] = [await chunk(40), await chunk(41)];
    await cache.get(a.hash, remote(a.bytes));
    const down = { fetch: async (): Promise<Uint8Array> => { throw new EdgelakeError('unreachable', 'http://127.0.0.1:9/x: connection refused'); } };
    expect(await cache.get(a.hash, down)).toEqual(a.bytes);
    await expect(cache.get(b.hash, { ...down, where: 'dataset d, tensor image, chunk 1' })).rejects.toMatchObject({
      code: 'unreachable',
      message: expect.stringMatching(/chunk 1 is not cached in memory and the remote is unreachable: .*connection refused/),
    });
  });

  it('verify rehashes every entry and removes the corrupt ones', async () => {
    const store = new MemoryChunkStore();
    const cache = new ChunkCache(store, { budgetBytes: 10_000 });
    const [a, b] = [await chunk(50), await chunk(51)];
    await cache.get(a.hash, remote(a.bytes));
    await store.put(b.hash, a.bytes); // wrong bytes under b's name
    expect(await cache.verify()).toEqual({ entries: 1, bytes: 100, corrupt: 1, removed: [b.hash] });
    expect(await store.has(b.hash)).toBe(false);
  });

  it('a full store is an error that says so, and everything stored before stays', async () => {
    const store = new MemoryChunkStore();
    const cache = new ChunkCache(store, { budgetBytes: 1000 });
    const [a, b] = [await chunk(61), await chunk(62)];
    await cache.get(a.hash, remote(a.bytes));
    store.put = async () => {
      throw new EdgelakeError('storage-full', `memory: no room for chunk ${b.hash}`);
    };
    await expect(cache.get(b.hash, remote(b.bytes))).rejects.toMatchObject({ code: 'storage-full', message: expect.stringMatching(/no room/) });
    expect(await cache.get(a.hash)).toEqual(a.bytes);
  });

  it('writeBehind: the bytes come back before they are stored, the write goes to the caller, and gets meanwhile share the bytes', async () => {
    const store = new MemoryChunkStore();
    let release!: () => void;
    const stalled = new Promise<void>((resolve) => (release = resolve));
    const put = store.put.bind(store);
    store.put = async (hash, bytes) => (await stalled, put(hash, bytes));
    const cache = new ChunkCache(store, { budgetBytes: 10_000 });
    const c = await chunk(71);
    const r = remote(c.bytes);
    const writes: [Promise<void>, number][] = [];
    expect(await cache.get(c.hash, { ...r, writeBehind: (write, bytes) => writes.push([write, bytes]) })).toEqual(c.bytes);
    expect(writes.map(([, bytes]) => bytes)).toEqual([100]);
    expect(await store.has(c.hash)).toBe(false); // still on its way
    expect(await cache.get(c.hash, r)).toEqual(c.bytes); // from memory, not fetched again
    expect(r.calls).toBe(1);
    release();
    await writes[0][0];
    expect(await store.get(c.hash)).toEqual(c.bytes);
    expect(cache.stats).toMatchObject({ misses: 1, hits: 1, bytesFetched: 100 });
  });

  it('writeBehind decides a miss from the listing, without a read of the store; a failed write rejects the handed-over promise', async () => {
    const store = new MemoryChunkStore();
    const cache = new ChunkCache(store, { budgetBytes: 10_000 });
    const c = await chunk(72);
    let reads = 0;
    const get = store.get.bind(store);
    store.get = (hash, options) => (reads++, get(hash, options));
    store.put = async () => {
      throw new EdgelakeError('storage-full', 'memory: no room');
    };
    let write: Promise<void> | undefined;
    expect(await cache.get(c.hash, { ...remote(c.bytes), writeBehind: (w) => (write = w) })).toEqual(c.bytes);
    expect(reads).toBe(0);
    await expect(write).rejects.toMatchObject({ code: 'storage-full' });
  });
});
