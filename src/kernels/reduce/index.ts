export { encodeSum } from './reduce.js';
export { SUM_PER_THREAD, SUM_WORKGROUP, sumPlan, sumRef, treeSum } from './reduce.ref.js';
export type { SumArgs } from './reduce.ref.js';
export { sumWgsl } from './reduce.wgsl.js';
export { encodeRowStats, rowStatsFits, rowStatsOnDevice } from './row-stats.js';
export { ROW_STATS_MAX_SIZE, ROW_STATS_WORKGROUP, rowStatsPlan, rowStatsRef } from './row-stats.ref.js';
export type { RowStatsArgs } from './row-stats.ref.js';
export { rowStatsWgsl } from './row-stats.wgsl.js';
