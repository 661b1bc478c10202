// A view that takes a few samples of each chunk: the loader decodes only those, and when they lie
// far apart in an uncompressed chunk it reads only their byte ranges (header, then the samples).
import { describe, expect, it } from 'vitest';
import { commitVersion, MemorySink, TensorWriter, type TensorSpec } from '../../../src/format/index.js';
import { ChunkCache, EdgelakeError, Loader, MemoryChunkStore, MemorySource, openDataset, type Source } from '../../../src/index.js';
import { sampleRanges, wantedInChunk } from '../../../src/runtime/loader/sparse.js';
import { encodePng } from '../../format/image/png-encoder.js';
import { serveFiles, startTestServer } from '../../source/test-server.js';

const KIB = 1024;

/** A dataset in memory of one tensor `x`, each sample a payload of `samples`, chunks of `chunkBytes`. */
async function dataset(spec: TensorSpec, samples: Uint8Array[], chunkBytes: number) {
  const sink = new MemorySink();
  const writer = new TensorWriter(sink, 'x', spec, chunkBytes);
  for (const s of samples) await writer.append(s);
  await commitVersion(sink, { length: samples.length, splits: {}, tensors: { x: await writer.finish() } }, { name: 'sparse', message: 'sparse views', created: '2026-01-01T00:00:00Z' });
  return sink.files;
}

/** 24 samples of 100 KiB of seeded bytes, 8 to an uncompressed chunk. */
const big = Array.from({ length: 24 }, (_, i) => Uint8Array.from({ length: 100 * KIB }, (_, j) => (i * 131 + j * 7 + (j >> 9)) & 255));
const bigSpec: TensorSpec = { htype: 'generic', dtype: 'uint8', shape: [null], sampleCompression: 'none', chunkCompression: 'none' };

async function epoch(loader: Loader): Promise<Map<number, Uint8Array>> {
  const got = new Map<number, Uint8Array>();
  for await (const b of loader) {
    const x = b.tensors.x as Uint8Array[] | Uint8Array;
    b.ids.forEach((id, k) => got.set(id, Array.isArray(x) ? x[k] : x.subarray(k * (x.length / b.ids.length), (k + 1) * (x.length / b.ids.length))));
  }
  return got;
}

describe('what a view needs of a chunk', () => {
  it('wantedInChunk: the chunk-local indices, or undefined when the view takes the whole chunk', () => {
    const ids = Uint32Array.of(1, 6, 8, 9, 10, 11, 12, 13, 14, 15, 23);
    expect([...wantedInChunk(ids, 0, 8)!]).toEqual([1, 6]);
    expect(wantedInChunk(ids, 8, 8)).toBeUndefined();
    expect([...wantedInChunk(ids, 16, 8)!]).toEqual([7]);
    expect([...wantedInChunk(ids, 24, 8)!]).toEqual([]);
  });

  it('sampleRanges merges samples closer than the gap into one read', () => {
    const header = { samples: 5, offsets: Uint32Array.of(0, 10, 20, 1000, 1010, 1020), crcs: new Uint32Array(5), payloadStart: 52 };
    expect(sampleRanges(header, Uint32Array.of(0, 1, 3), 100)).toEqual([{ from: 52, to: 72, samples: [0, 1] }, { from: 1052, to: 1062, samples: [3] }]);
    expect(sampleRanges(header, Uint32Array.of(0, 4), 2000)).toEqual([{ from: 52, to: 1072, samples: [0, 4] }]);
  });
});

