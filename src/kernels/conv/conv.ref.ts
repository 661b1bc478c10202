import { EdgelakeError } from '../../errors.js';

/** A 2-D convolution over NCHW float32 tensors; weights are [cOut, cIn, kh, kw]. */
export interface ConvShape {
  n: number;
  cIn: number;
  h: number;
  w: number;
  cOut: number;
  kh: number;
  kw: number;
  /** 1 unless given. */
  stride?: number;
  /** Zeros added on each side of the input, in both dimensions; 0 unless given. */
  pad?: number;
}

/** out = relu?(conv(input, weight) + bias); output [n, cOut, oh, ow]. */
export interface Conv2dArgs<B> extends ConvShape {
  input: B;
  weight: B;
  bias?: B;
  output: B;
  activation?: 'none' | 'relu';
}

/** gradInput = d(loss)/d(input) from gradOutput; overwrites gradInput. */
export interface Conv2dBackwardInputArgs<B> extends ConvShape {
  gradOutput: B;
  weight: B;
  gradInput: B;
}

/** gradWeight (+)= d(loss)/d(weight); gradBias[c] (+)= the sum of gradOutput over n, oh, ow. */
export interface Conv2dBackwardWeightArgs<B> extends ConvShape {
  input: B;
  gradOutput: B;
  gradWeight: B;
  gradBias?: B;
  /** Add to gradWeight and gradBias instead of overwriting them. */
  accumulate?: boolean;
}

/** A validated ConvShape with its defaults filled in and the output extent. */
export interface ConvPlan extends Required<ConvShape> {
  oh: number;
  ow: number;
  inputSize: number;
  weightSize: number;
  outputSize: number;
}

/** Validates `shape` (EdgelakeError 'invalid-input' naming `kernel`) and derives the sizes. */
export function convPlan(shape: ConvShape, kernel = 'conv2d'): ConvPlan {
  const { n, cIn, h, w, cOut, kh, kw, stride = 1, pad = 0 } = shape;
  const fail = (why: string): never => {
    throw new EdgelakeError('invalid-input', `${kernel} [${n}, ${cIn}, ${h}, ${w}] -> ${cOut} ${kh}x${kw}: ${why}`);
  };
  for (const [name, value] of Object.entries({ n, cIn, h, w, cOut, kh, kw, stride })) {
    if (!Number.isInteger(value) || value < 1) fail(`${name} must be a positive integer, got ${value}`);
  }
  if (!Number.isInteger(pad) || pad < 0) fail(`pad must be a non-negative integer, got ${pad}`);
  if (h + 2 * pad < kh || w + 2 * pad < kw) fail(`the ${kh}x${kw} kernel is larger than the padded ${h + 2 * pad}x${w + 2 * pad} input`);
  const { oh, ow } = convOutputSize({ ...shape, stride, pad });
  return {
    n, cIn, h, w, cOut, kh, kw, stride, pad, oh, ow,
    inputSize: n * cIn * h * w,
    weightSize: cOut * cIn * kh * kw,
    outputSize: n * cOut * oh * ow,
  };
}

/** floor((h + 2 pad - kh) / stride) + 1, and the same across. */
export function convOutputSize(shape: ConvShape): { oh: number; ow: number } {
  const stride = shape.stride ?? 1;
  const pad = shape.pad ?? 0;
  return {
    oh: Math.floor((shape.h + 2 * pad - shape.kh) / stride) + 1,
    ow: Math.floor((shape.w + 2 * pad - shape.kw) / stride) + 1,
  };
}

function checkLength(kernel: string, name: string, array: ArrayLike<number>, size: number): void {
  if (array.length < size) {
    throw new EdgelakeError('invalid-input', `${kernel}: ${name} holds ${array.length} values, the shape needs ${size}`);
  }
}

/**
 * Calls visit(inputIndex, weightIndex, outputIndex) for every product term of the convolution,
 * skipping the zero padding: the one loop nest the three references share.
 */
