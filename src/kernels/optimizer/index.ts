export { encodeAdam, encodeSgd } from './optimizer.js';
export { adamRef, sgdRef } from './optimizer.ref.js';
export type { AdamArgs, SgdArgs } from './optimizer.ref.js';
export { adamWgsl, sgdWgsl } from './optimizer.wgsl.js';
