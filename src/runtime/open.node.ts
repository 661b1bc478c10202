import { useNodeCodecs } from '../format/codecs.node.js';
import { openTransportNode } from '../source/open.node.js';
import type { Source } from '../source/source.js';
import type { Dataset, OpenDatasetOptions } from './dataset/dataset.js';
import { openAnyDataset } from './dataset/kinds/registry.js';
import { nodeWorkerPool } from './loader/workers/pool.node.js';

/**
 * openDataset for Node: local folders and file:// too, loaders decode (and read) on
 * worker_threads, and this thread inflates and hashes with native zlib and node:crypto.
 */
export function openDataset(root: string | Source, options: OpenDatasetOptions = {}): Promise<Dataset> {
  useNodeCodecs();
  return openAnyDataset(root, { createPool: nodeWorkerPool, openTransport: openTransportNode, ...options });
}
