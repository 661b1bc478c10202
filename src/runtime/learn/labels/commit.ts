import { EdgelakeError } from '../../../errors.js';
import { commitChild, type Committed } from '../../../format/builders/commit.js';
import { storedHashes, writeChunk } from '../../../format/builders/chunk-writer.js';
import { deflate } from '../../../format/inflate.js';
import { DTYPE_BYTES, REFS_PATH, specOf, type TensorMeta, type TensorSpec } from '../../../format/manifest.js';
import type { Sink } from '../../../format/sink.js';
import { parseJson, validateRefs } from '../../../format/validate.js';
import { DEFAULT_LIMITS } from '../../../format/limits.js';
import { typedArrayFor } from '../../dataset/batch.js';
import { defaultRef } from '../../dataset/commit.js';
import type { Dataset } from '../../dataset/dataset.js';
import { Loader } from '../../loader/loader.js';

export interface CommitLabelsOptions {
  /** The dataset's root, writable, with compare-and-swap (FolderSink from edgelake/node over its folder). */
  sink: Sink;
  /** The label tensor to write (default 'label'); its mask is `<tensor>_mask` (uint8, 1 = labelled here). */
  tensor?: string;
  /** The ref to move (default the ref the dataset was opened at, else its head); it must still point at the version the dataset read. */
  ref?: string;
  message?: string;
  /** ISO 8601 time of the version (default now). */
  created?: string;
  /**
   * The version to commit onto when this writer committed since `dataset` was read (default the
   * version it read): one whose labels are the dataset's with some of these over them.
   */
  onto?: string;
}

/** Samples per chunk of a label tensor the parent lacks. */
const NEW_CHUNK_SAMPLES = 16384;

/**
 * Writes `labels` (sample id -> class) into a new version of `dataset`, child of the version it
 * read: the label tensor holds the parent's values with these labels over them (-1 where neither
 * has one), the mask marks every sample labelled so far (the parent's mask, if any, and these).
 * Chunks keep the parent's boundaries, so a chunk with no new label has the parent's bytes and
 * hash: it is shared, not written again, as is every other tensor. The ref moves by
 * compare-and-swap: if another writer moved it first, a 'conflict' error and nothing changes.
 */
export async function commitLabels(dataset: Dataset, labels: ReadonlyMap<number, number>, options: CommitLabelsOptions): Promise<Committed> {
  const tensor = options.tensor ?? 'label';
  const mask = `${tensor}_mask`;
  const { manifest } = dataset;
  const parent = manifest.tensors[tensor] as TensorMeta | undefined;
  if (parent && !(parent.shape.length === 0 && parent.dtype in DTYPE_BYTES && parent.dtype !== 'float16' && parent.dtype !== 'float32' && (parent.sampleCompression === 'none' || parent.sampleCompression === 'deflate'))) {
    throw new EdgelakeError('invalid-input', `dataset ${dataset.name}: tensor ${tensor} is ${parent.dtype} [${parent.shape.join(', ')}], not one integer class per sample`);
  }
  if (labels.size === 0) throw new EdgelakeError('invalid-input', `commit: no labels to commit to dataset ${dataset.name}`);
  const classes = parent?.classNames?.length;
  for (const [id, label] of labels) {
    if (!(Number.isInteger(id) && id >= 0 && id < manifest.length)) throw new EdgelakeError('invalid-input', `commit: sample ${id} is not in dataset ${dataset.name} (${manifest.length} samples)`);
    // A label the tensor's class names lack would make its whole chunk unreadable.
    if (classes !== undefined && !(Number.isInteger(label) && label >= 0 && label < classes)) throw new EdgelakeError('invalid-input', `commit: sample ${id}'s label ${label} is not one of tensor ${tensor}'s ${classes} classes (0 to ${classes - 1})`);
  }
  const spec: TensorSpec = parent
    ? specOf(parent)
    : { htype: 'class_label', dtype: 'int32', shape: [], sampleCompression: 'none', chunkCompression: 'deflate' };
  const bounds = parent ? parent.chunks.map((c) => c.samples) : chunkSizes(manifest.length, NEW_CHUNK_SAMPLES);

  const values = typedArrayFor(spec.dtype, new ArrayBuffer(manifest.length * DTYPE_BYTES[spec.dtype as keyof typeof DTYPE_BYTES]));
  const marked = new Uint8Array(manifest.length);
  if (parent) await readAll(dataset, tensor, (ids, v) => ids.forEach((id, i) => (values[id] = v[i])));
  else values.fill(-1);
  if (manifest.tensors[mask]) await readAll(dataset, mask, (ids, v) => ids.forEach((id, i) => (marked[id] = v[i])));
  for (const [id, label] of labels) {
    values[id] = label;
    marked[id] = 1;
    if (values[id] !== label) throw new EdgelakeError('invalid-input', `dataset ${dataset.name}: tensor ${tensor} is ${spec.dtype}, which cannot hold sample ${id}'s label ${label}`);
  }
  // Chunks the parent holds are there already: only the others are written, each once.
  const stored = storedHashes(manifest.tensors);
  const tensors = {
    ...manifest.tensors,
    [tensor]: await writeTensor(options.sink, spec, new Uint8Array(values.buffer), bounds, stored),
    [mask]: await writeTensor(options.sink, { htype: 'generic', dtype: 'uint8', shape: [], sampleCompression: 'none', chunkCompression: 'deflate' }, marked, bounds, stored),
  };
  const refsBytes = await options.sink.read(REFS_PATH);
  const ref = options.ref ?? (refsBytes ? defaultRef(validateRefs(parseJson(refsBytes, REFS_PATH, DEFAULT_LIMITS)), dataset) : 'main');
  return commitChild(options.sink, options.onto ?? dataset.version, { length: manifest.length, splits: manifest.splits, tensors }, {
    ref, message: options.message ?? `${labels.size} labels in ${tensor}`, created: options.created ?? new Date().toISOString(),
  });
}

function chunkSizes(length: number, per: number): number[] {
  return Array.from({ length: Math.max(1, Math.ceil(length / per)) }, (_, i) => Math.min(per, length - i * per));
}

async function readAll(dataset: Dataset, tensor: string, take: (ids: Uint32Array, values: ArrayLike<number>) => void): Promise<void> {
  for await (const b of new Loader(dataset.view(), { batchSize: 65536, tensors: [tensor] })) take(b.ids, b.tensors[tensor] as ArrayLike<number>);
}

/**
 * `bytes` as fixed-size samples in chunks of `bounds` samples; unchanged chunks come out with the
 * parent's hash. Chunks whose hash is in `stored` are not written; those written join it.
 */
async function writeTensor(sink: Sink, spec: TensorSpec, bytes: Uint8Array, bounds: number[], stored: Set<string>): Promise<TensorMeta> {
  const size = bytes.length / bounds.reduce((a, b) => a + b, 0);
  const chunks: TensorMeta['chunks'] = [];
  let at = 0;
  for (const samples of bounds) {
    const payloads = Array.from({ length: samples }, (_, i) => {
      const raw = bytes.subarray((at + i) * size, (at + i + 1) * size);
      return spec.sampleCompression === 'deflate' ? deflate(raw) : raw;
    });
    chunks.push(await writeChunk(sink, payloads, spec.chunkCompression, stored));
    at += samples;
  }
  return { ...spec, chunks };
}
