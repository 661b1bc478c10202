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
import { Dataset } from '../../dataset/dataset.js';
import { readManifest } from '../../dataset/versions.js';
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
   * The version to commit onto (default the version `dataset` read): a newer one, this writer's
   * last commit or another writer's. Its labels and mask are the parent's, so none it holds is lost.
   */
  onto?: string;
  /**
   * Write these labels over different ones the parent's mask marks (another annotator's); without
   * it such a commit is a 'conflict' error naming the samples and both labels.
   */
  overwrite?: boolean;
  /**
   * Labels these samples had here before a person corrected them (sample -> earlier labels): a
   * parent holding one of them (this writer's last commit, say) takes the correction, not a conflict.
   */
  corrected?: ReadonlyMap<number, ReadonlySet<number>>;
}

/** Disagreeing samples named in a conflict error; the rest are counted. */
const CONFLICTS_SHOWN = 5;

/** Samples per chunk of a label tensor the parent lacks. */
const NEW_CHUNK_SAMPLES = 16384;

/**
 * Writes `labels` (sample id -> class) into a new version of `dataset`, child of the version it
 * read (or of `onto`): the label tensor holds the parent's values with these labels over them (-1
 * where neither has one), the mask marks every sample labelled so far (the parent's mask, if any,
 * and these). A label the parent's mask marks otherwise is a 'conflict' unless `overwrite`.
 * Chunks keep the parent's boundaries, so a chunk with no new label has the parent's bytes and
 * hash: it is shared, not written again, as is every other tensor. The ref moves by
 * compare-and-swap: if another writer moved it first, a 'conflict' error and nothing changes.
 */
export async function commitLabels(dataset: Dataset, labels: ReadonlyMap<number, number>, options: CommitLabelsOptions): Promise<Committed> {
  const tensor = options.tensor ?? 'label';
  const mask = `${tensor}_mask`;
  await options.sink.checkSwap?.(); // a root whose ref cannot move safely is refused before any upload
  // The parent's labels, mask and other tensors, read from it: a newer version holds labels the dataset lacks.
  const base = await parentOf(dataset, options.onto);
  const { manifest } = base;
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
  if (parent) await readAll(base, tensor, (ids, v) => ids.forEach((id, i) => (values[id] = v[i])));
  else values.fill(-1);
  if (manifest.tensors[mask]) await readAll(base, mask, (ids, v) => ids.forEach((id, i) => (marked[id] = v[i])));
  if (!options.overwrite) refuseDisagreement(base, labels, values, marked, options.corrected);
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
  return commitChild(options.sink, base.version, { length: manifest.length, splits: manifest.splits, tensors }, {
    ref, message: options.message ?? `${labels.size} labels in ${tensor}`, created: options.created ?? new Date().toISOString(),
  });
}

/** The version committed onto: `dataset`, or version `onto` of its root, read through the same source and cache. */
async function parentOf(dataset: Dataset, onto: string | undefined): Promise<Dataset> {
  if (onto === undefined || onto === dataset.version) return dataset;
  const manifest = await readManifest(dataset.source, onto, dataset.limits, `dataset ${dataset.name}: version ${onto} to commit onto`);
  return new Dataset(dataset.source, dataset.name, onto, manifest, dataset.limits, dataset.network, undefined, { cache: dataset.cache, createPool: dataset.createPool });
}

/** Two annotators who disagree: a label the parent's mask marks, different from ours and not one we corrected, is not written over unasked. */
function refuseDisagreement(base: Dataset, labels: ReadonlyMap<number, number>, values: ArrayLike<number>, marked: Uint8Array, corrected?: ReadonlyMap<number, ReadonlySet<number>>): void {
  const differ = [...labels].filter(([id, label]) => marked[id] === 1 && values[id] !== label && !corrected?.get(id)?.has(values[id]));
  if (differ.length === 0) return;
  const named = differ.slice(0, CONFLICTS_SHOWN).map(([id, label]) => `sample ${id}: ${values[id]} there, ${label} here`);
  if (differ.length > CONFLICTS_SHOWN) named.push(`and ${differ.length - CONFLICTS_SHOWN} more`);
  throw new EdgelakeError('conflict', `commit: ${differ.length} sample${differ.length === 1 ? ' is' : 's are'} labelled otherwise in version ${base.version} (${named.join('; ')}); commit with overwrite: true to write these labels over those`);
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
