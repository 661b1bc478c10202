import type { Dataset, OpenDatasetOptions } from './dataset/dataset.js';
import { openAnyDataset } from './dataset/kinds/registry.js';
import { browserWorkerPool } from './loader/workers/pool.browser.js';
import type { Source } from '../source/source.js';

/**
 * openDataset for browsers and any platform with Web Workers: loaders decode (and read) on
 * module workers. Without a Worker global, `workers` decode on the calling thread.
 */
export function openDataset(root: string | Source, options: OpenDatasetOptions = {}): Promise<Dataset> {
  const createPool = typeof Worker === 'function' ? (size: number) => browserWorkerPool(size) : undefined;
  return openAnyDataset(root, { createPool, ...options });
}
