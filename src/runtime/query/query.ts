import { EdgelakeError } from '../../errors.js';
import type { Dataset, View } from '../dataset/dataset.js';
import type { UncertaintyMeasure } from '../../kernels/uncertainty/uncertainty.ref.js';
import type { Dtype, TensorMeta } from '../../format/manifest.js';
import { Loader, type Batch } from '../loader/loader.js';
import { typedArrayFor } from '../dataset/batch.js';
import type { BatchTensor, TensorTransform } from '../loader/transform.js';
import { rowStatsFits, rowStatsOnDevice } from '../../kernels/reduce/row-stats.js';
import { decodeRef, halfToFloat } from '../../kernels/decode/decode.ref.js';
import { compile, isTextTensor, type Compiled, type Sample, type Value } from './evaluate.js';
import { parseQuery } from './parse.js';

export interface QueryAnswer {
  /** The matching samples, in the query's order (ORDER BY, LIMIT, OFFSET). */
  ids: Uint32Array;
  /** Those samples as a view, for a Loader, the active learner or `edgelake stream`. */
  view: View;
  query: string;
  /** The version the query ran on. */
  version: string;
  /** The tensors it read: only those its expressions name. */
  tensorsRead: string[];
  /** Bytes fetched from the dataset's remote to answer it (cache hits excluded). */
  bytesFetched: number;
}

export interface QueryOptions {
  /** Opens the dataset at another ref or version, for `from version '…'` / `from ref '…'`. */
  open?: (ref: string) => Promise<Dataset>;
  /**
   * A learner makes `uncertainty` a value queries can use (`order by uncertainty desc`): its
   * uncertainty of each sample's `input` tensor (default 'image', scaled to [0, 1] as the active
   * learner feeds it), by `measure` (default entropy). Its `spec.input`, when it has one, is
   * checked against the tensor's samples first.
   */
  learner?: { uncertainty(input: Float32Array, n: number, measure: UncertaintyMeasure): Promise<Float32Array>; readonly spec?: { input: number[] } };
  input?: string;
  /** Images fitted to inputSize x inputSize (their centre) before the learner scores them, as `edgelake train --input-size` tests them. */
  inputSize?: number;
  measure?: UncertaintyMeasure;
  /** Reductions of whole uint8 tensors (`mean(image) > 100`) run here, a batch of samples a dispatch; the rest on the CPU. */
  device?: GPUDevice | undefined;
}

/**
 * Runs a query (TQL-style, see parse.ts) on a dataset: `select * where label == 'Sandal'`. Only
 * the tensors its expressions name are read, chunk by chunk through the dataset's cache, and
 * evaluated sample by sample on the CPU; with a device, reductions of whole uint8 tensors are
 * computed there first, for a batch at once.
 */
