import { isEdgelakeError } from '../errors.js';
import type { ByteRange, ReadOptions, Source } from './source.js';

export interface SourceMetrics {
  /** Reads that brought bytes back. */
  requests: number;
  bytes: number;
  /** Retries below, after a transient fault (unreachable, or bytes damaged in transit). */
  retries: number;
  /** Of those, the ones after bytes that failed their check: fetched again. */
  refetched: number;
  /** Reads that found their file unchanged (ReadOptions.ifChanged): a request, no bytes. */
  unchanged: number;
}

/** Counts the requests, bytes and retries that reach `source` (wrap it beneath a cache to count network traffic). */
export function withMetrics(source: Source): { source: Source; metrics: SourceMetrics } {
  const metrics: SourceMetrics = { requests: 0, bytes: 0, retries: 0, refetched: 0, unchanged: 0 };
  const count = (bytes: Uint8Array) => {
    metrics.requests++;
    metrics.bytes += bytes.length;
    return bytes;
  };
  const counted = (options: ReadOptions | undefined): ReadOptions => ({
    ...options,
    onRetry(reason) {
      metrics.retries++;
      if (reason.code === 'integrity') metrics.refetched++;
      options?.onRetry?.(reason);
    },
  });
  const readRanges = source.readRanges?.bind(source);
  return {
    metrics,
    source: {
      location: source.location,
      read: async (path: string, options?: ReadOptions) => {
        try {
          return count(await source.read(path, counted(options)));
        } catch (e) {
          if (isEdgelakeError(e, 'not-modified')) metrics.unchanged++;
          throw e;
        }
      },
      readRange: async (path: string, offset: number, length: number, options?: ReadOptions) => count(await source.readRange(path, offset, length, counted(options))),
      ...(readRanges && { readRanges: async (path: string, ranges: readonly ByteRange[], options?: ReadOptions) => count(await readRanges(path, ranges, counted(options))) }),
    },
  };
}
