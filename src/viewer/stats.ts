import type { Dataset } from '../index.js';

/** What the page measured, on `window.viewerStats` for tests and the curious. */
export interface ViewerStats {
  dataset?: string;
  /** Milliseconds from navigation to the first page of thumbnails drawn. */
  firstPageMs?: number;
  /** Bytes of the image tensor's chunks the browser fetched by then (Resource Timing; 0 from a warm cache). */
  firstPageImageBytes?: number;
  /** The image tensor's chunks, stored bytes, all of them. */
  imageBytesTotal?: number;
  /** Bytes that reached the network for the dataset (beneath the cache) by the first page. */
  firstPageNetworkBytes?: number;
  counts?: number[];
  scatter?: { on: 'gpu' | 'cpu'; points: number; ms: number; adapter?: string };
  errors: string[];
  /** True once the header, first page, counts and scatter are done (or failed). */
  done: boolean;
}

declare global {
  interface Window {
    viewerStats: ViewerStats;
  }
}

export const stats: ViewerStats = (window.viewerStats = { errors: [], done: false });

/** The stored bytes of `tensor`'s chunks the browser has fetched so far, by their content addresses. */
export function chunkBytesFetched(ds: Dataset, tensor: string): number {
  const hashes = new Set(ds.tensor(tensor).chunks.map((c) => c.hash));
  let bytes = 0;
  for (const e of performance.getEntriesByType('resource') as PerformanceResourceTiming[]) {
    const hash = /\/chunks\/[0-9a-f]{2}\/([0-9a-f]{64})(?:\?|$)/.exec(e.name)?.[1];
    if (hash && hashes.has(hash)) bytes += e.encodedBodySize;
  }
  return bytes;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) (n /= 1024), i++;
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}
