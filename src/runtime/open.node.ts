import { useNodeCodecs } from '../format/codecs.node.js';
import { openSourceNode } from '../source/open.node.js';
import type { Source } from '../source/source.js';
import { openDataset as openDatasetWith, type Dataset, type OpenDatasetOptions } from './dataset/dataset.js';
import { nodeWorkerPool } from './loader/workers/pool.node.js';

// Native zlib and SHA-256 for every chunk this thread inflates and verifies (the decode workers install theirs).
useNodeCodecs();

/** openDataset for Node: local folders and file:// too, and loaders fetch and decode on worker_threads. */
export function openDataset(root: string | Source, options: OpenDatasetOptions = {}): Promise<Dataset> {
  return openDatasetWith(root, { createPool: nodeWorkerPool, openSource: openSourceNode, ...options });
}
