import { EdgelakeError } from '../../errors.js';
import type { ChunkCompression, Manifest } from '../manifest.js';
import type { Sink } from '../sink.js';
import { commitVersion, type Committed } from './commit.js';
import { parseIdx, type IdxArray } from './idx.js';
import { fitPca, MAX_PCA_PIXELS, project, quantizeInt8 } from './pca.js';
import { TensorWriter } from './tensor-writer.js';

/** IDX files of one split, as bytes (gzipped or not); `name`s appear in errors. */
export interface IdxSplit {
  images: Uint8Array;
  labels: Uint8Array;
  imagesName?: string;
  labelsName?: string;
}

export interface BuildIdxOptions {
  train: IdxSplit;
  test?: IdxSplit;
  name?: string;
  classNames?: string[];
  /** Target chunk size before compression, in bytes (default 1 MiB). */
  chunkBytes?: number;
  chunkCompression?: ChunkCompression;
  /** Adds an int8 `embedding` tensor of this many PCA dimensions, fitted on the train split. */
  embeddingDims?: number;
  /** ISO 8601 time of the version; derive it from the inputs for reproducible version ids. */
  created: string;
  ref?: string;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Builds a dataset from MNIST-style IDX files: `image` (uint8 HWC), `label` (int32 class_label),
 * optionally `embedding` (int8 PCA probe), with `train` and `test` splits.
 */
export async function buildIdx(sink: Sink, options: BuildIdxOptions): Promise<Committed> {
  const splits = [['train', options.train], ...(options.test ? [['test', options.test]] : [])] as [string, IdxSplit][];
  const parsed = splits.map(([split, s]) => {
    const images = parseIdx(s.images, s.imagesName ?? `${split} images`);
    const labels = parseIdx(s.labels, s.labelsName ?? `${split} labels`);
    checkPair(images, labels, s.imagesName ?? `${split} images`, s.labelsName ?? `${split} labels`);
    return { split, images, labels };
  });
  await sink.checkSwap?.(); // a root whose ref cannot move safely is refused before any upload
  const [rows, cols] = parsed[0].images.dims.slice(1);
  for (const p of parsed) {
    if (p.images.dims[1] !== rows || p.images.dims[2] !== cols) {
      throw new EdgelakeError('invalid-input', `${p.split} images are ${p.images.dims.slice(1).join('x')}, train images ${rows}x${cols}`);
    }
  }
  const maxLabel = Math.max(...parsed.map((p) => p.labels.data.reduce((m, l) => Math.max(m, l), 0)));
  const classNames = options.classNames ?? Array.from({ length: maxLabel + 1 }, (_, i) => String(i));
  if (classNames.length <= maxLabel) {
    throw new EdgelakeError('invalid-input', `${classNames.length} class names given, but labels go up to ${maxLabel}`);
  }

  // Checked before any chunk is written: a refused probe must not leave the images behind.
  const dims = options.embeddingDims;
  if (dims && !(Number.isInteger(dims) && dims >= 1 && dims <= rows * cols)) {
    throw new EdgelakeError('invalid-input', `embedding dimensions must be an integer in [1, ${rows * cols}], got ${dims}`);
  }
  if (dims && rows * cols > MAX_PCA_PIXELS) {
    throw new EdgelakeError('invalid-input', `images of ${rows}x${cols} pixels are too large for a PCA probe (at most ${MAX_PCA_PIXELS} pixels); build without --embedding-dims`);
  }

  const chunkBytes = options.chunkBytes ?? 1 << 20;
  const chunkCompression = options.chunkCompression ?? 'deflate';
  const image = new TensorWriter(sink, 'image', {
    htype: 'image', dtype: 'uint8', shape: [rows, cols, 1], layout: 'HWC', sampleCompression: 'none', chunkCompression,
  }, chunkBytes);
  const label = new TensorWriter(sink, 'label', {
    htype: 'class_label', dtype: 'int32', shape: [], classNames, sampleCompression: 'none', chunkCompression,
  }, chunkBytes);

  const total = parsed.reduce((a, p) => a + p.labels.dims[0], 0);
  const pixels = rows * cols;
  const labelBytes = new Uint8Array(4);
  const labelView = new DataView(labelBytes.buffer);
  let done = 0;
  const ranges: Manifest['splits'] = {};
  for (const p of parsed) {
    const n = p.labels.dims[0];
    ranges[p.split] = [[done, done + n]];
    for (let i = 0; i < n; i++) {
      await image.append(p.images.data.subarray(i * pixels, (i + 1) * pixels));
      labelView.setInt32(0, p.labels.data[i], true);
      await label.append(labelBytes);
      if (++done % 5000 === 0) options.onProgress?.(done, total);
    }
  }
  const tensors: Manifest['tensors'] = { image: await image.finish(), label: await label.finish() };
  if (options.embeddingDims) tensors.embedding = await buildEmbedding(sink, parsed.map((p) => p.images.data), pixels, options.embeddingDims, chunkBytes);
  options.onProgress?.(total, total);

  return commitVersion(sink, { length: total, splits: ranges, tensors }, {
    name: options.name ?? 'dataset',
    ref: options.ref,
    message: `import ${options.name ?? 'dataset'} from IDX`,
    created: options.created,
  });
}

/** PCA fitted on the first (train) split, applied to all; int8 with one scale per dimension. */
async function buildEmbedding(sink: Sink, images: Uint8Array[], pixels: number, dims: number, chunkBytes: number) {
  const pca = fitPca(images[0], pixels, dims);
  const quant = quantizeInt8(concatProjections(images.map((rows) => project(pca, rows))), dims);
  const writer = new TensorWriter(sink, 'embedding', {
    htype: 'embedding', dtype: 'int8', shape: [dims],
    quant: { scale: quant.scale, zeroPoint: new Array(dims).fill(0) },
    sampleCompression: 'none', chunkCompression: 'none',
  }, chunkBytes);
  const bytes = new Uint8Array(quant.q.buffer);
  for (let i = 0; i < bytes.length; i += dims) await writer.append(bytes.subarray(i, i + dims));
  return writer.finish();
}

function concatProjections(parts: Float64Array[]): Float64Array {
  const out = new Float64Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function checkPair(images: IdxArray, labels: IdxArray, imagesName: string, labelsName: string): void {
  if (images.dims.length !== 3) throw new EdgelakeError('invalid-input', `${imagesName}: expected 3 dimensions (n, rows, cols), got ${images.dims.length}`);
  if (labels.dims.length !== 1) throw new EdgelakeError('invalid-input', `${labelsName}: expected 1 dimension (n), got ${labels.dims.length}`);
  if (images.dims[0] !== labels.dims[0]) {
    throw new EdgelakeError('invalid-input', `${imagesName} has ${images.dims[0]} images but ${labelsName} has ${labels.dims[0]} labels`);
  }
}
