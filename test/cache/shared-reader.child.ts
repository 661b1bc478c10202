/**
 * One of several processes sharing a cache folder (test/cache/shared-cache.test.ts): reads every
 * image and label of a dataset twice, in a seeded random chunk order, through a small-budget
 * cache, and checks each sample against the IDX files it was built from. Prints a JSON summary.
 */
import { readFileSync } from 'node:fs';
import { ChunkCache, openVersion, readChunk, withCache } from '../../src/index.js';
import { FileSource, FsChunkStore } from '../../src/node.js';
import { parseIdx } from '../../src/format/index.js';

const [datasetDir, cacheDir, budget, seedText, subsetDir] = process.argv.slice(2);
const images = ['train', 't10k'].map((p) => parseIdx(readFileSync(`${subsetDir}/${p}-images-idx3-ubyte.gz`), p).data);
const labels = ['train', 't10k'].map((p) => parseIdx(readFileSync(`${subsetDir}/${p}-labels-idx1-ubyte.gz`), p).data);
const expectedImages = Buffer.concat(images);
const expectedLabels = Buffer.concat(labels);

const store = await FsChunkStore.open(cacheDir);
const cache = new ChunkCache(store, { budgetBytes: Number(budget) });
const version = await openVersion(withCache(new FileSource(datasetDir), cache));
let seed = Number(seedText);
const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);

let samples = 0;
let mismatches = 0;
for (let pass = 0; pass < 2; pass++) {
  for (const tensor of ['image', 'label']) {
    const chunks = version.manifest.tensors[tensor].chunks;
    const starts = chunks.reduce((a, c) => [...a, a[a.length - 1] + c.samples], [0]);
    const order = chunks.map((_, i) => i).sort(() => random() - 0.5);
    for (const c of order) {
      const chunk = await readChunk(version, tensor, c);
      for (let i = 0; i < chunk.header.samples; i++) {
        const id = starts[c] + i;
        const p = chunk.payload(i);
        const ok = tensor === 'image'
          ? Buffer.compare(p, expectedImages.subarray(id * 784, (id + 1) * 784)) === 0
          : new DataView(p.buffer, p.byteOffset).getInt32(0, true) === expectedLabels[id];
        samples++;
        if (!ok) mismatches++;
      }
    }
  }
}
await store.close();
console.log(JSON.stringify({ samples, mismatches, ...cache.stats }));
