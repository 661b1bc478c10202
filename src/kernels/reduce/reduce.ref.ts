import { EdgelakeError } from '../../errors.js';

/** Invocations per workgroup of the sum kernel: part of the summation order sumRef replays. */
export const SUM_WORKGROUP = 256;
/** Values each invocation adds in sequence before the tree: one workgroup covers 4096. */
export const SUM_PER_THREAD = 16;
const CHUNK = SUM_WORKGROUP * SUM_PER_THREAD;

export interface SumArgs<B> {
  /** float32 values; the first `count` are summed. On the GPU: STORAGE, at least 4 bytes. */
  input: B;
  count: number;
  /** output[outputIndex] = sum, or output[outputIndex] += sum with `accumulate`. */
  output: B;
  /** 0 by default. */
  outputIndex?: number;
  /** Add to the value already there instead of overwriting it; false by default. */
  accumulate?: boolean;
}

/**
 * The order in which one workgroup of `width` invocations (a power of two) adds `count` values:
 * invocation t adds values t, t + width, t + 2 width... in sequence starting from 0, then a
 * halving tree adds the partial sums (partial[t] += partial[t + stride]). `at` must return
 * float32 values; every addition is rounded to float32, as on the GPU. Shared by the loss kernels.
 */
export function treeSum(count: number, at: (i: number) => number, width: number): number {
  const partial = new Float32Array(width); // each store rounds the double sum: a float32 addition
  for (let i = 0; i < count; i++) partial[i % width] += at(i);
  for (let stride = width >> 1; stride > 0; stride >>= 1) {
    for (let t = 0; t < stride; t++) partial[t] += partial[t + stride];
  }
  return partial[0];
}

/** The validated count and output slot; throws EdgelakeError 'invalid-input'. */
export function sumPlan(a: SumArgs<unknown>): { count: number; outputIndex: number; accumulate: boolean } {
  const { count, outputIndex = 0, accumulate = false } = a;
  if (!Number.isInteger(count) || count < 0) {
    throw new EdgelakeError('invalid-input', `sum: count must be a non-negative integer, got ${count}`);
  }
  if (!Number.isInteger(outputIndex) || outputIndex < 0) {
    throw new EdgelakeError('invalid-input', `sum: outputIndex must be a non-negative integer, got ${outputIndex}`);
  }
  return { count, outputIndex, accumulate };
}

/**
 * CPU reference of encodeSum, in its order: while more than 4096 values remain, workgroup g sums
 * values [4096 g, 4096 (g + 1)) with treeSum into partial g; the last level is one workgroup.
 * A count of 0 sums to 0.
 */
export function sumRef(a: SumArgs<Float32Array>): void {
  const { count, outputIndex, accumulate } = sumPlan(a);
  if (a.input.length < count) {
    throw new EdgelakeError('invalid-input', `sum: input holds ${a.input.length} values, count is ${count}`);
  }
  if (a.output.length <= outputIndex) {
    throw new EdgelakeError('invalid-input', `sum: output holds ${a.output.length} values, outputIndex is ${outputIndex}`);
  }
  let values = a.input.subarray(0, count);
  while (values.length > CHUNK) {
    const level = values;
    const partials = new Float32Array(Math.ceil(level.length / CHUNK));
    for (let g = 0; g < partials.length; g++) {
      const start = g * CHUNK;
      partials[g] = treeSum(Math.min(CHUNK, level.length - start), (i) => level[start + i], SUM_WORKGROUP);
    }
    values = partials;
  }
  const last = values;
  const sum = treeSum(last.length, (i) => last[i], SUM_WORKGROUP);
  a.output[outputIndex] = accumulate ? a.output[outputIndex] + sum : sum;
}
