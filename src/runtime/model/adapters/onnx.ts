import { EdgelakeError } from '../../../errors.js';
import { halfToFloat } from '../../../kernels/decode/decode.ref.js';
import type { Batch } from '../../loader/loader.js';
import { batchTensorBytes } from '../../loader/transform.js';

// The little of ONNX Runtime Web (onnxruntime-web) the adapter calls, written out so that
// edgelake never imports it (an optional peer); the entry takes `ort` and the session as objects.
interface OrtTensor {
  readonly type?: string;
  readonly data: unknown;
  readonly dims: readonly number[];
  dispose?(): void;
}
interface OrtModule {
  Tensor: (new (type: 'float32', data: Float32Array, dims: number[]) => OrtTensor) & {
    fromGpuBuffer?(buffer: GPUBuffer, options: { dataType: 'float32'; dims: number[] }): OrtTensor;
  };
}
interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
}

export interface OnnxEmbedderOptions {
  /** One sample's input shape, as the model's input after the batch dimension (e.g. [1, 28, 28]). */
  shape: number[];
  /** Input and output names (default the session's first of each). */
  input?: string;
  output?: string;
}

/** A frozen ONNX model (a backbone) that turns batches of samples into embedding rows. */
export interface OnnxEmbedder {
  /** n x dims embeddings of n samples: float32 rows, or a GPU buffer when the session runs ORT's WebGPU provider on that buffer's device. */
  embed(x: Float32Array | GPUBuffer, n: number): Promise<{ dims: number; rows: Float32Array }>;
  /** The batches with their `input` tensor replaced by its embeddings (float32 rows), for a head's fit or evaluate. */
  embedBatches(source: AsyncIterable<Batch>, input?: string): AsyncGenerator<Batch>;
}

/**
 * An ONNX Runtime Web session as a frozen backbone: `ort` is the onnxruntime-web module, the
 * session made by ort.InferenceSession.create. On its WebGPU provider built on edgelake's device,
 * a loader's GPU batches go in with Tensor.fromGpuBuffer, without a copy; elsewhere (its wasm CPU
 * provider) the loader gives float32 rows. Train an edgelake head (`head()`) on the embeddings.
 */
export function onnxEmbedder(ortModule: object, ortSession: object, options: OnnxEmbedderOptions): OnnxEmbedder {
  const [ort, session] = [ortModule as OrtModule, ortSession as OrtSession];
  if (typeof ort.Tensor !== 'function') throw new EdgelakeError('invalid-input', "onnxEmbedder: the first argument must be the onnxruntime-web module (import * as ort from 'onnxruntime-web')");
  if (typeof session.run !== 'function' || !Array.isArray(session.inputNames)) throw new EdgelakeError('invalid-input', 'onnxEmbedder: the second argument must be an ort.InferenceSession');
  const input = options.input ?? session.inputNames[0];
  const output = options.output ?? session.outputNames[0];
  for (const [what, name, names] of [['input', input, session.inputNames], ['output', output, session.outputNames]] as const) {
    if (!names.includes(name)) throw new EdgelakeError('invalid-input', `onnxEmbedder: the model has no ${what} "${name}" (it has ${names.join(', ')})`);
  }
  const size = options.shape.reduce((a, b) => a * b, 1);
  if (!(Number.isInteger(size) && size > 0)) throw new EdgelakeError('invalid-input', `onnxEmbedder: shape must be positive integers, got [${options.shape.join(', ')}]`);

  const embedder: OnnxEmbedder = {
    async embed(x, n) {
      if (!(Number.isInteger(n) && n > 0)) throw new EdgelakeError('invalid-input', `onnxEmbedder: embed needs a positive whole number of samples, got ${n}`);
      const dims = [n, ...options.shape];
      let feed: OrtTensor;
      if (x instanceof Float32Array) {
        // More values than n samples take are other samples' (RGB into a gray model): read misaligned, silently.
        if (x.length !== n * size) throw new EdgelakeError('invalid-input', `onnxEmbedder: ${n} samples of [${options.shape.join(', ')}] need ${n * size} values, got ${x.length}`);
        feed = new ort.Tensor('float32', x, dims);
      } else {
        if (!ort.Tensor.fromGpuBuffer) throw new EdgelakeError('invalid-input', 'onnxEmbedder: this onnxruntime-web has no Tensor.fromGpuBuffer; give the loader no device');
        // A pooled buffer is larger than its values: what the loader's transform filled is what counts.
        const filled = batchTensorBytes(x);
        if (x.size < n * size * 4 || (filled !== undefined && filled !== n * size * 4)) {
          throw new EdgelakeError('invalid-input', `onnxEmbedder: ${n} samples of [${options.shape.join(', ')}] need ${n * size} values, got a GPU buffer of ${(filled ?? x.size) / 4}`);
        }
        feed = ort.Tensor.fromGpuBuffer(x, { dataType: 'float32', dims });
      }
      const result = await session.run({ [input]: feed });
      try {
        const out = result[output];
        // A classifier exported by skl2onnx lists its int64 labels first: they are no embedding.
        const type = out.type ?? (out.data instanceof Float32Array ? 'float32' : out.data?.constructor.name);
        if (type !== 'float32' && type !== 'float16' && type !== 'float64') {
          throw new EdgelakeError('invalid-input', `onnxEmbedder: output "${output}" is ${type}, not float rows; name the embedding output ({ output }, one of ${session.outputNames.join(', ')})`);
        }
        if (out.dims[0] !== n || out.dims.length < 2) {
          throw new EdgelakeError('invalid-input', `onnxEmbedder: output "${output}" has shape [${out.dims.join(', ')}], not one row for each of the ${n} samples ([${n}, ...])`);
        }
        const data = out.data as Float32Array | Float64Array | Uint16Array;
        const rows = type === 'float16' ? Float32Array.from(data, halfToFloat) : type === 'float32' ? (data as Float32Array).slice() : Float32Array.from(data);
        return { dims: rows.length / n, rows };
      } finally {
        for (const t of Object.values(result)) t.dispose?.();
      }
    },
    async *embedBatches(source, name = 'image') {
      for await (const batch of source) {
        const x = batch.tensors[name];
        if (!(x instanceof Float32Array) && (x === undefined || ArrayBuffer.isView(x) || Array.isArray(x))) {
          throw new EdgelakeError('invalid-input', `onnxEmbedder: tensor ${name} must be float32 rows or a GPU buffer (give the loader a transform), the batch has ${x === undefined ? 'no such tensor' : x.constructor.name}`);
        }
        const { rows } = await embedder.embed(x as Float32Array | GPUBuffer, batch.ids.length);
        yield { ids: batch.ids, tensors: { ...batch.tensors, [name]: rows } };
      }
    },
  };
  return embedder;
}
