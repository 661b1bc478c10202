import type { OpName, Ops } from './ops.js';

export type { OpName, Ops } from './ops.js';

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
