export { computePipeline, readBuffer, Transients, uploadBuffer, workgroupGrid } from './pipelines.js';
export type { KernelSource } from './pipelines.js';
export { encodeNormalizeU8 } from './normalize/normalize.js';
export type { NormalizeU8Args } from './normalize/normalize.js';
export { normalizeStats, normalizeU8 } from './normalize/normalize.ref.js';
export { normalizeU8Wgsl } from './normalize/normalize.wgsl.js';
