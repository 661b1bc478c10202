/**
 * One of three processes writing into one cache folder under a byte budget
 * (test/cache/budget-processes.test.ts). Each time one of its writes lands, it measures the bytes
 * on disk (chunk files and temp files) and keeps the largest measure:
 *
 *   stream <dataset> <cache dir> <budget> <seed>   one shuffled epoch through a Loader (writes behind the batches)
 *   fetch  <dataset> <cache dir> <budget> <seed>   every chunk, four reads at a time, as `edgelake fetch` does
 *
 * Prints a JSON summary: samples read, writes, the largest measure, the cache's stats.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ChunkCache, Loader, openVersion, withCache, type ChunkStore } from '../../src/index.js';
import { FileSource, FsChunkStore, openDataset } from '../../src/node.js';
import { chunkPath } from '../../src/format/index.js';

const [mode, datasetDir, cacheDir, budgetText, seedText] = process.argv.slice(2);

/** Sizes of the files in a folder (one level), by name; files that vanish while listed are left out. */
function sizes(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const name of readdirSync(dir)) {
    const s = statSync(join(dir, name), { throwIfNoEntry: false });
    if (s?.isFile()) out.set(name, s.size);
  }
  return out;
}

/**
 * Chunks plus temp files, as at one moment: the chunk listing is taken before and after the temp
 * listing and must agree, else a file moved or vanished meanwhile (it would count twice or not at
 * all) and the measure is taken again.
 */
function bytesOnDisk(): number {
  const chunks = () => {
    const all = new Map<string, number>();
    for (const shard of readdirSync(join(cacheDir, 'chunks'))) for (const [name, size] of sizes(join(cacheDir, 'chunks', shard))) all.set(name, size);
    return all;
  };
  for (;;) {
    const before = chunks();
    const temps = [...sizes(join(cacheDir, 'tmp')).values()].reduce((a, b) => a + b, 0);
    const after = chunks();
    if (before.size === after.size && [...before.keys()].every((k) => after.has(k))) return [...after.values()].reduce((a, b) => a + b, temps);
  }
}

/** The folder's store, measuring the disk after each of its writes lands. */
function measured(inner: ChunkStore) {
  const record = { writes: 0, most: 0 };
  const after = <T>(p: Promise<T>): Promise<T> => p.then((r) => (record.writes++, (record.most = Math.max(record.most, bytesOnDisk())), r));
  const store: ChunkStore = {
    location: inner.location,
    get: (h, o) => inner.get(h, o),
    put: (h, b) => after(inner.put(h, b)),
    putWithin: (h, b, room) => after(inner.putWithin(h, b, room)),
    has: (h) => inner.has(h),
    delete: (h) => inner.delete(h),
    entries: () => inner.entries(),
    usage: () => inner.usage(),
    getNote: (n) => inner.getNote(n),
    putNote: (n, b) => inner.putNote(n, b),
    close: () => inner.close(),
  };
  return { store, record };
}

const { store, record } = measured(await FsChunkStore.open(cacheDir));
const cache = new ChunkCache(store, { budgetBytes: Number(budgetText) });
let samples = 0;
if (mode === 'stream') {
  const ds = await openDataset(datasetDir, { cache });
  for await (const batch of new Loader(ds.view({}), { batchSize: 256, shuffle: { seed: Number(seedText), windowChunks: 2 } })) samples += batch.ids.length;
} else if (mode === 'fetch') {
  const version = await openVersion(withCache(new FileSource(datasetDir), cache));
  const queue = Object.values(version.manifest.tensors).flatMap((t) => t.chunks);
  await Promise.all(Array.from({ length: 4 }, async () => {
    for (let c = queue.shift(); c; c = queue.shift()) {
      await version.source.read(chunkPath(c.hash), { maxBytes: c.bytes });
      samples += c.samples;
    }
  }));
} else {
  throw new Error(`unknown mode ${mode}`);
}
await store.close();
console.log(JSON.stringify({ mode, samples, ...record, stats: cache.stats }));
