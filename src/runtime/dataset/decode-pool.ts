import type { ErrorCode } from '../../errors.js';
import type { RemoteRoot } from './chain.js';
import type { DecodedSamples, DecodeTask } from './decode.js';

/*
 * Where chunks are decoded: the contract. Pools implement it in src/runtime/loader/workers/
 * (this thread, worker_threads, Web Workers); a dataset only carries the platform's factory for
 * its loaders.
 */

/** A chunk for a worker to read through its own remote chain (remoteChain) and decode, so network I/O stays off the calling thread. */
export type FetchTask = Omit<DecodeTask, 'stored' | 'verified'> & { fetch: RemoteRoot & { path: string } };

/**
 * Decoded samples and the stored bytes the worker read (they go on up the dataset's chain), with
 * the transient faults its remote retried on the way (replayed to the chain's metrics).
 */
export type FetchedSamples = DecodedSamples & { stored: Uint8Array; retries: { code: ErrorCode; message: string }[] };

export interface DecodePool {
  /** Number of workers; 0 when decoding runs on the calling thread. */
  readonly size: number;
  decode(task: DecodeTask): Promise<DecodedSamples>;
  /** Reads and decodes in a worker; only pools of workers that can open a root (size > 0). */
  fetch?(task: FetchTask): Promise<FetchedSamples>;
  /** Resolves once every worker has loaded and answered (at once for a pool of none); rejects if one failed to. */
  ready?(): Promise<void>;
  /** Stops the workers; decodes still running reject. */
  close(): Promise<void>;
}

/** Makes a pool of `size` workers: the platform's (worker_threads in Node, Web Workers in browsers). */
export type PoolFactory = (size: number) => DecodePool;
