// edgelake: the platform-neutral entry (browsers, workers, Node). Node-only pieces are in 'edgelake/node'.

export { EdgelakeError, isEdgelakeError, type ErrorCode } from './errors.js';

// format: the dataset format of docs/FORMAT.md
export {
  FORMAT_VERSION, DTYPE_BYTES, REFS_PATH, chunkPath, versionPath,
  type Refs, type Manifest, type TensorMeta, type ChunkRef, type Quant,
  type Dtype, type Htype, type SampleCompression, type ChunkCompression,
} from './format/manifest.js';
export { validateManifest, validateRefs, parseJson, fixedSampleBytes, chunkHeaderBytes } from './format/validate.js';
export {
  encodeChunk, decodeChunk, decodeSamplePayload, parseChunkHeader, verifyChunkHeader, verifySamplePayload,
  type ChunkHeader, type DecodedChunk,
} from './format/chunk.js';
export { sha256Hex, crc32 } from './format/hash.js';
export { inflateBounded, deflate } from './format/inflate.js';
export { DEFAULT_LIMITS, type ReadLimits, type Where } from './format/limits.js';
export { MemorySink, type Sink } from './format/sink.js';
export { TensorWriter, type TensorSpec } from './format/builders/tensor-writer.js';
export { commitVersion, type CommitOptions, type Committed } from './format/builders/commit.js';
export { buildIdx, type BuildIdxOptions, type IdxSplit } from './format/builders/build-idx.js';
export { parseIdx, type IdxArray } from './format/builders/idx.js';
export { buildImageFolder, type BuildImageFolderOptions, type ImageFile } from './format/builders/build-imagefolder.js';
export {
  decodeImage, decodeJpeg, decodePng, sniffImageType, thumbnail, toRgb, resizeArea,
  type DecodedImage, type DecodeOptions, type ImageType,
} from './format/image/index.js';

// source: bytes by path and range
export type { Source, ReadOptions } from './source/source.js';
export { MemorySource } from './source/memory.js';
export { HttpSource, type HttpSourceOptions } from './source/http.js';
export { S3Source, parseS3Url, type S3SourceOptions } from './source/s3.js';
export { withRetry, RetryLaterError, type RetryOptions } from './source/retry.js';
export { withConcurrency } from './source/limit.js';
export { openSource, type OpenSourceOptions } from './source/open.js';

// cache: persistent content-addressed chunk stores, and the budget/LRU/pinning/integrity around them
export { ChunkCache, type ChunkCacheOptions, type CacheStats, type GetOptions, type VerifyReport } from './cache/cache.js';
export { withCache } from './cache/cached-source.js';
export { MemoryChunkStore } from './cache/memory-store.js';
export { IdbChunkStore, type IdbStoreOptions } from './cache/idb-store.js';
export type { ChunkStore, StoreEntry } from './cache/store.js';

// runtime: versions, GPU devices
export { openVersion, readChunk, type OpenedVersion } from './runtime/dataset/versions.js';
export { chunkStarts, chunksCovering, locateSample } from './runtime/dataset/chunk-index.js';
export { openDataset, Dataset, View, type OpenDatasetOptions, type ViewOptions } from './runtime/dataset/dataset.js';
export { Loader, type LoaderOptions, type LoaderState, type LoaderStats, type Batch } from './runtime/loader/loader.js';
export { EpochOrder, type ShuffleOptions } from './runtime/loader/order.js';
export { pcgHash, hash4, uniform, uniform24 } from './kernels/random/random.js';
export { CpuBatchTransform, GpuBatchTransform, type BatchTransform, type TensorTransform, type BatchTensor } from './runtime/loader/transform.js';
export { inlinePool, WorkerPool, type DecodePool } from './runtime/loader/workers/pool.js';
export { decodeSamples, decodeSample, type DecodeTask, type DecodedSamples } from './runtime/dataset/decode.js';
export { browserWorkerPool } from './runtime/loader/workers/pool.browser.js';
export { withMetrics, type SourceMetrics } from './source/metrics.js';
export {
  getDevice, describeAdapter, formatAdapter,
  type Gpu, type GpuProvider, type AdapterDescription, type GetDeviceOptions,
} from './kernels/device.js';