function forEachTerm(p: ConvPlan, visit: (i: number, wi: number, o: number) => void): void {
  const { n, cIn, h, w, cOut, kh, kw, stride, pad, oh, ow } = p;
  for (let b = 0; b < n; b++) {
    for (let co = 0; co < cOut; co++) {
      for (let oy = 0; oy < oh; oy++) {
        for (let ox = 0; ox < ow; ox++) {
          const o = ((b * cOut + co) * oh + oy) * ow + ox;
          for (let ci = 0; ci < cIn; ci++) {
            for (let ky = 0; ky < kh; ky++) {
              const iy = oy * stride - pad + ky;
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = ox * stride - pad + kx;
                if (ix < 0 || ix >= w) continue;
                visit(((b * cIn + ci) * h + iy) * w + ix, ((co * cIn + ci) * kh + ky) * kw + kx, o);
              }
            }
          }
        }
      }
    }
  }
}

/** CPU reference of encodeConv2d; sums in float64, rounded once per output. */
export function conv2dRef(a: Conv2dArgs<Float32Array>): void {
  const p = convPlan(a, 'conv2d');
  checkLength('conv2d', 'input', a.input, p.inputSize);
  checkLength('conv2d', 'weight', a.weight, p.weightSize);
  checkLength('conv2d', 'output', a.output, p.outputSize);
  if (a.bias) checkLength('conv2d', 'bias', a.bias, p.cOut);
  const sums = new Float64Array(p.outputSize);
  forEachTerm(p, (i, wi, o) => (sums[o] += a.input[i] * a.weight[wi]));
  const plane = p.oh * p.ow;
  for (let o = 0; o < sums.length; o++) {
    const v = sums[o] + (a.bias ? a.bias[Math.floor(o / plane) % p.cOut] : 0);
    a.output[o] = a.activation === 'relu' ? Math.max(v, 0) : v;
  }
}

/** CPU reference of encodeConv2dBackwardInput: overwrites gradInput. */
export function conv2dBackwardInputRef(a: Conv2dBackwardInputArgs<Float32Array>): void {
  const p = convPlan(a, 'conv2d backward input');
  checkLength('conv2d backward input', 'gradOutput', a.gradOutput, p.outputSize);
  checkLength('conv2d backward input', 'weight', a.weight, p.weightSize);
  checkLength('conv2d backward input', 'gradInput', a.gradInput, p.inputSize);
  const sums = new Float64Array(p.inputSize);
  forEachTerm(p, (i, wi, o) => (sums[i] += a.gradOutput[o] * a.weight[wi]));
  a.gradInput.set(sums);
}

/** CPU reference of encodeConv2dBackwardWeight. */
export function conv2dBackwardWeightRef(a: Conv2dBackwardWeightArgs<Float32Array>): void {
  const p = convPlan(a, 'conv2d backward weight');
  checkLength('conv2d backward weight', 'input', a.input, p.inputSize);
  checkLength('conv2d backward weight', 'gradOutput', a.gradOutput, p.outputSize);
  checkLength('conv2d backward weight', 'gradWeight', a.gradWeight, p.weightSize);
  if (a.gradBias) checkLength('conv2d backward weight', 'gradBias', a.gradBias, p.cOut);
  const sums = new Float64Array(p.weightSize);
  forEachTerm(p, (i, wi, o) => (sums[wi] += a.input[i] * a.gradOutput[o]));
  for (let e = 0; e < sums.length; e++) a.gradWeight[e] = (a.accumulate ? a.gradWeight[e] : 0) + sums[e];
  if (a.gradBias) {
    const plane = p.oh * p.ow;
    for (let co = 0; co < p.cOut; co++) {
      let sum = 0;
      for (let b = 0; b < p.n; b++) {
        for (let e = 0; e < plane; e++) sum += a.gradOutput[(b * p.cOut + co) * plane + e];
      }
      a.gradBias[co] = (a.accumulate ? a.gradBias[co] : 0) + sum;
    }
  }
}
