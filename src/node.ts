// edgelake/node: what needs Node (filesystem, dawn-node). Re-exports nothing of 'edgelake' itself.

export { FileSource } from './source/file.node.js';
export { openSourceNode, openTransportNode, s3FromEnvironment } from './source/open.node.js';
export { useNodeCodecs } from './format/codecs.node.js';
export { FolderSink } from './format/folder-sink.node.js';
export { FsChunkStore } from './cache/fs-store.node.js';
export { getNodeDevice, nodeGpuProvider } from './kernels/device.node.js';
export { runCli } from './cli/main.js';
export { openDataset } from './runtime/open.node.js';
export { nodeWorkerPool } from './runtime/loader/workers/pool.node.js';
