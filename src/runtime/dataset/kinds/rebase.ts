import { encodeChunk } from '../../../format/chunk.js';
import type { ChunkRef, Manifest, TensorMeta } from '../../../format/manifest.js';
import { splitsOfFiles } from '../../../format/webdataset/shards.js';

/** The parts of an index of files (shards, Parquet files) that `rebase` renumbers; C a chunk read from one file, V a value kept in the index. */
export interface IndexedFiles<C, V> {
  files: { name: string; samples: number }[];
  manifest: Manifest;
  chunks: Record<string, C | { values: V[] }>;
  /** The file (by position in `files`) a chunk's samples lie in, and the chunk moved to another position. */
  fileOf(chunk: C): number;
  withFile(chunk: C, file: number): C;
  /** The payloads of values kept in the index, as the kind stores them for `tensor`. */
  payloads(values: V[], tensor: TensorMeta): Uint8Array[];
}

/**
 * The index of the files `positions` (positions in `index.files`, in the order wanted) alone: sample
 * ids count from their first sample, file-bound chunks follow their file, and values kept in the
 * index (which run across files) are cut to the files' samples and chunked again.
 */
export async function rebase<C extends object, V>(index: IndexedFiles<C, V>, positions: number[]): Promise<{ manifest: Manifest; chunks: Record<string, C | { values: V[] }> }> {
  const starts: number[] = [];
  index.files.reduce((at, f) => (starts.push(at), at + f.samples), 0);
  const chunks: Record<string, C | { values: V[] }> = {};
  const tensors: Record<string, TensorMeta> = {};
  for (const [name, tensor] of Object.entries(index.manifest.tensors)) {
    const byFile: ChunkRef[][] = index.files.map(() => []);
    const values: V[] = [];
    let perChunk = 1;
    for (const ref of tensor.chunks) {
      const c = index.chunks[ref.hash];
      if ('values' in c) {
        for (const v of c.values) values.push(v); // a chunk of 65,536 labels is too many arguments to spread
        perChunk = Math.max(perChunk, c.values.length);
      } else byFile[index.fileOf(c)].push(ref);
    }
    const refs: ChunkRef[] = [];
    if (values.length) {
      const kept = positions.flatMap((f) => values.slice(starts[f], starts[f] + index.files[f].samples));
      for (let i = 0; i < kept.length; i += perChunk) {
        const part = kept.slice(i, i + perChunk);
        const { ref } = await encodeChunk(index.payloads(part, tensor), 'none');
        chunks[ref.hash] = { values: part };
        refs.push(ref);
      }
    } else {
      positions.forEach((f, k) => {
        for (const ref of byFile[f]) {
          chunks[ref.hash] = index.withFile(index.chunks[ref.hash] as C, k);
          refs.push(ref);
        }
      });
    }
    tensors[name] = { ...tensor, chunks: refs };
  }
  const files = positions.map((f) => index.files[f]);
  const length = files.reduce((a, f) => a + f.samples, 0);
  const message = index.manifest.message.replace(/\d+/, String(files.length)); // "WebDataset: 4 shards"
  return { manifest: { ...index.manifest, message, length, splits: splitsOfFiles(files), tensors }, chunks };
}
