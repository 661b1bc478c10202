import { uniform, uniform24 } from '../random/random.js';
import { invalid } from './ops.js';
import { DRAWS_PER_OP, type AugmentPlan } from './plan.js';

/**
 * The per-sample parameter table: every random parameter of a sample, drawn on the CPU from the
 * shared counter RNG and rounded to float32 once. The GPU kernel and the CPU reference both read
 * this table, so transcendental functions (log, sqrt, sin, cos, exp: not correctly rounded in
 * WGSL) never run on the GPU and cannot make the two disagree.
 *
 * Row of PARAM_STRIDE floats per sample (CHW output pixel (x, y) has centre X = x + 0.5, Y = y + 0.5):
 *   0..5   inverse affine: source point = (p0 X + p1 Y + p2, p3 X + p4 Y + p5), in pixels
 *   6..8   brightness, contrast, saturation factors (1 when not jittered)
 *   9..12  cutout box x0, y0, x1, y1 in output pixels, half-open (all 0: no cutout)
 *   13..15 mixup partner (batch index), lambda, 1 - lambda (self, 1, 0 without mixup)
 *
 * Draw table. Per-sample draws are uniform24(seed, epoch, sample id, draw), op i of the plan
 * owning draws [256 i, 256 i + 256):
 *   flip               256 i           flip when u < p
 *   rotate             256 i           angle = lo + u (hi - lo) degrees
 *   randomResizedCrop  256 i + 4k + j  attempt k < 10: j = 0 area, 1 log ratio, 2 top, 3 left
 *   colorJitter        256 i + j       j = 0 brightness, 1 contrast, 2 saturation: lo + u (hi - lo)
 *   cutout             256 i           erase when u < p; then 256 i + 1 + 4k + j as randomResizedCrop
 *   mixup              256 i + k       lambda ~ Beta(alpha, alpha): the k-th number of its sampler
 * Batch draws: the mixup permutation is a Fisher-Yates shuffle with uniform(seed, epoch, ids[0],
 * 2^30 + position). Per-pixel draws (noise, in the shader): hash4(seed, epoch, id, 2^31 + 2 v + j),
 * j = 0, 1, for output value v of the sample. The three ranges never overlap.
 */
export const PARAM_STRIDE = 16;
export const MIX_DRAW = 2 ** 30;
export const NOISE_DRAW = 2 ** 31;

/** Who each sample is mixed with and with what weight: x[i] = l x[i] + (1 - l) x[partner]. */
export interface AugmentMix {
  partner: Uint32Array;
  lambda: Float32Array;
}

type Matrix = [number, number, number, number, number, number];

export function augmentParams(plan: AugmentPlan, ids: Uint32Array, seed: number, epoch: number): Float32Array {
  checkU32('seed', seed);
  checkU32('epoch', epoch);
  const n = ids.length;
  const table = new Float32Array(n * PARAM_STRIDE);
  const permutation = plan.stages.mixup ? mixupPermutation(n, seed, epoch, ids[0]) : undefined;
  for (let s = 0; s < n; s++) {
    const id = ids[s];
    const row = table.subarray(s * PARAM_STRIDE, (s + 1) * PARAM_STRIDE);
    let [, h, w] = plan.inputShape;
    let m: Matrix = [1, 0, 0, 0, 1, 0];
    row.set([1, 1, 1], 6);
    row.set([s, 1, 0], 13);
    plan.ops.forEach((op, i) => {
      const u = (k: number) => uniform24(seed, epoch, id, i * DRAWS_PER_OP + k);
      switch (op.op) {
        case 'resize':
        case 'randomResizedCrop': {
          const [outH, outW] = op.size;
          const box = op.op === 'resize' ? { x: 0, y: 0, w, h } : cropBox(w, h, op.scale, op.ratio, u);
          m = compose(m, [box.w / outW, 0, box.x, 0, box.h / outH, box.y]);
          [h, w] = [outH, outW];
          break;
        }
        case 'flip':
          if (u(0) < op.p) m = compose(m, op.axis === 'horizontal' ? [-1, 0, w, 0, 1, 0] : [1, 0, 0, 0, -1, h]);
          break;
        case 'rotate': {
          const angle = ((op.degrees[0] + u(0) * (op.degrees[1] - op.degrees[0])) * Math.PI) / 180;
          const [cos, sin, cx, cy] = [Math.cos(angle), Math.sin(angle), w / 2, h / 2];
          m = compose(m, [cos, -sin, cx - cos * cx + sin * cy, sin, cos, cy - sin * cx - cos * cy]);
          break;
        }
        case 'colorJitter':
          [op.brightness, op.contrast, op.saturation].forEach((r, j) => {
            if (r) row[6 + j] = r[0] + u(j) * (r[1] - r[0]);
          });
          break;
        case 'cutout': {
          const box = u(0) < op.p ? eraseBox(w, h, op.scale, op.ratio, (k) => u(1 + k)) : undefined;
          if (box) row.set([box.x, box.y, box.x + box.w, box.y + box.h], 9);
          break;
        }
        case 'mixup': {
          const lambda = Math.fround(beta(op.alpha, u));
          row.set([permutation![s], lambda, 1 - lambda], 13);
          break;
        }
        case 'noise':
          break; // drawn per pixel in the shader
      }
    });
    row.set(m, 0);
  }
  return table;
}

