import { openDataset as openDatasetWith, type Dataset, type OpenDatasetOptions } from './dataset/dataset.js';
import { browserWorkerPool } from './loader/workers/pool.browser.js';
import type { Source } from '../source/source.js';

/**
 * openDataset for browsers and any platform with Web Workers: loaders decode (and read) on
 * module workers. Without a Worker global, `workers` decode on the calling thread.
 */
export function openDataset(root: string | Source, options: OpenDatasetOptions = {}): Promise<Dataset> {
  const createPool = typeof Worker === 'function' ? (size: number) => browserWorkerPool(size) : undefined;
  return openDatasetWith(root, { createPool, ...options });
}
