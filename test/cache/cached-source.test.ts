import { describe, expect, it } from 'vitest';
import { ChunkCache, EdgelakeError, MemoryChunkStore, MemorySource, openVersion, readChunk, type Source, withCache } from '../../src/index.js';
import { chunkPath, commitVersion, MemorySink, TensorWriter } from '../../src/format/index.js';

/** A dataset of 10 samples of 4 bytes in 3 uncompressed chunks, held in memory. */
async function dataset() {
  const sink = new MemorySink();
  const writer = new TensorWriter(sink, 'x', { htype: 'generic', dtype: 'uint8', shape: [4], sampleCompression: 'none', chunkCompression: 'none' }, 16);
  for (let i = 0; i < 10; i++) await writer.append(Uint8Array.of(i, i, i, i));
  await commitVersion(sink, { length: 10, splits: { train: [[0, 10]] }, tensors: { x: await writer.finish() } }, { name: 'ten', message: 'm', created: '2026-01-01T00:00:00Z' });
  return sink;
}

/** A source whose link can be cut; counts the reads that reach it. */
function cuttable(inner: Source) {
  const state = { down: false, reads: 0 };
  const guard = () => {
    state.reads++;
    if (state.down) throw new EdgelakeError('unreachable', `${inner.location}: network is down`);
  };
  const source: Source = {
    location: 'http://127.0.0.1:1/ten',
    read: async (p, o) => (guard(), inner.read(p, o)),
    readRange: async (p, off, len, o) => (guard(), inner.readRange(p, off, len, o)),
  };
  return { source, state };
}

describe('withCache', () => {
  it('a second pass reads nothing from the remote; offline the dataset still opens and reads', async () => {
    const { source, state } = cuttable(new MemorySource((await dataset()).files));
    const cache = new ChunkCache(new MemoryChunkStore(), { budgetBytes: 1 << 20 });
    const cached = withCache(source, cache);
    const v = await openVersion(cached);
    for (let c = 0; c < v.manifest.tensors.x.chunks.length; c++) await readChunk(v, 'x', c);
    const before = state.reads;
    for (let c = 0; c < v.manifest.tensors.x.chunks.length; c++) await readChunk(v, 'x', c);
    expect(state.reads).toBe(before);

    state.down = true;
    const offline = await openVersion(cached);
    expect(offline.versionId).toBe(v.versionId);
    const last = await readChunk(offline, 'x', 2);
    expect([...last.payload(last.header.samples - 1)]).toEqual([9, 9, 9, 9]);
  });

  it('offline, a chunk that is not cached fails saying so', async () => {
    const { source, state } = cuttable(new MemorySource((await dataset()).files));
    const cached = withCache(source, new ChunkCache(new MemoryChunkStore(), { budgetBytes: 1 << 20 }));
    const v = await openVersion(cached);
    state.down = true;
    await expect(readChunk(v, 'x', 0)).rejects.toMatchObject({ code: 'unreachable', message: expect.stringMatching(/chunks\/.* is not cached in memory and the remote is unreachable/) });
  });

  it('a dataset never opened online cannot open offline, and the error says why', async () => {
    const { source, state } = cuttable(new MemorySource((await dataset()).files));
    state.down = true;
    const cached = withCache(source, new ChunkCache(new MemoryChunkStore(), { budgetBytes: 1 << 20 }));
    await expect(openVersion(cached)).rejects.toMatchObject({ code: 'unreachable', message: expect.stringMatching(/edgelake\.json is not cached/) });
  });

  it('a store that cannot remember edgelake.json (a full disk) still opens the dataset and reads it, with a warning', async () => {
    const { source } = cuttable(new MemorySource((await dataset()).files));
    const store = new MemoryChunkStore();
    store.putNote = async (name) => {
      throw new EdgelakeError('storage-full', `memory: no room for note "${name}"`);
    };
    const cache = new ChunkCache(store, { budgetBytes: 1 << 20 });
    const warnings: string[] = [];
    cache.addEventListener('warning', (e) => warnings.push((e as CustomEvent<EdgelakeError>).detail.message));
    const v = await openVersion(withCache(source, cache));
    expect((await readChunk(v, 'x', 0)).header.samples).toBe(4);
    expect(warnings).toEqual([expect.stringMatching(/no room for note "refs:http:\/\/127\.0\.0\.1:1\/ten"/)]);
    expect(cache.stats.writeFailures).toBe(1);
  });

  it("a reader's abort fails its read only, even when its own remote (via) goes with it: another reader of the chunk gets it", async () => {
    const inner = new MemorySource((await dataset()).files);
    // The remote takes a while and honours abort signals; a read that brings its own remote uses it, as the dataset's chain does.
    const source: Source = {
      location: inner.location,
      read: (p, o) => o?.via ? o.via(p, o) : new Promise((resolve, reject) => {
        if (o?.signal?.aborted) return reject(o.signal.reason);
        const t = setTimeout(() => resolve(inner.read(p, o)), 20);
        o?.signal?.addEventListener('abort', () => (clearTimeout(t), reject(o.signal!.reason)), { once: true });
      }),
      readRange: (p, off, len) => inner.readRange(p, off, len),
    };
    const cached = withCache(source, new ChunkCache(new MemoryChunkStore(), { budgetBytes: 1 << 20 }));
    const v = await openVersion(cached);
    const path = chunkPath(v.manifest.tensors.x.chunks[0].hash);
    const [a, b] = [new AbortController(), new AbortController()];
    // A's remote is a decode pool that it closes when it stops (as a Loader does), failing what it was fetching.
    let closePool!: () => void;
    const pool = new Promise<never>((_, reject) => (closePool = () => reject(new Error('the decode pool was closed'))));
    pool.catch(() => {});
    const first = cached.read(path, { signal: a.signal, via: () => pool });
    const second = cached.read(path, { signal: b.signal });
    a.abort(new EdgelakeError('source', 'dataset ten: loader stopped'));
    closePool();
    await expect(first).rejects.toThrow('the decode pool was closed');
    expect(await second).toEqual(await inner.read(path));
  });

  it('serves range reads from a cached chunk, and passes them through otherwise', async () => {
    const { source, state } = cuttable(new MemorySource((await dataset()).files));
    const cached = withCache(source, new ChunkCache(new MemoryChunkStore(), { budgetBytes: 1 << 20 }));
    const v = await openVersion(cached);
    const path = chunkPath(v.manifest.tensors.x.chunks[0].hash);
    const remote = await cached.readRange(path, 0, 12);
    await cached.read(path);
    const reads = state.reads;
    expect(await cached.readRange(path, 0, 12)).toEqual(remote);
    expect(state.reads).toBe(reads);
  });
});
