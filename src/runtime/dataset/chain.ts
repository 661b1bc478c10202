import type { ChunkCache } from '../../cache/cache.js';
import { withCache } from '../../cache/cached-source.js';
import { verifyContentAddress } from '../../format/content-address.js';
import { withMetrics, type SourceMetrics } from '../../source/metrics.js';
import { withDefaults, type OpenSourceOptions } from '../../source/open.js';
import type { ReadOptions, Source } from '../../source/source.js';
import { withVerify } from '../../source/verify.js';

/*
 * A dataset's one chain of Sources, from the storage up (docs/LOADER.md, "One source chain"):
 *
 *   transport   file | http(s) | s3: bytes by path and range, nothing else
 *   verify      chunks and version manifests against the SHA-256 their names carry
 *   retry       transient faults, with backoff that honours Retry-After
 *   concurrency reads in flight (a read waiting out a backoff keeps its slot)
 *   ---------- the remote: built by remoteChain(), here or in a decode worker ----------
 *   metrics     requests and bytes that reached the remote (Dataset.network)
 *   cache       persistent chunks (ChunkCache): it trusts what verify passed
 *
 * A read may bring its own remote (ReadOptions.via: a decode worker that built the same remote
 * with remoteChain); it still passes metrics and the cache.
 */

/** A dataset root a decode worker can open itself: a root string and structured-cloneable source options. */
export interface RemoteRoot {
  root: string;
  /** OpenSourceOptions without functions; `concurrency` caps the worker's own reads. */
  options: OpenSourceOptions;
}

/** The remote part of the chain over a transport: transport -> verify -> retry -> concurrency. */
export function remoteChain(transport: Source, options: Pick<OpenSourceOptions, 'retry' | 'concurrency'> = {}): Source {
  return withDefaults(withVerify(transport, verifyContentAddress), options);
}

/** The layers above the remote: the read's own remote if it brings one, then metrics, then the cache. */
export function datasetChain(remote: Source, cache?: ChunkCache): { source: Source; metrics: SourceMetrics } {
  const { source: counted, metrics } = withMetrics(elsewhereOr(remote));
  return { source: cache ? withCache(counted, cache, { verified: true }) : counted, metrics };
}

/** `remote`, except for reads that bring their own (ReadOptions.via). */
function elsewhereOr(remote: Source): Source {
  return {
    location: remote.location,
    read: (path: string, options: ReadOptions = {}) => (options.via ? options.via(path, options) : remote.read(path, options)),
    readRange: (path: string, offset: number, length: number, options?: ReadOptions) => remote.readRange(path, offset, length, options),
    ...(remote.readRanges && { readRanges: remote.readRanges.bind(remote) }),
  };
}

/** The root and its source options, when they can cross to a worker (a custom fetch function cannot). */
export function remoteRoot(root: string, { http, s3, retry, concurrency }: OpenSourceOptions): RemoteRoot | undefined {
  try {
    return { root, options: structuredClone({ http, s3, retry, concurrency }) };
  } catch {
    return undefined;
  }
}
