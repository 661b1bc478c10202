export { encodeMaxPool, encodeMaxPoolBackward } from './pool.js';
export { maxPoolBackwardRef, maxPoolRef, poolOutputSize, poolPlan } from './pool.ref.js';
export type { MaxPoolArgs, MaxPoolBackwardArgs, PoolPlan, PoolShape } from './pool.ref.js';
export { maxPoolBackwardWgsl, maxPoolWgsl } from './pool.wgsl.js';
