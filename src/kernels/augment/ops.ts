import { EdgelakeError } from '../../errors.js';

/**
 * The declarative augmentation pipeline: `augment: [{ op: 'randomResizedCrop', size: [224, 224] },
 * { op: 'flip', p: 0.5 }, { op: 'colorJitter', brightness: 0.4 }, ...]`. Every random parameter
 * is drawn per sample. Ranges given as one number x mean [-x, x] (rotate) or [max(0, 1 - x), 1 + x]
 * (colorJitter factors), as in torchvision. Ops see the input's values: in the loader, after
 * `scale` and before mean/std, which apply last (torchvision's Normalize after its augmentations),
 * so fills, cutout values and noise std are in scaled units (e.g. [0, 1]: fill 0 is black).
 */
export type Range = readonly [number, number];

/** Crop a random area fraction `scale` with aspect ratio (w / h) in `ratio`, resize to `size` [h, w]. */
export interface RandomResizedCropOp { op: 'randomResizedCrop'; size: Range; scale?: Range; ratio?: Range }
/** Resize the whole image to `size` [h, w] (bilinear). */
export interface ResizeOp { op: 'resize'; size: Range }
/** Mirror with probability `p` (default 0.5) along `axis` (default horizontal). */
export interface FlipOp { op: 'flip'; axis?: 'horizontal' | 'vertical'; p?: number }
/** Rotate about the centre by an angle in degrees, uniform in [-degrees, degrees] (or [lo, hi]);
 * positive is counter-clockwise. Points that land outside the image take `fill` (default 0, in input units). */
export interface RotateOp { op: 'rotate'; degrees: number | Range; fill?: number }
/**
 * Factors drawn per sample, applied in this fixed order (torchvision shuffles it): brightness
 * v b; contrast (v - m) c + m about m, the mean gray of the whole source image (before any crop)
 * times b; saturation (v - gray) s + gray about the pixel's gray (identity on 1-channel images).
 * Nothing is clamped (torchvision clamps float images to [0, 1]): a value brightened past the top of its range stays past it.
 */
export interface ColorJitterOp {
  op: 'colorJitter';
  brightness?: number | Range;
  contrast?: number | Range;
  saturation?: number | Range;
}
/** Adds zero-mean noise of standard deviation `std` (in input units) to every output value (see augment.wgsl.ts). */
export interface NoiseOp { op: 'noise'; std: number }
/** Random erasing: with probability `p` (0.5) fill a rectangle of area fraction `scale`
 * ([0.02, 0.33]) and aspect ratio `ratio` ([0.3, 3.3]) with `value` (0, in input units), as torchvision. */
export interface CutoutOp { op: 'cutout'; p?: number; scale?: Range; ratio?: Range; value?: number }
/** Batch-level mixup: x[i] = l x[i] + (1 - l) x[partner(i)], l ~ Beta(alpha, alpha) per sample. */
export interface MixupOp { op: 'mixup'; alpha: number }

export type AugmentOp =
  | RandomResizedCropOp | ResizeOp | FlipOp | RotateOp | ColorJitterOp | NoiseOp | CutoutOp | MixupOp;

/** An op with every default filled in and every range as [lo, hi]: what compileAugment keeps. */
export type ResolvedOp =
  | { op: 'randomResizedCrop'; size: Range; scale: Range; ratio: Range }
  | { op: 'resize'; size: Range }
  | { op: 'flip'; axis: 'horizontal' | 'vertical'; p: number }
  | { op: 'rotate'; degrees: Range; fill: number }
  | { op: 'colorJitter'; brightness?: Range; contrast?: Range; saturation?: Range }
  | { op: 'noise'; std: number }
  | { op: 'cutout'; p: number; scale: Range; ratio: Range; value: number }
  | { op: 'mixup'; alpha: number };

export const GEOMETRIC_OPS = ['randomResizedCrop', 'resize', 'flip', 'rotate'] as const;
/** The fused kernel applies these in this order, after all geometric ops; each at most once. */
export const PIXEL_OPS = ['colorJitter', 'noise', 'cutout', 'mixup'] as const;
/** Output side lengths stay where pixel coordinates (x + 0.5) are exact and fine in float32. */
export const MAX_SIDE = 16384;

const FIELDS: Record<AugmentOp['op'], readonly string[]> = {
  randomResizedCrop: ['size', 'scale', 'ratio'],
  resize: ['size'],
  flip: ['axis', 'p'],
  rotate: ['degrees', 'fill'],
  colorJitter: ['brightness', 'contrast', 'saturation'],
  noise: ['std'],
  cutout: ['p', 'scale', 'ratio', 'value'],
  mixup: ['alpha'],
};

