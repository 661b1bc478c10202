export { encodeConv2d, encodeConv2dBackwardInput, encodeConv2dBackwardWeight, MAX_KERNEL_WIDTH } from './conv.js';
export type { ConvTiling } from './conv.js';
export { conv2dBackwardInputRef, conv2dBackwardWeightRef, conv2dRef, convOutputSize, convPlan } from './conv.ref.js';
export type { Conv2dArgs, Conv2dBackwardInputArgs, Conv2dBackwardWeightArgs, ConvPlan, ConvShape } from './conv.ref.js';
export { conv2dDilateWgsl, conv2dPackWgsl, conv2dWeightGradWgsl, conv2dWeightReduceWgsl, conv2dWgsl } from './conv.wgsl.js';
