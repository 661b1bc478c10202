import { EdgelakeError } from '../errors.js';
import { encodeChunk } from '../format/chunk.js';
import { commitChild, commitVersion, type Committed } from '../format/builders/commit.js';
import { DEFAULT_LIMITS } from '../format/limits.js';
import { parseJson, validateRefs } from '../format/validate.js';
import { fitPca, MAX_PCA_PIXELS, project, quantizeInt8 } from '../format/builders/pca.js';
import { TensorWriter } from '../format/builders/tensor-writer.js';
import { chunkPath, REFS_PATH } from '../format/manifest.js';
import type { Sink } from '../format/sink.js';
import type { Dataset } from './dataset/dataset.js';
import { filesTensor } from './dataset/links.js';
import { Loader } from './loader/loader.js';

export interface ConvertOptions {
  /** The new dataset's name (default the source's). */
  name?: string;
  /** ISO 8601 time of the version (default now). */
  created?: string;
  /** Reports chunks copied so far. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Writes a dataset of any kind (WebDataset shards or Parquet read in place, another root) as a
 * native one into `sink`, its version as it is: every chunk (so every hash, and every cache
 * entry, stays the same), its tensors and splits. A linked tensor's files are copied into
 * chunks of their own (the files as they are, in the links' order): the copy links nothing.
 */
export async function convertToNative(dataset: Dataset, sink: Sink, options: ConvertOptions = {}): Promise<Committed> {
  await sink.checkSwap?.(); // a root whose ref cannot move safely is refused before any upload
  const jobs = Object.entries(dataset.tensors).flatMap(([name, t]) => t.chunks.map((ref, chunk) => ({ name, t, ref, chunk })));
  const tensors: Dataset['tensors'] = Object.fromEntries(Object.entries(dataset.tensors).map(([name, t]) => [name, t.linked ? { ...filesTensor(t), chunks: [] } : t]));
  let done = 0;
  const copy = async ({ name, t, ref, chunk }: (typeof jobs)[number]) => {
    if (t.linked) {
      const { stored, ref: copied } = await encodeChunk(await dataset.readLinked(name, chunk), 'none');
      await sink.write(chunkPath(copied.hash), stored);
      tensors[name].chunks[chunk] = copied;
    } else {
      await sink.write(chunkPath(ref.hash), await dataset.source.read(chunkPath(ref.hash), { maxBytes: ref.bytes }));
    }
    options.onProgress?.(++done, jobs.length);
  };
  for (let i = 0; i < jobs.length; i += 8) await Promise.all(jobs.slice(i, i + 8).map(copy));
  // A tensor's header index is a file of its own, shared as its chunks are.
  for (const t of Object.values(dataset.tensors)) {
    if (t.headers && !t.linked) await sink.write(chunkPath(t.headers.hash), await dataset.source.read(chunkPath(t.headers.hash), { maxBytes: t.headers.bytes }));
  }

  return commitVersion(sink, { length: dataset.length, splits: dataset.splits, tensors }, {
    name: options.name ?? dataset.name, message: `converted from ${dataset.name} (version ${dataset.version})`, created: options.created ?? new Date().toISOString(),
  });
}

/**
 * Adds the probe the active learner scores the pool with to a native dataset, as a new version
 * of `dataset` in `sink` (its root): an int8 PCA `embedding` of an image tensor's pixels, fitted
 * on the train split (or the first samples) as `edgelake build idx` fits it.
 */
export async function addEmbeddingProbe(dataset: Dataset, sink: Sink, options: { dims: number; from?: string; created?: string }): Promise<Committed> {
  await sink.checkSwap?.();
  const embedding = await embeddingOf(dataset, sink, options.dims, options.from);
  return commitChild(sink, dataset.version, { length: dataset.length, splits: dataset.splits, tensors: { ...dataset.tensors, embedding } }, {
    ref: await headOf(sink), message: `probe: a PCA of ${options.from ?? 'the images'} in ${options.dims} dimensions`, created: options.created ?? new Date().toISOString(),
  });
}

async function headOf(sink: Sink): Promise<string> {
  const bytes = await sink.read(REFS_PATH);
  if (!bytes) throw new EdgelakeError('not-found', `${REFS_PATH} does not exist: the root holds no dataset`);
  return validateRefs(parseJson(bytes, REFS_PATH, DEFAULT_LIMITS)).head;
}


/**
 * The image tensor a probe of `dims` dimensions is fitted on, and its pixels and channels an
 * image; refuses a probe that cannot be fitted, so a caller can ask before it copies anything.
 */
export function probeInput(dataset: Dataset, dims: number, from?: string): { name: string; pixels: number; channels: number } {
  const name = from ?? Object.keys(dataset.tensors).find((n) => dataset.tensors[n].htype === 'image');
  if (!name) throw new EdgelakeError('invalid-input', `dataset ${dataset.name} has no image tensor to fit a probe on (name one)`);
  const shape = dataset.tensor(name).shape;
  const values = shape.reduce<number>((a, d) => a * (d ?? NaN), 1);
  const channels = shape.length === 3 ? (shape[2] ?? 1) : 1;
  const pixels = values / channels;
  if (!Number.isInteger(pixels)) throw new EdgelakeError('invalid-input', `tensor ${name} has images of any size [${shape.map((d) => d ?? '?').join(', ')}]: a PCA probe needs images of one size; fit it on a fixed-size image tensor such as a thumbnail (--embedding-from TENSOR)`);
  if (pixels > MAX_PCA_PIXELS) throw new EdgelakeError('invalid-input', `tensor ${name} has ${pixels} pixels an image; a PCA probe takes at most ${MAX_PCA_PIXELS} (build idx or imagefolder's thumbnail probe suits large photos)`);
  if (!Number.isInteger(dims) || dims < 1 || dims > pixels) throw new EdgelakeError('invalid-input', `embedding dimensions must be an integer in [1, ${pixels}], got ${dims}`);
  return { name, pixels, channels };
}

async function embeddingOf(dataset: Dataset, sink: Sink, dims: number, from?: string) {
  const { name, pixels, channels } = probeInput(dataset, dims, from);
  // The probe is a PCA of the gray levels (the mean of the channels).
  const rows = new Uint8Array(dataset.length * pixels);
  for await (const b of new Loader(dataset.view(), { batchSize: 1024, tensors: [name] })) {
    const x = b.tensors[name] as Uint8Array;
    b.ids.forEach((id, i) => {
      for (let p = 0; p < pixels; p++) {
        let sum = 0;
        for (let c = 0; c < channels; c++) sum += x[(i * pixels + p) * channels + c];
        rows[id * pixels + p] = Math.round(sum / channels);
      }
    });
  }
  // Fitted on the train split when there is one, as build idx does: the test split stays unseen.
  const train = dataset.splits.train ? dataset.view({ split: 'train' }).ids.subarray(0, 10_000) : undefined;
  const fitRows = train ? new Uint8Array(train.length * pixels) : rows;
  train?.forEach((id, i) => fitRows.set(rows.subarray(id * pixels, (id + 1) * pixels), i * pixels));
  const pca = fitPca(fitRows, pixels, dims);
  const quant = quantizeInt8(project(pca, rows), dims);
  const writer = new TensorWriter(sink, 'embedding', {
    htype: 'embedding', dtype: 'int8', shape: [dims], quant: { scale: quant.scale, zeroPoint: new Array(dims).fill(0) }, sampleCompression: 'none', chunkCompression: 'none',
  }, 256 * 1024);
  const bytes = new Uint8Array(quant.q.buffer);
  for (let i = 0; i < bytes.length; i += dims) await writer.append(bytes.subarray(i, i + dims));
  return writer.finish();
}
