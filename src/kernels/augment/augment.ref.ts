import { EdgelakeError } from '../../errors.js';
import { hash4 } from '../random/random.js';
import { augmentMix, augmentParams, NOISE_DRAW, PARAM_STRIDE, type AugmentMix } from './params.js';
import type { AugmentPlan } from './plan.js';

/**
 * CPU reference of the augment kernels (augment.wgsl.ts), statement for statement: every float
 * operation rounds to float32 once (Math.fround; a double product or sum of two float32 values
 * rounded to float32 is the correctly rounded float32 result), in the shader's order, so GPU and
 * CPU agree bit for bit wherever the GPU rounds + - * correctly.
 */
const f = Math.fround;

/** The mean pass's workgroup size: part of the summation order that meanGrayRef replays. */
export const MEAN_WORKGROUP = 64;
/** torchvision's rgb_to_grayscale weights, as float32. */
export const GRAY = Float32Array.of(0.2989, 0.587, 0.114);

export interface AugmentRefArgs {
  n: number;
  ids: Uint32Array;
  seed: number;
  epoch: number;
  /** The table from augmentParams(plan, ids, seed, epoch); computed when absent. */
  params?: Float32Array;
}

export function augmentRef(
  plan: AugmentPlan,
  input: Float32Array,
  args: AugmentRefArgs,
): { output: Float32Array; mix?: AugmentMix } {
  const { n, seed, epoch } = args;
  const [c, h, w] = plan.inputShape;
  const [, outH, outW] = plan.outputShape;
  if (!Number.isInteger(n) || n < 0 || args.ids.length < n) {
    throw new EdgelakeError('invalid-input', `augment: n must be an integer in 0..${args.ids.length} (ids), got ${n}`);
  }
  if (input.length < n * c * h * w) {
    const why = `input holds ${input.length} values, ${n} samples of ${c}x${h}x${w} need ${n * c * h * w}`;
    throw new EdgelakeError('invalid-input', `augment: ${why}`);
  }
  const ids = args.ids.subarray(0, n);
  const params = args.params ?? augmentParams(plan, ids, seed, epoch);
  const means = plan.stages.contrast ? meanGrayRef(input, n, c, h, w) : undefined;
  const { stages } = plan;
  const noiseScale = f((plan.noiseStd * Math.sqrt(3)) / 65536);
  const inPlane = h * w;
  const plane = outH * outW;
  const channel = (v: number[], fn: (x: number) => number) => v.map(fn);

  const tap = (s: number, x: number, y: number) => {
    const at = s * c * inPlane + y * w + x;
    return c === 3 ? [input[at], input[at + inPlane], input[at + 2 * inPlane]] : [input[at]];
  };
  const lerp = (a: number[], b: number[], t: number) => a.map((x, k) => f(x + f(f(b[k] - x) * t)));
  const gray = (v: number[]) => f(f(f(v[0] * GRAY[0]) + f(v[1] * GRAY[1])) + f(v[2] * GRAY[2]));

  const resample = (s: number, p: number, X: number, Y: number): number[] => {
    const sx = f(f(f(params[p] * X) + f(params[p + 1] * Y)) + params[p + 2]);
    const sy = f(f(f(params[p + 3] * X) + f(params[p + 4] * Y)) + params[p + 5]);
    if (!(sx >= 0 && sx <= w && sy >= 0 && sy <= h)) return new Array<number>(c).fill(plan.fill);
    const u = f(sx - 0.5);
    const v = f(sy - 0.5);
    const [fu, fv] = [Math.floor(u), Math.floor(v)];
    const clampTo = (x: number, hi: number) => Math.min(Math.max(x, 0), hi);
    const [x0, x1] = [clampTo(fu, w - 1), clampTo(fu + 1, w - 1)];
    const [y0, y1] = [clampTo(fv, h - 1), clampTo(fv + 1, h - 1)];
    const top = lerp(tap(s, x0, y0), tap(s, x1, y0), f(u - fu));
    const bottom = lerp(tap(s, x0, y1), tap(s, x1, y1), f(u - fu));
    return lerp(top, bottom, f(v - fv));
  };

  const noise = (s: number, value: number) => {
    const h0 = hash4(seed, epoch, ids[s], (NOISE_DRAW + 2 * value) >>> 0);
    const h1 = hash4(seed, epoch, ids[s], (NOISE_DRAW + 2 * value + 1) >>> 0);
    const sum = (h0 >>> 16) + (h0 & 0xffff) + (h1 >>> 16) + (h1 & 0xffff);
    return f((sum - 131070) * noiseScale);
  };

  const augment = (s: number, x: number, y: number): number[] => {
    const p = s * PARAM_STRIDE;
    let v = resample(s, p, x + 0.5, y + 0.5);
    let pivot = means ? means[s] : 0;
    if (stages.brightness) {
      v = channel(v, (a) => f(a * params[p + 6]));
      pivot = f(pivot * params[p + 6]);
    }
    if (stages.contrast) v = channel(v, (a) => f(f(f(a - pivot) * params[p + 7]) + pivot));
    if (stages.saturation) {
      const level = gray(v);
      v = channel(v, (a) => f(level + f(f(a - level) * params[p + 8])));
    }
    if (stages.noise) v = v.map((a, k) => f(a + noise(s, (k * outH + y) * outW + x)));
    if (stages.cutout) {
      const inBox = x >= params[p + 9] && y >= params[p + 10] && x < params[p + 11] && y < params[p + 12];
      if (inBox) v = new Array<number>(c).fill(plan.cutoutValue);
    }
    return v;
  };

  const output = new Float32Array(n * c * plane);
  for (let s = 0; s < n; s++) {
    const p = s * PARAM_STRIDE;
    for (let y = 0; y < outH; y++) {
      for (let x = 0; x < outW; x++) {
        let v = augment(s, x, y);
        if (stages.mixup) {
          const other = augment(params[p + 13], x, y);
          v = v.map((a, k) => f(f(a * params[p + 14]) + f(other[k] * params[p + 15])));
        }
        if (stages.normalize) v = v.map((a, k) => f(f(a - plan.mean[k]) * plan.invStd[k]));
        const [at, step] = plan.outputLayout === 'HWC' ? [(s * plane + y * outW + x) * c, 1] : [s * c * plane + y * outW + x, plane];
        for (let k = 0; k < c; k++) output[at + k * step] = v[k];
      }
    }
  }
  return { output, mix: augmentMix(plan, params) };
}