/** Validates op `index` and fills its defaults; errors name it, e.g. "augment[2] (flip): p must be...". */
export function resolveOp(raw: unknown, index: number): ResolvedOp {
  if (typeof raw !== 'object' || raw === null || !('op' in raw) || !(String(raw.op) in FIELDS)) {
    const got = typeof raw === 'object' && raw !== null && 'op' in raw ? `'${String(raw.op)}'` : JSON.stringify(raw);
    throw invalid(`augment[${index}]`, `op must be one of ${Object.keys(FIELDS).join(', ')}, got ${got}`);
  }
  const op = raw as AugmentOp;
  const v = new Check(`augment[${index}] (${op.op})`, op as unknown as Record<string, unknown>);
  for (const key of Object.keys(op)) {
    if (key !== 'op' && !FIELDS[op.op].includes(key)) {
      v.fail(key, `is not a field of ${op.op} (fields: ${FIELDS[op.op].join(', ')})`);
    }
  }
  switch (op.op) {
    case 'randomResizedCrop':
      return {
        op: op.op,
        size: v.size('size'),
        scale: v.range('scale', [0.08, 1], 0, 1, false),
        ratio: v.range('ratio', [3 / 4, 4 / 3], 0, Infinity, false),
      };
    case 'resize':
      return { op: op.op, size: v.size('size') };
    case 'flip':
      if (op.axis !== undefined && op.axis !== 'horizontal' && op.axis !== 'vertical') {
        v.fail('axis', `must be 'horizontal' or 'vertical', got ${JSON.stringify(op.axis)}`);
      }
      return { op: op.op, axis: op.axis ?? 'horizontal', p: v.probability('p') };
    case 'rotate':
      return { op: op.op, degrees: v.spread('degrees', 0, 180, true)!, fill: v.finite('fill', 0) };
    case 'colorJitter': {
      const jitter = {
        op: op.op,
        brightness: v.spread('brightness', 1, Infinity),
        contrast: v.spread('contrast', 1, Infinity),
        saturation: v.spread('saturation', 1, Infinity),
      };
      if (!jitter.brightness && !jitter.contrast && !jitter.saturation) {
        v.fail('brightness', 'is missing: colorJitter needs brightness, contrast or saturation');
      }
      return jitter;
    }
    case 'noise':
      if (!(typeof op.std === 'number' && op.std >= 0 && Number.isFinite(op.std))) {
        v.fail('std', `must be a finite number >= 0, got ${JSON.stringify(op.std)}`);
      }
      return { op: op.op, std: op.std };
    case 'cutout':
      return {
        op: op.op,
        p: v.probability('p'),
        scale: v.range('scale', [0.02, 0.33], 0, 1, false),
        ratio: v.range('ratio', [0.3, 3.3], 0, Infinity, false),
        value: v.finite('value', 0),
      };
    case 'mixup':
      if (!(typeof op.alpha === 'number' && op.alpha > 0 && Number.isFinite(op.alpha))) {
        v.fail('alpha', `must be a finite number > 0, got ${JSON.stringify(op.alpha)}`);
      }
      return { op: op.op, alpha: op.alpha };
  }
}

export function invalid(where: string, why: string): EdgelakeError {
  return new EdgelakeError('invalid-input', `${where}: ${why}`);
}

/** Field checks for one op; every failure names the op and the field. */
class Check {
  constructor(
    private readonly where: string,
    private readonly op: Record<string, unknown>,
  ) {}

  fail(field: string, why: string): never {
    throw invalid(this.where, `${field} ${why}`);
  }

  size(field: string): Range {
    const s = this.op[field];
    if (!Array.isArray(s) || s.length !== 2 || !s.every((x) => Number.isInteger(x) && x >= 1 && x <= MAX_SIDE)) {
      this.fail(field, `must be [height, width], integers in 1..${MAX_SIDE}, got ${JSON.stringify(s)}`);
    }
    return [s[0], s[1]];
  }

  probability(field: string): number {
    const p = this.op[field] ?? 0.5;
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) this.fail(field, `must be a number in [0, 1], got ${JSON.stringify(p)}`);
    return p;
  }

  finite(field: string, fallback: number): number {
    const x = this.op[field] ?? fallback;
    if (typeof x !== 'number' || !Number.isFinite(x)) this.fail(field, `must be a finite number, got ${JSON.stringify(x)}`);
    return x;
  }

  /** [lo, hi] with min <= lo <= hi <= max (lo > min when `open`). */
  range(field: string, fallback: Range, min: number, max: number, closedMin: boolean): Range {
    const r = this.op[field] ?? fallback;
    const ok =
      Array.isArray(r) && r.length === 2 && r.every((x) => typeof x === 'number' && Number.isFinite(x)) &&
      (closedMin ? r[0] >= min : r[0] > min) && r[0] <= r[1] && r[1] <= max;
    if (!ok) {
      const bounds = `${closedMin ? '[' : '('}${min}, ${max}]`;
      this.fail(field, `must be [lo, hi] with lo <= hi, both in ${bounds}, got ${JSON.stringify(r)}`);
    }
    return [r[0], r[1]];
  }

  /** x as [center - x, center + x] (center 0 for angles, 1 for factors, floored at 0), or [lo, hi]. */
  spread(field: string, center: 0 | 1, max: number, required = false): Range | undefined {
    const x = this.op[field];
    if (x === undefined && !required) return undefined;
    if (Array.isArray(x)) return this.range(field, [0, 0], center === 0 ? -max : 0, max, true);
    if (typeof x !== 'number' || !(x >= 0 && x <= max)) {
      this.fail(field, `must be a number in [0, ${max}] or [lo, hi], got ${JSON.stringify(x)}`);
    }
    return center === 0 ? [-x, x] : [Math.max(0, 1 - x), 1 + x];
  }
}
