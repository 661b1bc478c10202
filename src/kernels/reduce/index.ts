export { encodeSum } from './reduce.js';
export { SUM_PER_THREAD, SUM_WORKGROUP, sumPlan, sumRef, treeSum } from './reduce.ref.js';
export type { SumArgs } from './reduce.ref.js';
export { sumWgsl } from './reduce.wgsl.js';
