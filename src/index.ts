/// <reference types="@webgpu/types" preserve="true" />
// edgelake: the platform-neutral entry (browsers, workers, Node): what a README user calls.
// Node-only pieces are in 'edgelake/node'; advanced ones in 'edgelake/kernels' and 'edgelake/format'.

export { EdgelakeError, isEdgelakeError, type ErrorCode } from './errors.js';
export type { TypedEventTarget } from './events.js';

// datasets and views: every read through one chain of sources (docs/LOADER.md)
export { openDataset } from './runtime/open.js';
export { openSink, type OpenSinkOptions } from './runtime/sink.js';
export { query, type QueryAnswer, type QueryOptions } from './runtime/query/query.js';
export { materialize, type MaterializeOptions } from './runtime/query/materialize.js';
export { listViews, openView, saveView, type SavedView } from './runtime/query/views.js';
export { Dataset, View, type OpenDatasetOptions, type ViewOptions } from './runtime/dataset/dataset.js';
export { openVersion, readChunk, type OpenedVersion } from './runtime/dataset/versions.js';
export { commitDataset, type CommitDatasetOptions, type CommitBase, type SampleValues } from './runtime/dataset/commit.js';
export { versionLog, diffVersions, type LogEntry, type VersionDiff } from './runtime/dataset/history.js';
export { createBranch, createTag, checkout } from './runtime/dataset/refs.js';
export { remoteChain, datasetChain, type RemoteRoot } from './runtime/dataset/chain.js';
export type { LinkedFiles, LinkedFilesOptions } from './runtime/dataset/links.js';
export type { DecodePool, PoolFactory } from './runtime/dataset/decode-pool.js';
export type { TypedArray } from './runtime/dataset/batch.js';
export type { Manifest, TensorMeta, Dtype } from './format/manifest.js';

// images: one JPEG or PNG, on the device or the CPU
export { decodeImage, type DecodeImageOptions, type Pixels } from './format/image/decode-image.js';

// loaders: shuffled, prefetched, resumable batches, on the GPU or the CPU
export { Loader, batchArray, batchBuffer, type LoaderOptions, type LoaderState, type LoaderStats, type LoaderEvents, type Batch } from './runtime/loader/loader.js';
export type { ShuffleOptions } from './runtime/loader/order.js';
export type { TensorTransform, BatchTensor } from './runtime/loader/transform.js';
export type { FitTransform } from './runtime/loader/fit.js';
export { browserWorkerPool } from './runtime/loader/workers/pool.browser.js';

// caches and stores
export { ChunkCache, type ChunkCacheEvents, type ChunkCacheOptions, type CacheStats, type GetOptions, type VerifyReport } from './cache/cache.js';
export { withCache, type CachedSourceOptions } from './cache/cached-source.js';
export { MemoryChunkStore } from './cache/memory-store.js';
export { IdbChunkStore, type IdbStoreOptions } from './cache/idb-store.js';
export type { ChunkStore, Room, StoreEntry } from './cache/store.js';

// sources: bytes by path and range, and the wrappers a chain is made of
export type { Source, ReadOptions, ByteRange } from './source/source.js';
export { openSource, openTransport, type OpenSourceOptions } from './source/open.js';
export { MemorySource } from './source/memory.js';
export { HttpSource, type HttpSourceOptions } from './source/http.js';
export { S3Source, parseS3Url, type S3SourceOptions } from './source/s3.js';
export { redactUrl } from './source/redact.js';
export { withRetry, RetryLaterError, CorruptTransferError, type RetryOptions } from './source/retry.js';
export { withConcurrency } from './source/limit.js';
export { withMetrics, type SourceMetrics } from './source/metrics.js';
export { withVerify, type VerifyFile } from './source/verify.js';

// models and training: on the GPU kernels or their CPU references
export type { Learner } from './runtime/model/learner.js';
export { Model, type ModelEvents, type ModelSpec, type FitOptions, type DataOptions, type EpochStats, type ProgressDetail, type BatchSource } from './runtime/model/model.js';
export { mlp, cnn, head, createModel, backendFor, type ModelOptions } from './runtime/model/zoo.js';
export { saveModel, loadModel, loadWeights, type LoadedWeights } from './runtime/model/model-io.js';
export { Optimizer, type OptimizerSpec } from './runtime/model/optimizer.js';
export type { Backend, Tensor } from './runtime/model/backend.js';
export type { Ops, OpName } from './runtime/model/ops.js';
export { CpuBackend } from './runtime/model/backend.cpu.js';
export { GpuBackend } from './runtime/model/backend.gpu.js';
export type { LayerSpec, Param } from './runtime/model/layers.js';
export { decodeSafetensors, encodeSafetensors, type NamedTensor, type SafetensorsDtype } from './runtime/model/safetensors.js';

// active learning: the learner, the pool of labels, strategies from one registry, fetch plans
export { ActiveLearner, type ActiveLearnerEvents, type LearnerPhase, type PhaseDetail, type ActiveLearnerOptions, type QueryResult, type RoundResult } from './runtime/learn/active-learner.js';
export { MemoryLabelStore, type LabelBatch, type LabelStore } from './runtime/learn/labels/store.js';
export { IdbLabelStore } from './runtime/learn/labels/idb-store.js';
export { commitLabels, type CommitLabelsOptions } from './runtime/learn/labels/commit.js';
export type { Committed } from './format/builders/commit.js';
export {
  Pool, STRATEGIES, STRATEGY_REGISTRY, strategyFor, strategyNeeds, byRank, byScore,
  randomSelect, topK, kCenterGreedy, hybridSelect, coldStart, planFetch, fetchBytes,
  type PoolJSON, type Strategy, type StrategyName, type StrategyNeeds, type SelectInput, type Selection, type ScoreMeasure,
  type CostModel, type FetchPlan, type FetchUnit,
} from './sampler/index.js';

// the GPU device (null without an adapter: every kernel then runs its CPU reference)
export {
  getDevice, describeAdapter, formatAdapter,
  type Gpu, type GpuProvider, type AdapterDescription, type GetDeviceOptions,
} from './kernels/device.js';
