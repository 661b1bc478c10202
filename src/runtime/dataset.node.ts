import { openSourceNode } from '../source/open.node.js';
import type { Source } from '../source/source.js';
import { openDataset as openDatasetWith, type Dataset, type OpenDatasetOptions } from './dataset.js';
import { nodeWorkerPool } from './workers/pool.node.js';

/** openDataset for Node: local folders and file:// too, and loaders decode on worker_threads. */
export function openDataset(root: string | Source, options: OpenDatasetOptions = {}): Promise<Dataset> {
  return openDatasetWith(typeof root === 'string' ? openSourceNode(root, options) : root, { createPool: nodeWorkerPool, ...options });
}