/** Each sample's mean gray level in the mean pass's summation order (augmentMeanWgsl). */
export function meanGrayRef(input: Float32Array, n: number, c: number, h: number, w: number): Float32Array {
  const plane = h * w;
  const invArea = f(1 / plane);
  const means = new Float32Array(n);
  const partial = new Float64Array(MEAN_WORKGROUP * 3);
  for (let s = 0; s < n; s++) {
    partial.fill(0);
    for (let t = 0; t < MEAN_WORKGROUP; t++) {
      for (let i = t; i < plane; i += MEAN_WORKGROUP) {
        for (let k = 0; k < c; k++) {
          partial[t * 3 + k] = f(partial[t * 3 + k] + input[(s * c + k) * plane + i]);
        }
      }
    }
    for (let stride = MEAN_WORKGROUP / 2; stride > 0; stride >>= 1) {
      for (let t = 0; t < stride; t++) {
        for (let k = 0; k < 3; k++) partial[t * 3 + k] = f(partial[t * 3 + k] + partial[(t + stride) * 3 + k]);
      }
    }
    const mean = [0, 1, 2].map((k) => f(partial[k] * invArea));
    means[s] = c === 3 ? f(f(f(mean[0] * GRAY[0]) + f(mean[1] * GRAY[1])) + f(mean[2] * GRAY[2])) : mean[0];
  }
  return means;
}

/**
 * Soft labels [n, classes] of a mixed batch: lambda on the sample's class, 1 - lambda on its
 * partner's. A label outside [0, classes) (e.g. -1, unlabelled) puts no mass anywhere, as on the GPU.
 */
export function mixLabels(labels: Int32Array, classes: number, mix: AugmentMix): Float32Array {
  const n = mix.partner.length;
  if (!Number.isInteger(classes) || classes < 1) {
    throw new EdgelakeError('invalid-input', `mixLabels: classes must be a positive integer, got ${classes}`);
  }
  if (labels.length < n || mix.lambda.length !== n) {
    const why = `${n} partners need ${n} labels and lambdas, got ${labels.length} and ${mix.lambda.length}`;
    throw new EdgelakeError('invalid-input', `mixLabels: ${why}`);
  }
  const bad = mix.partner.findIndex((partner) => partner >= n);
  if (bad >= 0) throw new EdgelakeError('invalid-input', `mixLabels: sample ${bad}'s partner ${mix.partner[bad]} is not in the batch of ${n}`);
  const out = new Float32Array(n * classes);
  for (let s = 0; s < n; s++) {
    const [own, other] = [labels[s], labels[mix.partner[s]]];
    const lambda = mix.lambda[s];
    if (own >= 0 && own < classes) out[s * classes + own] = lambda;
    if (other >= 0 && other < classes) out[s * classes + other] = f(out[s * classes + other] + f(1 - lambda));
  }
  return out;
}
