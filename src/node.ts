/// <reference types="@webgpu/types" preserve="true" />
// edgelake/node: what needs Node (filesystem, worker_threads, dawn-node) and the CLI. Re-exports
// nothing of 'edgelake' itself. Importing it changes nothing: openDataset and the CLI choose
// Node's codecs (native zlib, node:crypto) when called; useNodeCodecs does it by hand.

export { openDataset, type NodeOpenDatasetOptions } from './runtime/open.node.js';
export { openSinkNode } from './runtime/sink.node.js';
export { FileSource } from './source/file.node.js';
export { openSourceNode, openTransportNode, s3FromEnvironment } from './source/open.node.js';
export { useNodeCodecs } from './format/codecs.node.js';
export { FolderSink } from './format/folder-sink.node.js';
export { FsChunkStore } from './cache/fs-store.node.js';
export { FsLabelStore } from './runtime/learn/labels/fs-store.node.js';
export { nodeWorkerPool } from './runtime/loader/workers/pool.node.js';
export { getNodeDevice, nodeGpuProvider } from './kernels/device.node.js';
export { runCli } from './cli/main.js';
export { learningCurvesSvg, type CurveSeries } from './cli/plot.js';