export async function query(dataset: Dataset, text: string, options: QueryOptions = {}): Promise<QueryAnswer> {
  const q = parseQuery(text);
  let ds = dataset;
  if (q.from && !(q.from.kind === 'version' && q.from.name === dataset.version)) {
    if (!options.open) throw new EdgelakeError('invalid-input', `query: from ${q.from.kind} '${q.from.name}' needs the dataset opened there (openDataset(root, { ref: '${q.from.name}' }), or the open option)`);
    ds = await options.open(q.from.name);
  }
  const extra = new Set(options.learner && !Object.hasOwn(ds.tensors, 'uncertainty') ? ['uncertainty'] : []);
  const where = q.where && compile(q.where, ds.tensors, text, extra);
  const order = q.orderBy && compile(q.orderBy.expr, ds.tensors, text, extra, q.orderBy.at);
  const named = new Set([...(where?.tensors ?? []), ...(order?.tensors ?? [])]);
  // The learner's uncertainty is scored from the same batches the query reads: one pass over the data.
  const input = extra.has('uncertainty') && named.delete('uncertainty') ? options.input ?? 'image' : undefined;
  const tensors = [...new Set([...named, ...(input ? [input] : [])])];
  for (const name of tensors) {
    const t = ds.tensor(name);
    const described = `${t.dtype} [${t.shape.map((d) => d ?? '*').join(', ')}]`;
    if (t.dtype === 'bytes' && (!isTextTensor(t) || name === input)) throw new EdgelakeError('invalid-input', `query: tensor ${name} is ${described}, bytes; queries read numbers and text`);
    // A sample's own shape: a decoded image's, or the one extent of any size worked out from its size.
    const free = t.shape.filter((d) => d === null).length;
    const images = t.sampleCompression === 'jpeg' || t.sampleCompression === 'png';
    if (free > (images ? 3 : 1)) throw new EdgelakeError('invalid-input', `query: tensor ${name} is ${described}; queries read samples whose shape is fixed but for one extent`);
    if (free > 0 && name === input && options.inputSize === undefined) throw new EdgelakeError('invalid-input', `query: the learner's input ${name} is ${described}: it takes samples of one shape (fit images to NxN with inputSize, --input-size N)`);
  }
  const fed = input ? learnerInput(ds, input, named, options) : undefined;
  const before = ds.network.bytes;

  let ids: number[] = [];
  const keys = new Map<number, number>();
  const take = (id: number, sample: Sample) => {
    if (where && !where.test(sample)) return;
    ids.push(id);
    if (order) keys.set(id, order.key(sample));
  };
  if (tensors.length === 0) for (const id of ds.view().ids) take(id, {});
  else {
    const onDevice = options.device && deviceReductions([where, order], ds, options.device);
    const transform = fed?.transform ? { [input!]: fed.transform } : undefined;
    for await (const b of new Loader(ds.view(), { batchSize: 4096, tensors, transform })) {
      const scores = input ? await uncertaintyOf(b, input, ds.tensor(input).dtype, Boolean(transform), options, fed?.channelsFirst) : undefined;
      const reduced = onDevice ? await reduceOnDevice(options.device!, onDevice, b.tensors as Record<string, Uint8Array>, b.ids.length, ds) : [];
      const rows = [...named].map((name) => [name, rowValues(b, name, ds.tensor(name))] as const);
      b.ids.forEach((id, row) => {
        const sample: Sample = scores ? { uncertainty: scores[row] } : {};
        for (const [key, values] of reduced) sample[key] = values[row];
        for (const [name, valueAt] of rows) sample[name] = valueAt(row);
        take(id, sample);
      });
    }
  }
  if (order) {
    const sign = q.orderBy!.descending ? -1 : 1;
    // NaN (0 / 0, the mean of nothing) sorts last either way, as pandas puts it; ties go by id.
    const compare = (x: number, y: number) => (Number.isNaN(x) ? +!Number.isNaN(y) : Number.isNaN(y) ? -1 : sign * (x < y ? -1 : x > y ? 1 : 0));
    ids.sort((a, b) => compare(keys.get(a)!, keys.get(b)!) || a - b);
  }
  const offset = q.offset ?? 0;
  if (q.limit !== undefined) ids = ids.slice(offset, offset + q.limit);
  const out = Uint32Array.from(ids);
  return { ids: out, view: ds.view({ indices: out }), query: text, version: ds.version, tensorsRead: tensors, bytesFetched: ds.network.bytes - before };
}

/**
 * The whole-tensor reductions of the expressions that a device computes: those of uint8 tensors
 * of one shape whose sample fits a binding (not the learner's uncertainty, no tensor; nor float16, on the CPU).
 */
function deviceReductions(compiled: (Compiled | undefined)[], ds: Dataset, device: GPUDevice): Compiled['reductions'] | undefined {
  const found: Compiled['reductions'] = new Map();
  const fits = (tensor: string) => Object.hasOwn(ds.tensors, tensor) && ds.tensor(tensor).dtype === 'uint8' && ds.tensor(tensor).shape.every((d) => d !== null) && rowStatsFits(device, sizeOf(ds, tensor));
  for (const c of compiled) for (const [key, r] of c?.reductions ?? []) if (fits(r.tensor)) found.set(key, r);
  return found.size > 0 ? found : undefined;
}

/** Each reduction's value for every row of a batch: one rowStats dispatch per tensor. */
async function reduceOnDevice(device: GPUDevice, reductions: Compiled['reductions'], batch: Record<string, Uint8Array>, rows: number, ds: Dataset): Promise<[string, Float64Array][]> {
  const stats = new Map<string, Uint32Array>();
  for (const { tensor } of reductions.values()) {
    if (!stats.has(tensor)) stats.set(tensor, await rowStatsOnDevice(device, batch[tensor], rows, sizeOf(ds, tensor)));
  }
  return [...reductions].map(([key, { fn, tensor }]) => {
    const s = stats.get(tensor)!;
    const size = sizeOf(ds, tensor);
    const at = fn === 'min' ? 1 : fn === 'max' ? 2 : 0;
    return [key, Float64Array.from({ length: rows }, (_, r) => (fn === 'mean' ? s[3 * r] / size : s[3 * r + at]))];
  });
}

function sizeOf(ds: Dataset, tensor: string): number {
  return (ds.tensor(tensor).shape as number[]).reduce((a, d) => a * d, 1);
}

/**
 * How the learner's input reaches it, channels first for a convolutional model as train feeds
 * one: as stored, or fitted to inputSize x inputSize as train --input-size fits it (its centre,
 * scaled); and its
 * samples' size checked against the model's, which would otherwise read past them or score garbage.
 */