/** The mixup partners and weights in a parameter table; undefined when the plan has no mixup. */
export function augmentMix(plan: AugmentPlan, params: Float32Array): AugmentMix | undefined {
  if (!plan.stages.mixup) return undefined;
  const n = params.length / PARAM_STRIDE;
  const partner = new Uint32Array(n);
  const lambda = new Float32Array(n);
  for (let s = 0; s < n; s++) {
    partner[s] = params[s * PARAM_STRIDE + 13];
    lambda[s] = params[s * PARAM_STRIDE + 14];
  }
  return { partner, lambda };
}

/** m then g: source = m(g(point)). */
function compose(m: Matrix, g: Matrix): Matrix {
  return [
    m[0] * g[0] + m[1] * g[3], m[0] * g[1] + m[1] * g[4], m[0] * g[2] + m[1] * g[5] + m[2],
    m[3] * g[0] + m[4] * g[3], m[3] * g[1] + m[4] * g[4], m[3] * g[2] + m[4] * g[5] + m[5],
  ];
}

interface Box { x: number; y: number; w: number; h: number }
type Draw = (k: number) => number;

/** torchvision's RandomResizedCrop.get_params: 10 tries, then a central crop within `ratio`. */
function cropBox(w: number, h: number, scale: readonly number[], ratio: readonly number[], u: Draw): Box {
  for (let k = 0; k < 10; k++) {
    const box = tryBox(w, h, scale, ratio, (j) => u(4 * k + j));
    if (box.w > 0 && box.w <= w && box.h > 0 && box.h <= h) return place(box, w, h, (j) => u(4 * k + j));
  }
  const aspect = w / h;
  let [cw, ch] = [w, h];
  if (aspect < ratio[0]) ch = Math.round(w / ratio[0]);
  else if (aspect > ratio[1]) cw = Math.round(h * ratio[1]);
  return { x: Math.floor((w - cw) / 2), y: Math.floor((h - ch) / 2), w: cw, h: ch };
}

/** torchvision's RandomErasing.get_params: 10 tries for a box strictly smaller than the image. */
function eraseBox(w: number, h: number, scale: readonly number[], ratio: readonly number[], u: Draw): Box | undefined {
  for (let k = 0; k < 10; k++) {
    const box = tryBox(w, h, scale, ratio, (j) => u(4 * k + j));
    if (box.w > 0 && box.w < w && box.h > 0 && box.h < h) return place(box, w, h, (j) => u(4 * k + j));
  }
  return undefined;
}

function tryBox(w: number, h: number, scale: readonly number[], ratio: readonly number[], u: Draw) {
  const area = w * h * (scale[0] + u(0) * (scale[1] - scale[0]));
  const logLo = Math.log(ratio[0]);
  const aspect = Math.exp(logLo + u(1) * (Math.log(ratio[1]) - logLo));
  return { w: Math.round(Math.sqrt(area * aspect)), h: Math.round(Math.sqrt(area / aspect)) };
}

function place(box: { w: number; h: number }, w: number, h: number, u: Draw): Box {
  return { ...box, y: Math.floor(u(2) * (h - box.h + 1)), x: Math.floor(u(3) * (w - box.w + 1)) };
}

/** Fisher-Yates over the batch, keyed by the batch's first sample id. */
function mixupPermutation(n: number, seed: number, epoch: number, first: number): Uint32Array {
  const order = Uint32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(uniform(seed, epoch, first, MIX_DRAW + i) * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/**
 * Beta(a, a) as X / (X + Y) with X, Y ~ Gamma(a) (Marsaglia & Tsang, 2000; a < 1 boosted by
 * U^(1/a)), in log space so tiny alphas do not underflow. 256 draws cover ~80 rejections; past
 * that (never seen) it returns the mean, 0.5.
 */
function beta(a: number, u: Draw): number {
  let k = 0;
  const next = () => {
    if (k >= DRAWS_PER_OP) throw new RangeError('draws exhausted');
    return u(k++);
  };
  try {
    const x = logGamma(a, next);
    return 1 / (1 + Math.exp(logGamma(a, next) - x));
  } catch {
    return 0.5;
  }
}

function logGamma(a: number, next: () => number): number {
  if (a < 1) return logGamma(a + 1, next) + Math.log(1 - next()) / a;
  const d = a - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const z = Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
    const t = 1 + c * z;
    if (t <= 0) continue;
    const v = t * t * t;
    if (Math.log(1 - next()) < 0.5 * z * z + d - d * v + d * Math.log(v)) return Math.log(d * v);
  }
}

export function checkU32(name: string, x: number): void {
  if (!Number.isInteger(x) || x < 0 || x >= 2 ** 32) {
    throw invalid('augment', `${name} must be an integer in [0, 2^32), got ${x}`);
  }
}
