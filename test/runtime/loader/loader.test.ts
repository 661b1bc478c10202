import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileSource, openDataset } from '../../../src/node.js';
import { chunkStarts, chunksCovering, locateSample } from '../../../src/runtime/dataset/chunk-index.js';
import { EpochOrder, groupByChunk } from '../../../src/runtime/loader/order.js';
import { buildSubsetArgs, cli, SUBSET } from '../../support/cli.js';
import { failure } from '../../support/errors.js';
import { type Batch, ChunkCache, type DecodePool, Loader, type LoaderOptions, MemoryChunkStore, type Source, withConcurrency } from '../../../src/index.js';
import { parseIdx } from '../../../src/format/index.js';

const root = mkdtempSync(join(tmpdir(), 'edgelake-loader-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// The bundled subset as the loader must return it: images then labels, train (5000) then test (1000).
const idx = (file: string) => parseIdx(readFileSync(join(SUBSET, file)), file).data;
const images = Buffer.concat([idx('train-images-idx3-ubyte.gz'), idx('t10k-images-idx3-ubyte.gz')]);
const labels = Buffer.concat([idx('train-labels-idx1-ubyte.gz'), idx('t10k-labels-idx1-ubyte.gz')]);

async function collect(loader: Loader): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of loader) out.push(b);
  return out;
}
const idsOf = (batches: Batch[]) => batches.flatMap((b) => [...b.ids]);