function learnerInput(ds: Dataset, input: string, named: Set<string>, options: QueryOptions): { transform?: TensorTransform; channelsFirst?: number[] } {
  const t = ds.tensor(input);
  const size = options.inputSize;
  const sample = size === undefined ? (t.shape as number[]) : [size, size, t.shape[2] ?? 3];
  const takes = options.learner!.spec?.input;
  const count = (shape: number[]) => shape.reduce((a, d) => a * d, 1);
  if (takes && count(takes) !== count(sample)) {
    const gives = `tensor ${input}'s samples are ${t.dtype} [${sample.join(', ')}]${size === undefined ? '' : ` (fitted to ${size}x${size})`}, ${count(sample)} values`;
    throw new EdgelakeError('invalid-input', `query: the model takes inputs of [${takes.join(', ')}], ${count(takes)} values a sample, and ${gives}: score the tensor it was trained on (input, --input TENSOR), or fit images to the size it was trained at (inputSize, --input-size N)`);
  }
  // Channels first for a convolutional model, as train feeds it; the expressions still read the tensor as stored.
  const [h, w, c] = t.shape as number[];
  if (size === undefined) return takes?.length === 3 && t.shape.length === 3 && c > 1 ? { channelsFirst: [h, w, c] } : {};
  // The fitted images exist only for the learner: the query's own expressions read the tensor as stored.
  if (named.has(input)) throw new EdgelakeError('invalid-input', `query: tensor ${input} is fitted to ${size}x${size} for the learner (inputSize, --input-size), and the query reads it too; query another tensor (a thumbnail) or leave the fit out`);
  const scale = t.dtype === 'uint8' && !t.quant ? 1 / 255 : 1;
  return { transform: { scale, toCHW: takes?.length === 3, fit: { size: [size, size], crop: 'center' } } };
}

/**
 * The learner's uncertainty of a batch's inputs, scaled to [0, 1] as the active learner feeds it
 * (a transform scaled fitted ones already), [H, W, C] samples made [C, H, W] where `channelsFirst` says.
 */
function uncertaintyOf(b: Batch, input: string, dtype: Dtype, fitted: boolean, options: QueryOptions, channelsFirst?: number[]): Promise<Float32Array> {
  const values = b.tensors[input];
  let x = fitted ? (values as Float32Array) : Float32Array.from(numbersOf(values, dtype), (v) => v / (dtype === 'uint8' ? 255 : 1));
  // The loader's CPU decode lays them out: its float32 identity, channels first.
  if (channelsFirst) x = decodeRef(new Uint8Array(x.buffer, x.byteOffset, x.byteLength), { samples: b.ids.length, shape: channelsFirst, dtype: 'float32', toCHW: true });
  return options.learner!.uncertainty(x, b.ids.length, options.measure ?? 'entropy');
}

const UTF8 = new TextDecoder();

type Column = ArrayLike<number> & { subarray(a: number, b: number): ArrayLike<number> };

/** A batch's values of a tensor as numbers: float16 arrives as its bits, read once a batch. */
function numbersOf(values: BatchTensor, dtype: Dtype): Column {
  const column = values as Column; // a typed array: rowValues passes a list of samples one by one
  return dtype === 'float16' ? Float32Array.from(column, halfToFloat) : column;
}

/**
 * Sample `row` of a batch's tensor as the evaluator takes it: a number, text, or an array with its
 * shape (the manifest's, a decoded image's own, or the one extent of any size worked out from
 * the sample's size). Samples of different sizes come as a list of their bytes.
 */
function rowValues(batch: Batch, name: string, meta: TensorMeta): (row: number) => Value {
  const values = batch.tensors[name];
  if (isTextTensor(meta)) return (row) => UTF8.decode((values as Uint8Array[])[row]);
  const decoded = batch.shapes?.[name];
  const known = meta.shape.reduce((a: number, d) => a * (d ?? 1), 1);
  const shapeOf = (row: number, elements: number): number[] =>
    decoded ? Array.from(decoded.subarray(3 * row, 3 * row + 3)) : meta.shape.map((d) => d ?? elements / known);
  if (Array.isArray(values)) {
    return (row) => {
      const data = numbersOf(typedArrayFor(meta.dtype, (values[row] as Uint8Array).slice().buffer), meta.dtype);
      return { data, shape: shapeOf(row, data.length) };
    };
  }
  const column = numbersOf(values, meta.dtype);
  const size = column.length / batch.ids.length; // samples of one size in this batch, stacked
  if (meta.shape.length === 0) return (row) => column[row];
  return (row) => ({ data: column.subarray(row * size, (row + 1) * size), shape: shapeOf(row, size) });
}

