import type { ColumnSumArgs, ReluBackwardArgs } from '../../kernels/dense/dense.ref.js';
import type { DropoutArgs, DropoutBackwardArgs } from '../../kernels/dropout/dropout.ref.js';
import type { SoftmaxArgs, SoftmaxCrossEntropyArgs } from '../../kernels/loss/loss.ref.js';
import type { MatmulArgs } from '../../kernels/matmul/matmul.ref.js';
import type { AdamArgs, SgdArgs } from '../../kernels/optimizer/optimizer.ref.js';
import type { Conv2dArgs, Conv2dBackwardInputArgs, Conv2dBackwardWeightArgs } from '../../kernels/conv/conv.ref.js';
import type { MaxPoolArgs, MaxPoolBackwardArgs } from '../../kernels/pool/pool.ref.js';
import type { SumArgs } from '../../kernels/reduce/reduce.ref.js';
import type { UncertaintyArgs } from '../../kernels/uncertainty/uncertainty.ref.js';

/**
 * Where a model's arithmetic runs. Models are written once against this interface; the GPU
 * backend records each op as a kernel dispatch, the CPU backend runs the kernel's CPU reference,
 * so both paths compute the same thing and a test can hold them side by side.
 */

/** A buffer of 32-bit elements (float32, or int32/uint32 for labels and pool indices) on a backend. */
export interface Tensor {
  readonly size: number;
  readonly label: string;
}

/** Every op a model uses, by name, with its arguments over buffers of type B. */
export interface Ops<B> {
  matmul: MatmulArgs<B>;
  reluBackward: ReluBackwardArgs<B>;
  columnSum: ColumnSumArgs<B>;
  conv2d: Conv2dArgs<B>;
  conv2dBackwardInput: Conv2dBackwardInputArgs<B>;
  conv2dBackwardWeight: Conv2dBackwardWeightArgs<B>;
  maxPool: MaxPoolArgs<B, B>;
  maxPoolBackward: MaxPoolBackwardArgs<B, B>;
  softmax: SoftmaxArgs<B>;
  softmaxCrossEntropy: SoftmaxCrossEntropyArgs<B, B>;
  sum: SumArgs<B>;
  dropout: DropoutArgs<B>;
  dropoutBackward: DropoutBackwardArgs<B>;
  sgd: SgdArgs<B>;
  adam: AdamArgs<B>;
  uncertainty: UncertaintyArgs<B>;
}
export type OpName = keyof Ops<unknown>;

export interface Backend {
  readonly kind: 'gpu' | 'cpu';
  /** The adapter's description, or 'cpu'. */
  readonly adapter: string;
  /** `size` zeroed elements, or a copy of `data`. */
  create(size: number, label: string, data?: Float32Array | Int32Array): Tensor;
  /**
   * A tensor over memory the caller owns (a loader batch: a GPUBuffer on the GPU path, a typed
   * array on the CPU path), not copied; `size` elements of it are used.
   */
  wrap(data: GPUBuffer | Float32Array | Int32Array, size: number, label: string): Tensor;
  write(t: Tensor, data: Float32Array | Int32Array): void;
  fill(t: Tensor, value: number): void;
  /** The first `size` (default all) elements as float32; waits for recorded work. */
  read(t: Tensor, size?: number): Promise<Float32Array>;
  destroy(t: Tensor): void;
  /** Copies `count` elements of `src` from `srcOffset` into `dst` at `dstOffset`, in order with the ops. */
  copy(src: Tensor, srcOffset: number, dst: Tensor, dstOffset: number, count: number): void;
  /** Records (GPU) or runs (CPU) one op. */
  run<K extends OpName>(op: K, args: Ops<Tensor>[K]): void;
  /** Submits what was recorded; the loader's batch buffers may be reused after this. */
  flush(): void;
  /** Resolves once submitted work is done (GPU); training waits on it every few steps so the queue stays short. */
  settle(): Promise<void>;
  close(): void;
}

/** `args` with every Tensor replaced by what `resolve` makes of it (the backend's own buffer). */
export function resolveTensors<A extends object>(args: A, resolve: (t: Tensor, key: string) => unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(args)) out[key] = isTensor(value) ? resolve(value, key) : value;
  return out;
}

function isTensor(value: unknown): value is Tensor {
  return typeof value === 'object' && value !== null && TENSOR in value;
}

/** Marks the tensor objects backends make, so resolveTensors tells them from plain args. */
export const TENSOR = Symbol('edgelake tensor');
