import {
  GEOMETRIC_OPS,
  invalid,
  MAX_SIDE,
  PIXEL_OPS,
  resolveOp,
  type AugmentOp,
  type ResolvedOp,
} from './ops.js';

/** Shape of one sample: [channels, height, width], channels 1 or 3 (CHW, float32). */
export type SampleShape = readonly [number, number, number];

/** Per-channel normalization the fused pass applies last, (v - mean[k]) / std[k]: one entry, or one per channel. */
export interface AugmentNormalize {
  mean?: readonly number[];
  std?: readonly number[];
}

/**
 * A validated pipeline and how it runs: every geometric op composes into one inverse affine map
 * per sample (sampled once, bilinear), and colorJitter, noise, cutout and mixup run in the same
 * fused pass, which normalizes last. `passes` is what encodeAugment records: a per-sample mean
 * gray reduction first when contrast is jittered, then the fused pass.
 */
export interface AugmentPlan {
  readonly ops: readonly ResolvedOp[];
  readonly inputShape: SampleShape;
  readonly outputShape: SampleShape;
  /** How output samples lie in memory: [C, H, W] planes, or [H, W, C] pixels (channels-last models, TF.js's). */
  readonly outputLayout: 'CHW' | 'HWC';
  readonly passes: readonly ('mean' | 'augment')[];
  /** Which pixel stages the fused kernel compiles in (WGSL override constants). */
  readonly stages: Readonly<Record<'brightness' | 'contrast' | 'saturation' | 'noise' | 'cutout' | 'mixup' | 'normalize', boolean>>;
  /** Value of points outside the source image (only rotations produce them), in input units: before normalization. */
  readonly fill: number;
  /** In input units, as fill and cutoutValue. */
  readonly noiseStd: number;
  readonly cutoutValue: number;
  /** Per channel, float32: the output is (v - mean[k]) * invStd[k] (0 and 1 without normalization). */
  readonly mean: Float32Array;
  readonly invStd: Float32Array;
}

/** Per-sample draws per op: op i owns draw indices [256 i, 256 i + 256) (see params.ts). */
export const DRAWS_PER_OP = 256;
export const MAX_OPS = 64;

/**
 * Validates `ops` for samples of `inputShape` and plans the passes. Geometric ops
 * (randomResizedCrop, resize, flip, rotate) come first, in any order and any number; then at most
 * one each of colorJitter, noise, cutout, mixup, in that order. Errors name the op and field.
 * With `normalize`, every op sees the input's values (e.g. [0, 1]) and mean/std apply to the
 * result, as torchvision's Normalize after its augmentations.
 */
export function compileAugment(
  ops: readonly AugmentOp[],
  inputShape: SampleShape,
  outputLayout: 'CHW' | 'HWC' = 'CHW',
  normalize: AugmentNormalize = {},
): AugmentPlan {
  if (!Array.isArray(ops)) throw invalid('augment', `must be an array of ops, got ${JSON.stringify(ops)}`);
  if (ops.length > MAX_OPS) throw invalid('augment', `at most ${MAX_OPS} ops, got ${ops.length}`);
  const [c, h, w] = checkShape(inputShape);
  const { mean, invStd } = normalization(normalize, c);
  const resolved = ops.map((op, i) => resolveOp(op, i));
  let stage = -1; // index in PIXEL_OPS of the last pixel op seen
  let size: [number, number] = [h, w];
  let fill: number | undefined;
  resolved.forEach((op, i) => {
    const where = `augment[${i}] (${op.op})`;
    const geometric = (GEOMETRIC_OPS as readonly string[]).includes(op.op);
    if (geometric && stage >= 0) {
      throw invalid(where, `geometric ops must come before ${PIXEL_OPS.join(', ')}: they fuse into one resampling`);
    }
    if (!geometric) {
      const at = (PIXEL_OPS as readonly string[]).indexOf(op.op);
      if (at <= stage) {
        const why = at === stage ? 'may appear once' : `must come before '${PIXEL_OPS[stage]}'`;
        throw invalid(where, `${why} (pixel ops run in the order ${PIXEL_OPS.join(', ')})`);
      }
      stage = at;
    }
    if (op.op === 'resize' || op.op === 'randomResizedCrop') size = [op.size[0], op.size[1]];
    if (op.op === 'rotate') {
      if (fill !== undefined && fill !== op.fill) throw invalid(where, `fill ${op.fill} differs from an earlier rotate's ${fill}`);
      fill = op.fill;
    }
  });
  const [outH, outW] = size;
  // Noise keys count output values per sample in 31 bits (two draws each, see params.ts).
  if (c * outH * outW >= 2 ** 30) throw invalid('augment', `an output sample of ${c}x${outH}x${outW} values is too large`);
  const find = <K extends ResolvedOp['op']>(k: K) =>
    resolved.find((op): op is Extract<ResolvedOp, { op: K }> => op.op === k);
  const jitter = find('colorJitter');
  const stages = {
    brightness: jitter?.brightness !== undefined,
    contrast: jitter?.contrast !== undefined,
    // A gray image has no saturation to change (torchvision returns it unchanged too).
    saturation: jitter?.saturation !== undefined && c === 3,
    noise: find('noise') !== undefined,
    cutout: find('cutout') !== undefined,
    mixup: find('mixup') !== undefined,
    normalize: mean.some((m) => m !== 0) || invStd.some((s) => s !== 1),
  };
  return {
    ops: resolved,
    inputShape: [c, h, w],
    outputShape: [c, outH, outW],
    outputLayout,
    passes: stages.contrast ? ['mean', 'augment'] : ['augment'],
    stages,
    fill: Math.fround(fill ?? 0),
    noiseStd: find('noise')?.std ?? 0,
    cutoutValue: Math.fround(find('cutout')?.value ?? 0),
    mean,
    invStd,
  };
}

/** mean and 1 / std per channel in float32 (a multiply, not a division: WGSL division is not correctly rounded). */
function normalization({ mean = [0], std = [1] }: AugmentNormalize, c: number): { mean: Float32Array; invStd: Float32Array } {
  const perChannel = (name: string, list: readonly number[]) => {
    if (!Array.isArray(list) || (list.length !== 1 && list.length !== c)) {
      throw invalid('augment normalize', `${name} needs 1 or ${c} (channel) entries, got ${JSON.stringify(list)}`);
    }
    return Array.from({ length: c }, (_, k) => list[list.length === 1 ? 0 : k]);
  };
  const [m, s] = [perChannel('mean', mean), perChannel('std', std)];
  const out = { mean: Float32Array.from(m), invStd: Float32Array.from(s, (x) => 1 / x) };
  for (let k = 0; k < c; k++) {
    const ok = typeof m[k] === 'number' && Number.isFinite(out.mean[k]) && typeof s[k] === 'number' && Number.isFinite(s[k]) && Number.isFinite(out.invStd[k]) && out.invStd[k] !== 0;
    if (!ok) throw invalid('augment normalize', `channel ${k} needs a finite mean and a finite non-zero std (whose inverse is a float32), got ${m[k]} and ${s[k]}`);
  }
  return out;
}

function checkShape(shape: SampleShape): SampleShape {
  const ok =
    Array.isArray(shape) && shape.length === 3 && (shape[0] === 1 || shape[0] === 3) &&
    shape.slice(1).every((x) => Number.isInteger(x) && x >= 1 && x <= MAX_SIDE);
  if (!ok) {
    const why = `must be [channels, height, width] with 1 or 3 channels and sides in 1..${MAX_SIDE}`;
    throw invalid('augment input shape', `${why}, got ${JSON.stringify(shape)}`);
  }
  return shape;
}