// kernels: WGSL with CPU references
export { encodeDecode, type DecodeArgs } from './kernels/decode/decode.js';
export { decodeRef, halfToFloat, type DecodeDtype, type DecodeKernelOptions } from './kernels/decode/decode.ref.js';
export { Transients, readBuffer, uploadBuffer } from './kernels/pipelines.js';
export {
  acquireBuffer, releaseBuffer, bufferPool, BufferPool, type BufferPoolOptions, type BufferPoolStats,
} from './kernels/buffer-pool.js';
export { BatchUploader, type BatchUploaderOptions } from './kernels/staging.js';
export { GpuTimer, type GpuTimerOptions } from './kernels/timing.js';
export {
  compileAugment, augmentParams, augmentMix, encodeAugment, encodeMixLabels, augmentRef, mixLabels,
  type AugmentOp, type AugmentPlan, type AugmentMix,
} from './kernels/augment/index.js';
export { randomWgsl } from './kernels/random/random.wgsl.js';
export {
  encodeMatmul, matmulRef, encodeReluBackward, encodeColumnSum, reluBackwardRef, columnSumRef,
  encodeConv2d, encodeConv2dBackwardInput, encodeConv2dBackwardWeight, conv2dRef, conv2dBackwardInputRef, conv2dBackwardWeightRef, convOutputSize,
  encodeMaxPool, encodeMaxPoolBackward, maxPoolRef, maxPoolBackwardRef, poolOutputSize,
  encodeSoftmax, encodeSoftmaxCrossEntropy, softmaxRef, softmaxCrossEntropyRef, encodeSum, sumRef,
  encodeDropout, encodeDropoutBackward, dropoutRef, dropoutBackwardRef, encodeSgd, encodeAdam, sgdRef, adamRef,
  encodeUncertainty, uncertaintyRef,
  type MatmulArgs, type Activation, type ReluBackwardArgs, type ColumnSumArgs, type ConvShape, type Conv2dArgs, type Conv2dBackwardInputArgs,
  type Conv2dBackwardWeightArgs, type PoolShape, type MaxPoolArgs, type MaxPoolBackwardArgs, type SoftmaxArgs, type SoftmaxCrossEntropyArgs,
  type LabelKind, type SumArgs, type DropoutArgs, type DropoutBackwardArgs, type DropoutKey, type SgdArgs, type AdamArgs,
  type UncertaintyArgs, type UncertaintyMeasure,
} from './kernels/index.js';

// models: trained on the GPU kernels or their CPU references
export { Model, type ModelSpec, type FitOptions, type DataOptions, type EpochStats, type ProgressDetail, type BatchSource } from './runtime/model/model.js';
export { mlp, cnn, head, createModel, backendFor, type ModelOptions } from './runtime/model/zoo.js';
export { saveModel, loadModel } from './runtime/model/model-io.js';
export { Optimizer, type OptimizerSpec } from './runtime/model/optimizer.js';
export type { Backend, Tensor, Ops, OpName } from './runtime/model/backend.js';
export { CpuBackend } from './runtime/model/backend.cpu.js';
export { GpuBackend } from './runtime/model/backend.gpu.js';
export type { LayerSpec, Param } from './runtime/model/layers.js';
export {
  decodeSafetensors, encodeSafetensors, float32Tensor, tensorFloat32, type NamedTensor, type SafetensorsDtype,
} from './runtime/model/safetensors.js';

// active learning
export {
  Pool, randomSelect, topK, kCenterGreedy, hybridSelect, coldStart, strategyNeeds, planFetch, fetchBytes,
  type PoolJSON, type Strategy, type StrategyName, type CostModel, type FetchPlan, type FetchUnit,
} from './sampler/index.js';
export { ActiveLearner, type ActiveLearnerOptions, type RoundResult } from './runtime/learn/active-learner.js';
export { learningCurvesSvg, type CurveSeries } from './cli/plot.js';

// browser demo needs
export { STRATEGIES } from './sampler/index.js';
