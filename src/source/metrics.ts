import type { ReadOptions, Source } from './source.js';

export interface SourceMetrics {
  requests: number;
  bytes: number;
}

/** Counts the requests and bytes that reach `source` (wrap it beneath a cache to count network traffic). */
export function withMetrics(source: Source): { source: Source; metrics: SourceMetrics } {
  const metrics: SourceMetrics = { requests: 0, bytes: 0 };
  const count = (bytes: Uint8Array) => {
    metrics.requests++;
    metrics.bytes += bytes.length;
    return bytes;
  };
  return {
    metrics,
    source: {
      location: source.location,
      read: async (path: string, options?: ReadOptions) => count(await source.read(path, options)),
      readRange: async (path: string, offset: number, length: number, options?: ReadOptions) => count(await source.readRange(path, offset, length, options)),
    },
  };
}
