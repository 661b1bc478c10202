import { EdgelakeError } from '../../errors.js';
import { commitChild, type Committed } from '../../format/builders/commit.js';
import { TensorWriter } from '../../format/builders/tensor-writer.js';
import { decodeChunk } from '../../format/chunk.js';
import { chunkPath, type TensorMeta } from '../../format/manifest.js';
import type { Sink } from '../../format/sink.js';
import { dict, fixedSampleBytes } from '../../format/validate.js';
import { chunkStarts, locateSample } from '../dataset/chunk-index.js';
import { filesTensor } from '../dataset/links.js';
import type { Dataset } from '../dataset/dataset.js';
import { checkNewBranch } from '../dataset/refs.js';

export interface MaterializeOptions {
  /** The new ref (a branch) the version is committed on, from the version queried (default 'materialized'). */
  ref?: string;
  /** Bytes per chunk before compression (default: the size of the tensor's first chunk). */
  chunkBytes?: number;
  message?: string;
  created?: string;
}

/**
 * Writes the samples `ids` (a query's answer, in its order) of `dataset` as a new version: every
 * tensor's sample payloads copied (images stay encoded, nothing is decoded to pixels), packed into
 * new chunks in that order, so a loader streams them whole and in sequence; a linked tensor's
 * files are copied in as its samples (the version links nothing). Splits follow the samples.
 * The version is a child of the one read, on a new branch `ref` made right at it by one swap (the
 * branch never names the parent, even if the write stops half way).
 */
export async function materialize(dataset: Dataset, ids: ArrayLike<number>, sink: Sink, options: MaterializeOptions = {}): Promise<Committed> {
  if (ids.length === 0) throw new EdgelakeError('invalid-input', 'materialize: the query selected no sample');
  // Checked before anything is written: an id outside the dataset would read outside a chunk (a header as a sample).
  for (let k = 0; k < ids.length; k++) {
    const id = ids[k];
    if (!(Number.isInteger(id) && id >= 0 && id < dataset.length)) throw new EdgelakeError('invalid-input', `materialize: sample ${id} (ids[${k}]) is not in dataset ${dataset.name} (${dataset.length} samples)`);
  }
  const ref = options.ref ?? 'materialized';
  await sink.checkSwap?.(); // a root whose ref cannot move safely is refused before any upload
  await checkNewBranch(sink, ref);
  // Null-prototype records: a tensor or split may be named __proto__.
  const tensors: Dataset['tensors'] = dict();
  for (const [name, t] of Object.entries(dataset.tensors)) {
    if (t.linked) {
      tensors[name] = await copyLinkedFiles(dataset, name, ids, sink, options.chunkBytes ?? 1 << 20);
      continue;
    }
    const { chunks: parentChunks } = t;
    // The parent's chunk size, as the writer counts it (before compression), unless told otherwise.
    const perSample = fixedSampleBytes(t);
    const parentSize = parentChunks[0] && (perSample !== undefined ? perSample * parentChunks[0].samples : parentChunks[0].bytes);
    const writer = new TensorWriter(sink, name, t, options.chunkBytes ?? Math.max(parentSize ?? 1 << 20, 64 * 1024));
    const starts = chunkStarts(t);
    let held: { chunk: number; payload: (i: number) => Uint8Array } | undefined;
    for (let k = 0; k < ids.length; k++) {
      const { chunk, index } = locateSample(starts, ids[k]);
      if (held?.chunk !== chunk) {
        const refd = t.chunks[chunk];
        const stored = await dataset.source.read(chunkPath(refd.hash), { maxBytes: refd.bytes });
        const decoded = await decodeChunk(stored, refd, t, dataset.limits, { dataset: dataset.name, version: dataset.version, tensor: name, chunk: String(chunk) }, { verified: true });
        held = { chunk, payload: (i) => decoded.payload(i) };
      }
      await writer.append(held.payload(index));
    }
    tensors[name] = await writer.finish();
  }
  // A split keeps the selected samples it had, at their new places.
  const splits: Dataset['splits'] = dict();
  for (const [name, ranges] of Object.entries(dataset.splits)) {
    const mine: [number, number][] = [];
    for (let k = 0; k < ids.length; k++) {
      if (!ranges.some(([a, b]) => ids[k] >= a && ids[k] < b)) continue;
      const last = mine.at(-1);
      if (last && last[1] === k) last[1]++;
      else mine.push([k, k + 1]);
    }
    if (mine.length) splits[name] = mine;
  }
  return commitChild(sink, dataset.version, { length: ids.length, splits, tensors }, {
    ref, newRef: true, message: options.message ?? `${ids.length} samples materialized`, created: options.created ?? new Date().toISOString(),
  });
}

/** Files a window of linked samples reads at once: links of one chunk go in one read. */
const LINKED_WINDOW = 64;

/** The files a linked tensor links for samples `ids`, copied in that order into chunks of about `chunkBytes`. */
async function copyLinkedFiles(dataset: Dataset, name: string, ids: ArrayLike<number>, sink: Sink, chunkBytes: number): Promise<TensorMeta> {
  const t = dataset.tensor(name);
  const writer = new TensorWriter(sink, name, filesTensor(t), chunkBytes);
  const starts = chunkStarts(t);
  for (let k = 0; k < ids.length; k += LINKED_WINDOW) {
    const window = Array.from({ length: Math.min(LINKED_WINDOW, ids.length - k) }, (_, j) => locateSample(starts, ids[k + j]));
    const byChunk = new Map<number, number[]>();
    for (const { chunk, index } of window) byChunk.set(chunk, [...(byChunk.get(chunk) ?? []), index]);
    const files = new Map<string, Uint8Array>();
    await Promise.all([...byChunk].map(async ([chunk, indices]) => {
      const read = await dataset.readLinked(name, chunk, { indices });
      indices.forEach((index, j) => files.set(`${chunk}/${index}`, read[j]));
    }));
    for (const { chunk, index } of window) await writer.append(files.get(`${chunk}/${index}`)!);
  }
  return writer.finish();
}
