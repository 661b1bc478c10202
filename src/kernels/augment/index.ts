export { compileAugment, DRAWS_PER_OP, MAX_OPS } from './plan.js';
export type { AugmentNormalize, AugmentPlan, SampleShape } from './plan.js';
export type {
  AugmentOp,
  ColorJitterOp,
  CutoutOp,
  FlipOp,
  MixupOp,
  NoiseOp,
  RandomResizedCropOp,
  Range,
  ResizeOp,
  ResolvedOp,
  RotateOp,
} from './ops.js';
export { augmentMix, augmentParams, MIX_DRAW, NOISE_DRAW, PARAM_STRIDE } from './params.js';
export type { AugmentMix } from './params.js';
export { encodeAugment, encodeMixLabels } from './augment.js';
export type { AugmentArgs, MixLabelsArgs } from './augment.js';
export { augmentRef, GRAY, MEAN_WORKGROUP, meanGrayRef, mixLabels } from './augment.ref.js';
export type { AugmentRefArgs } from './augment.ref.js';
export { augmentMeanWgsl, augmentWgsl, mixLabelsWgsl } from './augment.wgsl.js';
