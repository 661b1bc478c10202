import { EdgelakeError } from '../../errors.js';

/** Max pooling over NCHW float32: square windows of `size`, no padding. */
export interface PoolShape {
  n: number;
  c: number;
  h: number;
  w: number;
  size: number;
  /** `size` unless given; smaller than size makes windows overlap. */
  stride?: number;
}

/**
 * output[n, c, oh, ow] = the window's maximum; argmax = the flat index into `input` of that
 * maximum (the first in row-major window order on ties), as u32, for the backward pass.
 */
export interface MaxPoolArgs<B, I> extends PoolShape {
  input: B;
  output: B;
  argmax: I;
}

/** gradInput = zeros, plus gradOutput[o] at argmax[o] for every output o (summed where windows overlap). */
export interface MaxPoolBackwardArgs<B, I> extends PoolShape {
  gradOutput: B;
  argmax: I;
  gradInput: B;
}

/** A validated PoolShape with its defaults filled in and the sizes. */
export interface PoolPlan extends Required<PoolShape> {
  oh: number;
  ow: number;
  inputSize: number;
  outputSize: number;
}

/** floor((h - size) / stride) + 1, and the same across. */
export function poolOutputSize(shape: PoolShape): { oh: number; ow: number } {
  const stride = shape.stride ?? shape.size;
  return { oh: Math.floor((shape.h - shape.size) / stride) + 1, ow: Math.floor((shape.w - shape.size) / stride) + 1 };
}

/** Validates `shape` (EdgelakeError 'invalid-input' naming `kernel`) and derives the sizes. */
export function poolPlan(shape: PoolShape, kernel = 'maxpool'): PoolPlan {
  const { n, c, h, w, size, stride = size } = shape;
  const fail = (why: string): never => {
    throw new EdgelakeError('invalid-input', `${kernel} [${n}, ${c}, ${h}, ${w}] size ${size} stride ${stride}: ${why}`);
  };
  for (const [name, value] of Object.entries({ n, c, h, w, size, stride })) {
    if (!Number.isInteger(value) || value < 1) fail(`${name} must be a positive integer, got ${value}`);
  }
  if (size > h || size > w) fail(`the ${size}x${size} window is larger than the ${h}x${w} input`);
  const { oh, ow } = poolOutputSize({ ...shape, stride });
  return { n, c, h, w, size, stride, oh, ow, inputSize: n * c * h * w, outputSize: n * c * oh * ow };
}

function checkLength(kernel: string, name: string, array: ArrayLike<number>, size: number): void {
  if (array.length < size) {
    throw new EdgelakeError('invalid-input', `${kernel}: ${name} holds ${array.length} values, the shape needs ${size}`);
  }
}

/** CPU reference of encodeMaxPool. */
export function maxPoolRef(a: MaxPoolArgs<Float32Array, Uint32Array>): void {
  const p = poolPlan(a, 'maxpool');
  checkLength('maxpool', 'input', a.input, p.inputSize);
  checkLength('maxpool', 'output', a.output, p.outputSize);
  checkLength('maxpool', 'argmax', a.argmax, p.outputSize);
  const { h, w, size, stride, oh, ow } = p;
  for (let plane = 0; plane < p.n * p.c; plane++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        let best = -Infinity;
        let at = -1;
        for (let ky = 0; ky < size; ky++) {
          for (let kx = 0; kx < size; kx++) {
            const i = (plane * h + oy * stride + ky) * w + ox * stride + kx;
            if (at < 0 || a.input[i] > best) [best, at] = [a.input[i], i]; // strict: ties keep the first
          }
        }
        const o = (plane * oh + oy) * ow + ox;
        a.output[o] = best;
        a.argmax[o] = at;
      }
    }
  }
}

/** CPU reference of encodeMaxPoolBackward; sums in float32 in output order, as the GPU does. */
export function maxPoolBackwardRef(a: MaxPoolBackwardArgs<Float32Array, Uint32Array>): void {
  const p = poolPlan(a, 'maxpool backward');
  checkLength('maxpool backward', 'gradOutput', a.gradOutput, p.outputSize);
  checkLength('maxpool backward', 'argmax', a.argmax, p.outputSize);
  checkLength('maxpool backward', 'gradInput', a.gradInput, p.inputSize);
  a.gradInput.fill(0, 0, p.inputSize);
  for (let o = 0; o < p.outputSize; o++) {
    const i = a.argmax[o];
    if (i >= p.inputSize) {
      throw new EdgelakeError('invalid-input', `maxpool backward: argmax[${o}] = ${i} is outside the ${p.inputSize}-value input`);
    }
    a.gradInput[i] += a.gradOutput[o];
  }
}
