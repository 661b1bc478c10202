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

/** A remote that answers after `ms` and stops when the caller's signal aborts, as fetch() does; counts the fetches that ran to the end. */
function slowRemote(bytes: Uint8Array, ms = 20) {
  const r = {
    calls: 0,
    completed: 0,
    /** What one caller passes to get: its signal, and a fetch that honours it. */
    for: (signal: AbortSignal) => ({
      signal,
      fetch: () => new Promise<Uint8Array>((resolve, reject) => {
        r.calls++;
        if (signal.aborted) return reject(signal.reason);
        const t = setTimeout(() => (r.completed++, resolve(bytes.slice())), ms);
        signal.addEventListener('abort', () => (clearTimeout(t), reject(signal.reason)), { once: true });
      }),
    }),
  };
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

  it("one caller's abort fails that caller only: another waiting on the same chunk still gets it", async () => {
    const cache = new ChunkCache(new MemoryChunkStore(), { budgetBytes: 10_000 });
    const c = await chunk(6);
    const r = slowRemote(c.bytes);
    const [a, b] = [new AbortController(), new AbortController()];
    const first = cache.get(c.hash, r.for(a.signal));
    const second = cache.get(c.hash, r.for(b.signal));
    a.abort(new EdgelakeError('source', 'loader A stopped'));
    await expect(first).rejects.toThrow('loader A stopped');
    expect(await second).toEqual(c.bytes);
    expect(r.completed).toBe(1);
    expect(await cache.peek(c.hash)).toEqual(c.bytes);
  });

  it('when every caller waiting on a chunk aborts, no fetch of it runs on', async () => {
    const store = new MemoryChunkStore();
    const cache = new ChunkCache(store, { budgetBytes: 10_000 });
    const c = await chunk(7);
    const r = slowRemote(c.bytes);
    const [a, b] = [new AbortController(), new AbortController()];
    const first = cache.get(c.hash, r.for(a.signal));
    const second = cache.get(c.hash, r.for(b.signal));
    a.abort(new Error('a stopped'));
    await expect(first).rejects.toThrow('a stopped');
    b.abort(new Error('b stopped'));
    await expect(second).rejects.toThrow('b stopped');
    await new Promise((resolve) => setTimeout(resolve, 40)); // longer than a fetch takes
    expect(r.completed).toBe(0);
    expect(await store.has(c.hash)).toBe(false);
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

  it('a store that cannot write: the chunk is served but not stored, counted, and one warning says so; what was stored stays', async () => {
    const store = new MemoryChunkStore();
    const cache = new ChunkCache(store, { budgetBytes: 1000 });
    const warnings: string[] = [];
    cache.addEventListener('warning', (e) => warnings.push((e as CustomEvent<EdgelakeError>).detail.message));
    const [a, b, c] = [await chunk(61), await chunk(62), await chunk(63)];
    await cache.get(a.hash, remote(a.bytes));
    store.put = async (hash) => {
      throw new EdgelakeError('storage-full', `memory: no room for chunk ${hash}`);
    };
    expect(await cache.get(b.hash, remote(b.bytes))).toEqual(b.bytes);
    expect(await cache.get(c.hash, remote(c.bytes))).toEqual(c.bytes);
    expect(cache.stats).toMatchObject({ misses: 3, notStored: 2, writeFailures: 2 });
    expect(warnings).toEqual([expect.stringMatching(/no room for chunk .*; reading on without caching/)]);
    expect(await cache.get(a.hash)).toEqual(a.bytes);
  });

  it('a note the store cannot write is warned about, never an error', async () => {
    const store = new MemoryChunkStore();
    store.putNote = async (name) => {
      throw new EdgelakeError('storage-full', `memory: no room for note "${name}"`);
    };
    const cache = new ChunkCache(store, { budgetBytes: 1000 });
    const warnings: EdgelakeError[] = [];
    cache.addEventListener('warning', (e) => warnings.push((e as CustomEvent<EdgelakeError>).detail));
    await cache.putNote('refs:x', new Uint8Array([1]));
    expect(cache.stats.writeFailures).toBe(1);
    expect(warnings).toMatchObject([{ code: 'storage-full', message: expect.stringMatching(/no room for note "refs:x"/) }]);
  });

  it('concurrent misses, written behind or not, never hold more than the budget at any write', async () => {
    const store = new MemoryChunkStore();
    let most = 0;
    const put = store.put.bind(store);
    store.put = async (hash, bytes) => {
      await new Promise((r) => setTimeout(r, 1)); // a disk takes a while
      await put(hash, bytes);
      most = Math.max(most, (await store.usage()).bytes);
    };
    const cache = new ChunkCache(store, { budgetBytes: 300 });
    const chunks = await Promise.all(Array.from({ length: 12 }, (_, i) => chunk(80 + i)));
    const writes: Promise<void>[] = [];
    await Promise.all(chunks.map((c, i) => cache.get(c.hash, { ...remote(c.bytes), writeBehind: i % 2 ? (w) => writes.push(w) : undefined })));
    await Promise.all(writes);
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(300);
    expect((await store.usage()).bytes).toBeLessThanOrEqual(300);
  });

  it('counts each eviction once, though writes making room at once list the same victims', async () => {
    const store = new MemoryChunkStore();
    const full = new ChunkCache(store, { budgetBytes: 100_000 });
    for (const c of await Promise.all(Array.from({ length: 40 }, (_, i) => chunk(200 + i)))) await full.get(c.hash, remote(c.bytes));
    const remove = store.delete.bind(store);
    store.delete = async (hash) => (await new Promise((r) => setTimeout(r, 1)), remove(hash)); // a disk takes a while
    const small = new ChunkCache(store, { budgetBytes: 1000 });
    const fresh = await Promise.all(Array.from({ length: 4 }, (_, i) => chunk(300 + i)));
    await Promise.all(fresh.map((c) => small.get(c.hash, remote(c.bytes))));
    const evicted = 40 + 4 - small.stats.notStored - (await store.usage()).entries;
    expect(evicted).toBeGreaterThan(0);
    expect(small.stats).toMatchObject({ evictions: evicted, bytesEvicted: evicted * 100 });
  });

  it("the budget is the store's, not one cache's: a cache counts what another cache over the same store (another process) added since", async () => {
    const store = new MemoryChunkStore();
    const [one, two] = [new ChunkCache(store, { budgetBytes: 300 }), new ChunkCache(store, { budgetBytes: 300 })];
    const [a, b, c, d] = await Promise.all([1, 2, 3, 4].map((s) => chunk(90 + s)));
    await two.get(a.hash, remote(a.bytes));
    for (const x of [b, c]) await one.get(x.hash, remote(x.bytes));
    await two.get(d.hash, remote(d.bytes)); // the store is full: a, the least recently used, goes
    expect((await store.usage()).bytes).toBe(300);
    expect([await store.has(a.hash), await store.has(b.hash), await store.has(c.hash), await store.has(d.hash)]).toEqual([false, true, true, true]);
    expect(two.stats.evictions).toBe(1);
  });

  it('a chunk stored while another write was listing the store stays listed: the next pass finds it without a read', async () => {
    const store = new MemoryChunkStore();
    const list = store.entries.bind(store);
    let slowNext = false;
    store.entries = async () => {
      const snapshot = await list();
      if (slowNext) (slowNext = false), await new Promise((r) => setTimeout(r, 30)); // this listing reaches its writer late
      return snapshot;
    };
    const cache = new ChunkCache(store, { budgetBytes: 10_000 });
    const [a, b] = [await chunk(75), await chunk(76)];
    const writes: Promise<void>[] = [];
    const behind = { writeBehind: (w: Promise<void>) => void writes.push(w) };
    expect(await cache.listed(b.hash)).toBe(false); // the cache lists the store once, at first use
    slowNext = true;
    await cache.get(b.hash, { ...remote(b.bytes), ...behind }); // b's write lists the store (empty), then waits
    await cache.get(a.hash, { ...remote(a.bytes), ...behind }); // a is stored meanwhile
    await Promise.all(writes);
    expect([await cache.listed(a.hash), await cache.listed(b.hash)]).toEqual([true, true]);
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

  it('writeBehind decides a miss from the listing, without a read of the store; a write the store refuses leaves the chunk uncached', async () => {
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
    await write; // resolves: the chunk was served, it is just not cached
    expect(cache.stats).toMatchObject({ notStored: 1, writeFailures: 1 });
    expect(await store.has(c.hash)).toBe(false);
  });
});
