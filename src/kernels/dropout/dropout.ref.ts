import { EdgelakeError } from '../../errors.js';
import { uniform24 } from '../random/random.js';

/**
 * Keys one dropout mask: element i is kept iff uniform24(seed, stream, step, i) >= rate, so the
 * backward pass (and the CPU reference) recompute the mask instead of storing it. Give each
 * dropout layer its own stream and each training step its own step. All three are u32.
 */
export interface DropoutKey {
  seed: number;
  stream: number;
  step: number;
}

/** output = keep ? input / (1 - rate) : 0 for `count` float32 elements; input may be output. */
export interface DropoutArgs<B> extends DropoutKey {
  input: B;
  output: B;
  count: number;
  /** The probability of zeroing an element, in [0, 1). */
  rate: number;
}

/** gradInput = keep ? gradOutput / (1 - rate) : 0, with the forward pass's key and rate. */
export interface DropoutBackwardArgs<B> extends DropoutKey {
  gradOutput: B;
  gradInput: B;
  count: number;
  rate: number;
}

/** What the shader reads, validated: `threshold` and `scale` exactly as the GPU gets them. */
export interface DropoutPlan {
  count: number;
  /** ceil(rate * 2^24) / 2^24, exact in float32: uniform24 >= rate iff uniform24 >= threshold. */
  threshold: number;
  /** float32(1 / (1 - rate)): a multiply, correctly rounded, where WGSL's divide may not be. */
  scale: number;
}

/** Checks the key, count and rate (`kernel` names the caller in errors). */
export function dropoutPlan(kernel: string, a: DropoutKey & { count: number; rate: number }): DropoutPlan {
  const fail = (why: string): never => {
    throw new EdgelakeError('invalid-input', `${kernel}: ${why}`);
  };
  for (const name of ['seed', 'stream', 'step'] as const) {
    const x = a[name];
    if (!Number.isInteger(x) || x < 0 || x >= 2 ** 32) fail(`${name} must be an integer in [0, 2^32), got ${x}`);
  }
  if (!Number.isInteger(a.count) || a.count < 0) fail(`count must be a non-negative integer, got ${a.count}`);
  if (!(a.rate >= 0 && a.rate < 1)) fail(`rate must be in [0, 1), got ${a.rate}`);
  // 1 - rate >= 2^-53 in float64, so the scale stays finite in float32.
  return { count: a.count, threshold: Math.ceil(a.rate * 2 ** 24) / 2 ** 24, scale: Math.fround(1 / (1 - a.rate)) };
}

/** CPU reference of the dropout kernel (dropout.wgsl.ts), bit for bit. */
export function dropoutRef(a: DropoutArgs<Float32Array>): void {
  apply('dropout', a, a.input, a.output);
}

/** CPU reference of the dropout backward kernel: the same mask and scale on the gradient. */
export function dropoutBackwardRef(a: DropoutBackwardArgs<Float32Array>): void {
  apply('dropoutBackward', a, a.gradOutput, a.gradInput);
}

function apply(kernel: string, a: DropoutKey & { count: number; rate: number }, from: Float32Array, to: Float32Array): void {
  const { count, threshold, scale } = dropoutPlan(kernel, a);
  if (from.length < count || to.length < count) {
    throw new EdgelakeError('invalid-input', `${kernel}: count ${count} exceeds the arrays (${from.length} and ${to.length} elements)`);
  }
  const { seed, stream, step } = a;
  for (let i = 0; i < count; i++) {
    // One float32 multiply, rounded once (the Float32Array store), as in the shader.
    to[i] = uniform24(seed, stream, step, i) >= threshold ? from[i] * scale : 0;
  }
}
