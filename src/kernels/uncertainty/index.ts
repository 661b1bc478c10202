export { encodeUncertainty, type UncertaintyGpuArgs } from './uncertainty.js';
export { checkUncertainty, UNCERTAINTY_MEASURES, uncertaintyRef } from './uncertainty.ref.js';
export type { UncertaintyArgs, UncertaintyMeasure, UncertaintyShape } from './uncertainty.ref.js';
export { uncertaintyWgsl } from './uncertainty.wgsl.js';