describe('Loader over the bundled Fashion-MNIST subset', () => {
  let dir: string;
  let flat: string;
  beforeAll(async () => {
    dir = join(root, 'deflate');
    flat = join(root, 'flat');
    expect((await cli(...buildSubsetArgs(dir, '--chunk-kib', '32'))).code).toBe(0);
    expect((await cli(...buildSubsetArgs(flat, '--chunk-kib', '32', '--chunk-compression', 'none'))).code).toBe(0);
  });

  it('an epoch of the train split yields every sample exactly once, byte-identical to the IDX files', async () => {
    const ds = await openDataset(dir);
    const batches = await collect(new Loader(ds.view({ split: 'train' }), { batchSize: 64, tensors: ['image', 'label'], shuffle: { seed: 7, windowChunks: 3 } }));
    const ids = idsOf(batches);
    expect(ids).toHaveLength(5000);
    expect(new Set(ids).size).toBe(5000);
    expect(Math.max(...ids)).toBe(4999);
    for (const b of batches) {
      const img = b.tensors.image as Uint8Array;
      const lab = b.tensors.label as Int32Array;
      expect(img).toBeInstanceOf(Uint8Array);
      expect(lab).toBeInstanceOf(Int32Array);
      b.ids.forEach((id, k) => {
        expect(Buffer.compare(img.subarray(k * 784, (k + 1) * 784), images.subarray(id * 784, (id + 1) * 784))).toBe(0);
        expect(lab[k]).toBe(labels[id]);
      });
    }
    expect(batches.at(-1)!.ids.length).toBe(5000 % 64);
  });

  it('the same seed gives the same order; another seed or epoch a different one; no shuffle is dataset order', async () => {
    const view = (await openDataset(dir)).view({ split: 'train' });
    const order = async (o: object) => idsOf(await collect(new Loader(view, { batchSize: 100, tensors: ['label'], ...o })));
    const a = await order({ shuffle: { seed: 1 } });
    expect(await order({ shuffle: { seed: 1 } })).toEqual(a);
    expect(await order({ shuffle: { seed: 2 } })).not.toEqual(a);
    expect(await order({ shuffle: { seed: 1 }, epoch: 1 })).not.toEqual(a);
    expect(await order({})).toEqual(Array.from({ length: 5000 }, (_, i) => i));
  });

  it('keeps chunk locality: with windowChunks 1, each chunk\'s samples arrive together', async () => {
    const ds = await openDataset(dir);
    const ids = idsOf(await collect(new Loader(ds.view({ split: 'train' }), { batchSize: 50, tensors: ['image'], shuffle: { seed: 3, windowChunks: 1 } })));
    const starts = chunkStarts(ds.tensor('image'));
    const chunkOf = ids.map((id) => locateSample(starts, id).chunk);
    const switches = chunkOf.filter((c, i) => i > 0 && c !== chunkOf[i - 1]).length;
    expect(switches).toBe(chunksCovering(ds.tensor('image'), [[0, 5000]]).length - 1);
  });

  it('resume after an interruption at a random batch yields exactly the rest, in the same order', async () => {
    const ds = await openDataset(dir);
    const options = { batchSize: 32, tensors: ['image', 'label'], shuffle: { seed: 11, windowChunks: 2 } };
    const full = idsOf(await collect(new Loader(ds.view({ split: 'train' }), options)));
    const stopAt = 1 + Math.floor(Math.random() * 150);
    const first = new Loader(ds.view({ split: 'train' }), options);
    const seen: number[] = [];
    let n = 0;
    for await (const b of first) {
      seen.push(...b.ids);
      if (++n === stopAt) break;
    }
    const state = JSON.parse(JSON.stringify(first.state()));
    expect(state.position).toBe(stopAt * 32);
    const rest = idsOf(await collect(new Loader((await openDataset(dir)).view({ split: 'train' }), { batchSize: 32, tensors: ['image', 'label'], resume: state })));
    expect([...seen, ...rest], `stopped after batch ${stopAt}`).toEqual(full);
  });

  it('iterated again, a loader runs its epoch again in the same order; after a break, it goes on from state().position', async () => {
    const view = (await openDataset(dir)).view({ split: 'test' });
    const loader = new Loader(view, { batchSize: 100, tensors: ['label'], shuffle: { seed: 4 } });
    const epoch = idsOf(await collect(loader));
    expect(idsOf(await collect(loader))).toEqual(epoch);
    const seen: number[] = [];
    for await (const b of loader) {
      seen.push(...b.ids);
      break;
    }
    expect(loader.state().position).toBe(100);
    expect([...seen, ...idsOf(await collect(loader))]).toEqual(epoch);
    // A state saved at the end of the epoch has nothing left to yield.
    expect(await collect(new Loader(view, { batchSize: 100, tensors: ['label'], resume: loader.state() }))).toEqual([]);
  });

  it('forEpoch of a resumed loader gives the epochs the interrupted one would have, with its shuffle and chunk order', async () => {
    const view = (await openDataset(dir)).view({ split: 'test' });
    const original = new Loader(view, { batchSize: 100, tensors: ['image', 'label'], shuffle: { seed: 7 } });
    for await (const _ of original) break;
    // Only labels now: the order still follows the image chunks, as the state says.
    const resumed = new Loader(view, { batchSize: 100, tensors: ['label'], resume: original.state() });
    expect(idsOf(await collect(resumed.forEpoch(1)))).toEqual(idsOf(await collect(original.forEpoch(1))));
  });

  it('refuses options it would truncate or ignore, naming the option and value', async () => {
    const view = (await openDataset(dir)).view({ split: 'test' });
    const refusals: [Partial<LoaderOptions>, string][] = [
      [{ shuffle: { seed: 1.5 } }, 'shuffle.seed must be an integer in [0, 2^32), got 1.5'],
      [{ shuffle: { seed: 2 ** 32 + 1 } }, 'shuffle.seed must be an integer in [0, 2^32), got 4294967297'],
      [{ epoch: -1 }, 'epoch must be an integer in [0, 2^32), got -1'],
      [{ transform: { image: { scale: 1 / 255, seed: -1 } } }, 'transform.image.seed must be an integer in [0, 2^32), got -1'],
      [{ shuffle: { seed: 1, windowChunks: NaN } }, 'shuffle.windowChunks must be a positive integer or Infinity, got NaN'],
      [{ prefetchBytes: NaN }, 'prefetchBytes must be a number of bytes >= 0, got NaN'],
      [{ prefetchBytes: -1 }, 'prefetchBytes must be a number of bytes >= 0, got -1'],
      [{ workers: -1 }, 'workers must be a whole number >= 0, got -1'],
    ];
    for (const [options, message] of refusals) expect(failure(() => new Loader(view, { batchSize: 100, ...options }))).toBe(`invalid-input: ${message}`);
    expect(failure(() => new Loader(view, { batchSize: 100 }).forEpoch(1.5))).toBe('invalid-input: epoch must be an integer in [0, 2^32), got 1.5');
    // The limits: no reading ahead, no memory limit, one window of every chunk.
    for (const options of [{ prefetchBytes: 0 }, { prefetchBytes: Infinity }, { shuffle: { seed: 1, windowChunks: Infinity } }]) {
      expect(idsOf(await collect(new Loader(view, { batchSize: 100, tensors: ['label'], ...options }))).sort((a, b) => a - b)).toEqual([...view.ids]);
    }
  });

  it('refuses a state from another view or version, saying which', async () => {
    const ds = await openDataset(dir);
    const loader = new Loader(ds.view({ split: 'train' }), { batchSize: 10 });
    const state = loader.state();
    expect(() => new Loader(ds.view({ split: 'test' }), { batchSize: 10, resume: state })).toThrow(/cannot resume from a loader state for another view/);
    expect(() => new Loader(ds.view({ split: 'train' }), { batchSize: 10, resume: { ...state, version: 'f'.repeat(64) } })).toThrow(/for version ffffffffffff/);
  });

  it('decoding on 2 worker threads gives the same batches as on this thread', async () => {
    const view = (await openDataset(dir)).view({ split: 'test' });
    const options = { batchSize: 100, tensors: ['image', 'label'], shuffle: { seed: 5 } };
    const inline = await collect(new Loader(view, { ...options, workers: 0 }));
    const threaded = await collect(new Loader(view, { ...options, workers: 2 }));
    expect(threaded.map((b) => [b.ids, b.tensors.image, b.tensors.label])).toEqual(inline.map((b) => [b.ids, b.tensors.image, b.tensors.label]));
  });

  it('dropLast drops the short last batch; indices and filter views select samples', async () => {
    const ds = await openDataset(dir);
    expect(idsOf(await collect(new Loader(ds.view({ split: 'test' }), { batchSize: 300, dropLast: true, tensors: ['label'] })))).toHaveLength(900);
    const picked = await collect(new Loader(ds.view({ indices: [5999, 3, 42, 3] }), { batchSize: 10, tensors: ['label'] }));
    expect(idsOf(picked)).toEqual([3, 42, 5999]);
    const sandals = ds.view({ split: 'train', filter: (i) => labels[i] === 5 });
    expect(sandals.length).toBe(500);
  });

  it('view.get reads one sample by byte ranges where that is cheaper than the whole chunk', async () => {
    const ds = await openDataset(flat);
    const view = ds.view({ split: 'test' });
    const id = view.ids[123];
    const opened = ds.network.bytes; // refs and manifest
    const { image } = await view.get(123, ['image']);
    expect(Buffer.compare(image as Uint8Array, images.subarray(id * 784, (id + 1) * 784))).toBe(0);
    // The image chunk's header (12 + 8n + 4 bytes for n = 42 samples) and the 784-byte sample, not its 32 KiB.
    const { chunk } = locateSample(chunkStarts(ds.tensor('image')), id);
    expect(ds.network.bytes - opened).toBe(12 + 8 * ds.tensor('image').chunks[chunk].samples + 4 + 784);
    // Labels are 4 bytes: their chunk's header would outweigh the data, so the chunk is read whole.
    expect(((await view.get(123, ['label'])).label as Int32Array)[0]).toBe(labels[id]);
    const deflated = await (await openDataset(dir)).view({ split: 'test' }).get(123);
    expect(deflated.image).toEqual(image);
    expect((deflated.label as Int32Array)[0]).toBe(labels[id]);
  });

  it('reports stats, and a second epoch through a cache fetches nothing', async () => {
    const cache = new ChunkCache(new MemoryChunkStore(), { budgetBytes: 64 << 20 });
    const ds = await openDataset(dir, { cache });
    const first = new Loader(ds.view({ split: 'train' }), { batchSize: 256, tensors: ['image', 'label'] });
    let progress = 0;
    first.addEventListener('progress', () => progress++);
    await collect(first);
    const s1 = first.stats();
    expect(progress).toBe(Math.ceil(5000 / 256));
    expect(s1).toMatchObject({ samples: 5000, cacheHits: 0 });
    expect(s1.bytesFetched).toBeGreaterThan(1_000_000);
    expect(s1.timeToFirstBatchMs).toBeGreaterThan(0);
    const second = new Loader(ds.view({ split: 'train' }), { batchSize: 256, tensors: ['image', 'label'], epoch: 1, shuffle: { seed: 1 } });
    await collect(second);
    expect(second.stats()).toMatchObject({ samples: 5000, bytesFetched: 0, cacheMisses: 0, cacheHitRatio: 1 });
  });

  it('stores every chunk it fetched in the cache by the time the loop ends, on workers or on this thread', async () => {
    for (const workers of [0, 1]) {
      const cache = new ChunkCache(new MemoryChunkStore(), { budgetBytes: 64 << 20 });
      const ds = await openDataset(dir, { cache });
      await collect(new Loader(ds.view({ split: 'train' }), { batchSize: 256, tensors: ['image', 'label'], shuffle: { seed: 3 }, workers }));
      const needed = ['image', 'label'].flatMap((t) => chunksCovering(ds.tensor(t), [[0, 5000]]).map((c) => ds.tensor(t).chunks[c].hash));
      const stored = await Promise.all(needed.map((hash) => cache.peek(hash)));
      expect(stored.filter((bytes) => bytes === undefined), `workers: ${workers}`).toEqual([]);
    }
  });

  it('a store that fails its third put: the epoch completes, the chunks it could not store stream uncached, with a warning and a stat', async () => {
    class FullStore extends MemoryChunkStore {
      puts = 0;
      override async put(hash: string, bytes: Uint8Array): Promise<void> {
        if (++this.puts > 2) throw new Error('ENOSPC: no space left on device');
        return super.put(hash, bytes);
      }
    }
    const store = new FullStore();
    const cache = new ChunkCache(store, { budgetBytes: 64 << 20 });
    const warnings: string[] = [];
    cache.addEventListener('warning', (e) => warnings.push((e as CustomEvent<Error>).detail.message));
    const ds = await openDataset(dir, { cache });
    const loader = new Loader(ds.view({ split: 'train' }), { batchSize: 256, tensors: ['image'], shuffle: { seed: 3, windowChunks: 2 } });
    const batches = await collect(loader);
    expect(idsOf(batches).sort((a, b) => a - b)).toEqual(Array.from({ length: 5000 }, (_, i) => i));
    const { misses } = cache.stats; // the loader's chunks, and the version manifest that openDataset read: the first two puts
    expect(cache.stats).toMatchObject({ writeFailures: misses - 2, notStored: misses - 2 });
    expect(warnings).toEqual([expect.stringMatching(/ENOSPC: no space left on device; reading on without caching/)]);
    expect((await store.usage()).entries).toBe(2);
  });

  it('while a slow disk has more than a quarter of prefetchBytes still to write, reading waits for it', async () => {
    class SlowStore extends MemoryChunkStore {
      writing = 0;
      most = 0;
      override async put(hash: string, bytes: Uint8Array): Promise<void> {
        this.most = Math.max(this.most, (this.writing += bytes.length));
        await new Promise((r) => setTimeout(r, 10));
        await super.put(hash, bytes);
        this.writing -= bytes.length;
      }
    }
    const store = new SlowStore();
    const ds = await openDataset(dir, { cache: new ChunkCache(store, { budgetBytes: 64 << 20 }), concurrency: 2 });
    const image = ds.tensor('image');
    const prefetchBytes = 8 * image.chunks[0].samples * 784;
    await collect(new Loader(ds.view({ split: 'train' }), { batchSize: 256, tensors: ['image'], prefetchBytes }));
    const stored = await Promise.all(chunksCovering(image, [[0, 5000]]).map((c) => store.has(image.chunks[c].hash)));
    expect(stored.every(Boolean)).toBe(true);
    // A quarter of the budget, plus the chunks loading (within the budget; compressed, they are smaller stored),
    // where without waiting the backlog would grow to most of the split's 2.5 MB.
    expect(store.most).toBeLessThanOrEqual(prefetchBytes / 4 + prefetchBytes);
  });

  it('reads and decodes the first window on this thread, and goes on here a window ahead until the workers answer', async () => {
    const never = new Promise<never>(() => {});
    const shuffle = { seed: 9, windowChunks: 2 };
    const samplesBeforeStall = async (pool: DecodePool) => {
      const ds = await openDataset(dir);
      const order = new EpochOrder(groupByChunk(ds.view({ split: 'train' }).ids, chunkStarts(ds.tensor('image'))), shuffle, 0);
      const it = new Loader(ds.view({ split: 'train' }), { batchSize: 50, tensors: ['image', 'label'], shuffle, pool })[Symbol.asyncIterator]();
      let samples = 0;
      for (;;) {
        const next = await Promise.race([it.next(), new Promise<'stalled'>((r) => setTimeout(() => r('stalled'), 1500))]);
        if (next === 'stalled' || next.done) break;
        samples += next.value.ids.length;
      }
      void it.return(undefined);
      return { samples, firstWindow: order.windowStart(1) };
    };
    // Workers that never load: the whole epoch is read here.
    const silent = await samplesBeforeStall({ size: 1, decode: () => never, fetch: () => never, ready: () => never, close: async () => {} });
    expect(silent.samples).toBe(5000);
    // Workers that are ready but never finish a chunk: the first window still arrives whole (in batches of 50), then nothing.
    const busy = await samplesBeforeStall({ size: 1, decode: () => never, fetch: () => never, ready: async () => {}, close: async () => {} });
    expect(busy.samples).toBe(Math.floor(busy.firstWindow / 50) * 50);
  });

  it('prefetches ahead only as far as prefetchBytes allows, counting the chunks in use', async () => {
    const files = new FileSource(flat);
    const read = async (prefetchBytes: number) => {
      const chunks = new Set<string>();
      const counting: Source = { ...files, read: (path, options) => (chunks.add(path), files.read(path, options)), readRange: files.readRange.bind(files) };
      const ds = await openDataset(counting);
      const image = ds.tensor('image');
      const chunkBytes = image.chunks[0].samples * 784;
      const loader = new Loader(ds.view({ split: 'train' }), { batchSize: 8, tensors: ['image'], shuffle: { seed: 5, windowChunks: 2 }, prefetchBytes: prefetchBytes * chunkBytes });
      for await (const _ of loader) {
        await new Promise((r) => setTimeout(r, 200)); // time for every prefetch the budget allows
        break;
      }
      return [...chunks].filter((p) => image.chunks.some((c) => p.includes(c.hash))).length;
    };
    expect(await read(3)).toBe(3); // the window in use (2 chunks) and one chunk of the next
    expect(await read(7)).toBe(7);
  });

  it('breaking out of the loop aborts the reads still in flight and schedules no more', async () => {
    const files = new FileSource(dir);
    const served: string[] = [];
    // A slow link: every read takes 30 ms, and honours its abort signal.
    const slow: Source = {
      location: files.location,
      read: async (path, options) => {
        await new Promise((resolve, reject) => {
          const timer = setTimeout(resolve, 30);
          options?.signal?.addEventListener('abort', () => (clearTimeout(timer), reject(options.signal!.reason)), { once: true });
        });
        served.push(path);
        return files.read(path, options);
      },
      readRange: (path, offset, length, options) => files.read(path, options).then((b) => b.subarray(offset, offset + length)),
    };
    const ds = await openDataset(withConcurrency(slow, 2));
    const loader = new Loader(ds.view({ split: 'train' }), { batchSize: 64, tensors: ['image', 'label'] });
    for await (const _ of loader) break;
    const atBreak = served.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(served.length - atBreak).toBe(0);
    expect(atBreak).toBeLessThan(ds.tensor('image').chunks.length);
  });
});

