export { encodeDropout, encodeDropoutBackward } from './dropout.js';
export { dropoutBackwardRef, dropoutRef } from './dropout.ref.js';
export type { DropoutArgs, DropoutBackwardArgs, DropoutKey } from './dropout.ref.js';
export { dropoutInPlaceWgsl, dropoutWgsl } from './dropout.wgsl.js';
