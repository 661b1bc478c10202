export { COLUMN_SUM_CHUNK, encodeColumnSum, encodeReluBackward } from './dense.js';
export { checkColumnSum, checkReluBackward, columnSumRef, reluBackwardRef } from './dense.ref.js';
export type { ColumnSumArgs, ReluBackwardArgs } from './dense.ref.js';
export { columnSumWgsl, reluBackwardInPlaceWgsl, reluBackwardWgsl } from './dense.wgsl.js';
