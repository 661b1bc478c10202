export { encodeSoftmax, encodeSoftmaxCrossEntropy } from './loss.js';
export { logOnePlus, lossWorkgroupSize, softmaxCrossEntropyRef, softmaxRef } from './loss.ref.js';
export type { LabelKind, SoftmaxArgs, SoftmaxCrossEntropyArgs } from './loss.ref.js';
export { lossWgsl } from './loss.wgsl.js';