describe('a loader over a sparse view', () => {
  it('reads only the wanted samples of uncompressed chunks, by ranges, and yields them whole', async () => {
    const ds = await openDataset(new MemorySource(await dataset(bigSpec, big, 800 * KIB)));
    const before = ds.network.bytes;
    const got = await epoch(new Loader(ds.view({ indices: [1, 6, 9, 23] }), { batchSize: 2 }));
    expect([...got.keys()].sort((a, b) => a - b)).toEqual([1, 6, 9, 23]);
    for (const [id, x] of got) expect(x).toEqual(big[id]);
    const fetched = ds.network.bytes - before;
    expect(fetched).toBeGreaterThanOrEqual(4 * 100 * KIB);
    expect(fetched).toBeLessThan(4 * 100 * KIB + 3 * 8 * 25); // the samples and three headers (8 bytes a sample), not 3 chunks of 800 KiB
  });

  it('over HTTP, asks for all the wanted samples of a chunk in one request (multipart/byteranges), and no bytes between them', async () => {
    const server = await startTestServer();
    try {
      const files = await dataset(bigSpec, big, 800 * KIB);
      const ids = [1, 6, 9, 14, 23]; // 400 KiB apart in chunks 0 and 1: two ranges each, a request each where a server serves one range a request
      for (const [severalRanges, requests] of [['parts', 3], ['first', 5 + 1]] as const) { // 'first': one range a request, learnt from one answer
        server.handler = serveFiles(files, { severalRanges });
        const ds = await openDataset(server.url);
        server.requests.length = 0;
        const before = ds.network.bytes;
        const got = await epoch(new Loader(ds.view({ indices: ids }), { batchSize: 2 }));
        for (const [id, x] of got) expect(x).toEqual(big[id]);
        expect(got.size).toBe(ids.length);
        const sampleReads = server.requests.filter((r) => r.path.startsWith('/chunks/') && Number(/^bytes=(\d+)/.exec(r.headers.range ?? '')?.[1]) > 0);
        expect(sampleReads).toHaveLength(requests);
        expect(ds.network.bytes - before).toBeLessThan(5 * 100 * KIB + 3 * 8 * 25 + 2 * 10 * KIB); // samples, headers and a refused part
      }
    } finally {
      await server.close();
    }
  });

  it('reads whole chunks when the view wants much of them, or when the dataset has a cache to keep them in', async () => {
    const files = await dataset(bigSpec, big, 800 * KIB);
    const dense = await openDataset(new MemorySource(files));
    const ids = Array.from({ length: 12 }, (_, i) => 2 * i); // every other sample: ranges would be most of each chunk
    const before = dense.network.bytes;
    expect((await epoch(new Loader(dense.view({ indices: ids }), { batchSize: 4 }))).size).toBe(12);
    expect(dense.network.bytes - before).toBeGreaterThanOrEqual(24 * 100 * KIB);

    // With a cache, each chunk once, whole; every later epoch reads none (ranges would be fetched every epoch).
    const cached = await openDataset(new MemorySource(files), { cache: new ChunkCache(new MemoryChunkStore(), { budgetBytes: 64 << 20 }) });
    const sparse = cached.view({ indices: [1, 6, 9, 23] });
    await epoch(new Loader(sparse, { batchSize: 2 }));
    const cold = cached.network.bytes;
    expect(cold).toBeGreaterThanOrEqual(24 * 100 * KIB);
    const got = await epoch(new Loader(sparse, { batchSize: 2 }));
    expect(cached.network.bytes).toBe(cold);
    for (const [id, x] of got) expect(x).toEqual(big[id]);
  });

  it('fetches a range damaged in transit again, by its crc32', async () => {
    const files = await dataset(bigSpec, big, 800 * KIB);
    const memory = new MemorySource(files);
    let damaged = 0;
    const flaky: Source = {
      location: memory.location,
      read: (path, options) => memory.read(path, options),
      async readRange(path, offset, length) {
        const bytes = await memory.readRange(path, offset, length);
        if (length === 100 * KIB && damaged++ === 0) bytes[500] ^= 1; // the first sample range
        return bytes;
      },
    };
    const ds = await openDataset('memory://sparse', { openTransport: () => flaky }); // a root string: the chain retries
    const got = await epoch(new Loader(ds.view({ indices: [1, 9] }), { batchSize: 2 }));
    for (const [id, x] of got) expect(x).toEqual(big[id]);
    expect(damaged).toBeGreaterThan(1);
    expect(ds.network.refetched).toBe(1);
  });

  it('decodes only the wanted images: a broken PNG the view skips costs nothing', async () => {
    const image = (v: number) => encodePng({ width: 4, height: 4, colorType: 2, bitDepth: 8, samples: new Uint16Array(48).fill(v) });
    const pngs = [image(10), image(20), Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 1, 2, 3), image(40)];
    const spec: TensorSpec = { htype: 'image', dtype: 'uint8', shape: [4, 4, 3], sampleCompression: 'png', chunkCompression: 'none' };
    const ds = await openDataset(new MemorySource(await dataset(spec, pngs, 1 << 20)));
    const got = await epoch(new Loader(ds.view({ indices: [0, 3] }), { batchSize: 2 }));
    expect([...got.get(3)!]).toEqual(Array(48).fill(40));
    const all = await epoch(new Loader(ds.view(), { batchSize: 4 })).then(() => undefined, (e: unknown) => e);
    expect(all).toBeInstanceOf(EdgelakeError);
    expect((all as EdgelakeError).message).toMatch(/tensor x, chunk 0: sample 2/);
  });
});
