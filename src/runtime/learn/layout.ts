import { fixedSampleBytes } from '../../format/validate.js';
import type { SampleLayout } from '../../sampler/cost.js';
import { chunkStarts, locateSample } from '../dataset/chunk-index.js';
import type { Dataset } from '../dataset/dataset.js';

/** The dataset's byte layout as the sampler's cost model reads it: chunks, range reads, the cache. */
export function datasetLayout(ds: Dataset): SampleLayout {
  const starts = new Map<string, number[]>();
  return {
    chunkOf(tensor, id) {
      const meta = ds.tensor(tensor);
      let s = starts.get(tensor);
      if (!s) starts.set(tensor, (s = chunkStarts(meta)));
      const { chunk } = locateSample(s, id);
      const ref = meta.chunks[chunk];
      return { index: chunk, hash: ref.hash, bytes: ref.bytes };
    },
    // A sample read alone by range costs its fixed size; a range read of a variable-size sample fetches the chunk.
    rangeBytes: (tensor, chunk) => (ds.preferRange(tensor, chunk) ? fixedSampleBytes(ds.tensor(tensor)) : undefined),
    cached: async (hash) => (await ds.cache?.store.has(hash)) ?? false,
  };
}
