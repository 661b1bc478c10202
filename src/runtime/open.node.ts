import { ChunkCache } from '../cache/cache.js';
import { FsChunkStore } from '../cache/fs-store.node.js';
import { useNodeCodecs } from '../format/codecs.node.js';
import { openTransportNode } from '../source/open.node.js';
import type { Source } from '../source/source.js';
import type { Dataset, OpenDatasetOptions } from './dataset/dataset.js';
import { openAnyDataset } from './dataset/kinds/registry.js';
import { nodeWorkerPool } from './loader/workers/pool.node.js';

export interface NodeOpenDatasetOptions extends OpenDatasetOptions {
  /** A persistent cache in this folder (made if missing), as MosaicML's StreamingDataset(remote, local): the short form of `cache`. */
  cacheDir?: string;
  /** With `cacheDir`: the cache's byte budget (default 4 GiB; least recently used chunks go first). */
  cacheBudgetBytes?: number;
}

/**
 * openDataset for Node: local folders and file:// too, loaders decode (and read) on
 * worker_threads, and this thread inflates and hashes with native zlib and node:crypto.
 *
 *   const ds = await openDataset('https://host/fashion-mnist', { cacheDir: '.cache/edgelake' });
 */
export async function openDataset(root: string | Source, options: NodeOpenDatasetOptions = {}): Promise<Dataset> {
  useNodeCodecs();
  const { cacheDir, cacheBudgetBytes, ...rest } = options;
  const cache = cacheDir === undefined ? rest.cache : new ChunkCache(await FsChunkStore.open(cacheDir), { budgetBytes: cacheBudgetBytes ?? 4 * 2 ** 30 });
  return openAnyDataset(root, { createPool: nodeWorkerPool, openTransport: openTransportNode, ...rest, cache });
}
