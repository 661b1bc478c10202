import { isShardPattern } from '../../../format/webdataset/shards.js';
import type { Source } from '../../../source/source.js';
import { openDataset as openNative, type Dataset, type OpenDatasetOptions } from '../dataset.js';
import { isParquetPattern, openParquetDataset } from './parquet.js';
import { openWebDataset } from './webdataset.js';

/** A kind of dataset edgelake reads in place: which roots it claims, and how it opens them. */
export interface DatasetKind {
  name: string;
  claims(root: string): boolean;
  open(root: string, options: OpenDatasetOptions): Promise<Dataset>;
}

/** The kinds, tried in order; a root no other kind claims is a native edgelake dataset. */
export const DATASET_KINDS: readonly DatasetKind[] = [
  { name: 'webdataset', claims: isShardPattern, open: openWebDataset },
  { name: 'parquet', claims: isParquetPattern, open: openParquetDataset },
];

/** Opens `root` as the kind that claims it (a WebDataset shard pattern, ...) or as a native dataset. */
export function openAnyDataset(root: string | Source, options: OpenDatasetOptions): Promise<Dataset> {
  const kind = typeof root === 'string' ? DATASET_KINDS.find((k) => k.claims(root)) : undefined;
  return kind ? kind.open(root as string, options) : openNative(root, options);
}
