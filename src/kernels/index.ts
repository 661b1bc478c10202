/// <reference types="@webgpu/types" preserve="true" />
// edgelake/kernels: the WGSL kernel families with their CPU references, the shared shader header,
// pipelines and buffer validation, the buffer pool, device acquisition and the counter-based RNG.
export {
  assertDeviceAlive, cachedBindGroup, computePipeline, createBindGroup, paramsBindGroup, readBuffer, storageBinding, Transients,
  uploadBuffer, watchDevice, workgroupGrid,
} from './pipelines.js';
export type { KernelSource } from './pipelines.js';
export { shaderHeader, type ShaderHeader } from './shader.js';
export { acquireBuffer, BufferPool, bufferPool, releaseBuffer, sizeClass } from './buffer-pool.js';
export type { BufferPoolOptions, BufferPoolStats } from './buffer-pool.js';
export { BatchUploader, type BatchUploaderOptions } from './staging.js';
export { GpuTimer, type GpuTimerOptions } from './timing.js';
export { encodeDecode, type DecodeArgs } from './decode/decode.js';
export { DECODE_ITEM_BYTES, decodePlan, decodeRef, halfToFloat } from './decode/decode.ref.js';
export type { DecodeDtype, DecodeKernelOptions, DecodePlan } from './decode/decode.ref.js';
export { decodeWgsl } from './decode/decode.wgsl.js';
export * from './augment/index.js';
export { randomWgsl } from './random/random.wgsl.js';
export * from './matmul/index.js';
export * from './dense/index.js';
export * from './conv/index.js';
export * from './pool/index.js';
export * from './loss/index.js';
export * from './reduce/index.js';
export * from './dropout/index.js';
export * from './optimizer/index.js';
export * from './uncertainty/index.js';
export * from './jpeg/index.js';
export * from './fit/index.js';
export { getDevice, describeAdapter, formatAdapter, type Gpu, type GpuProvider, type AdapterDescription, type GetDeviceOptions } from './device.js';
export { pcgHash, hash4, uniform, uniform24, shuffleInPlace } from './random/random.js';
