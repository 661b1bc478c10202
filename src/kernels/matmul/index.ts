export { encodeMatmul, matmulTiling, STAGED_MATMUL_TILING } from './matmul.js';
export type { MatmulTiling } from './matmul.js';
export { matmulRef, matmulSizes } from './matmul.ref.js';
export type { Activation, MatmulArgs, MatmulSizes } from './matmul.ref.js';
export { matmulWgsl } from './matmul.wgsl.js';
