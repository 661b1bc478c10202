import { EdgelakeError, isEdgelakeError } from '../errors.js';
import type { ByteRange, ReadOptions, Source } from './source.js';

/**
 * An 'unreachable' error that says when the server wants to be asked again (HTTP 429 or 503
 * with Retry-After). Any Source may throw it; `withRetry` waits exactly that long.
 */
export class RetryLaterError extends EdgelakeError {
  readonly retryAfterMs: number | undefined;
  constructor(message: string, retryAfterMs: number | undefined, options?: { cause?: unknown }) {
    super('unreachable', message, options);
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * An 'integrity' error about bytes in transit, not about the file: they failed their check (a
 * hash against the name, a Content-Range against the range asked). `withRetry` fetches again;
 * only a mismatch that persists through every attempt is final.
 */
export class CorruptTransferError extends EdgelakeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('integrity', message, options);
  }
}

/** Whether a failed read is worth another attempt: the remote was unreachable, or the bytes were damaged on the way. */
export function isTransient(e: unknown): e is EdgelakeError {
  return isEdgelakeError(e, 'unreachable') || e instanceof CorruptTransferError;
}

export interface RetryOptions {
  /** Attempts after the first one. */
  retries?: number;
  /** Backoff before retry k is random() * min(maxDelayMs, baseDelayMs * 2^k): "full jitter". */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** A server asking for a longer pause than this gets the error instead of a hung reader. */
  maxRetryAfterMs?: number;
  random?: () => number;
  /** Waits `ms` or rejects with the signal's reason; tests pass one that records delays. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

// Six retries: at one fault in five responses, a read still fails only once in ~80,000.
export const DEFAULT_RETRY = {
  retries: 6,
  baseDelayMs: 200,
  maxDelayMs: 10_000,
  maxRetryAfterMs: 60_000,
} as const;

/**
 * Retries reads that failed transiently (isTransient: unreachable, or bytes damaged in transit);
 * every other failure is final. Each retry is reported to the read's `onRetry`, which a metrics
 * layer above counts.
 */
export function withRetry(source: Source, options: RetryOptions = {}): Source {
  const retries = options.retries ?? DEFAULT_RETRY.retries;
  const baseDelayMs = options.baseDelayMs ?? DEFAULT_RETRY.baseDelayMs;
  const maxDelayMs = options.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULT_RETRY.maxRetryAfterMs;
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? abortableSleep;
  if (!Number.isInteger(retries) || retries < 0) {
    throw new EdgelakeError('invalid-input', `retries must be a whole number >= 0, not ${retries}`);
  }

  async function attempt<T>(read: () => Promise<T>, { signal, onRetry }: ReadOptions = {}): Promise<T> {
    for (let k = 0; ; k++) {
      try {
        return await read();
      } catch (e) {
        if (!isTransient(e) || signal?.aborted) throw e;
        const asked = e instanceof RetryLaterError ? e.retryAfterMs : undefined;
        if (asked !== undefined && asked > maxRetryAfterMs) {
          const wait = `the server asked to wait ${Math.ceil(asked / 1000)} s, more than maxRetryAfterMs (${maxRetryAfterMs} ms) allows`;
          throw new EdgelakeError(e.code, `${e.message} (${wait})`, { cause: e });
        }
        if (k >= retries) {
          const persisted = e.code === 'integrity' ? `the same in every one of ${k + 1} attempts` : `gave up after ${k + 1} attempts`;
          throw new EdgelakeError(e.code, `${e.message} (${persisted})`, { cause: e });
        }
        onRetry?.(e);
        await sleep(asked ?? random() * Math.min(maxDelayMs, baseDelayMs * 2 ** k), signal);
      }
    }
  }

  const readRanges = source.readRanges?.bind(source);
  return {
    location: source.location,
    read: (path: string, opts?: ReadOptions) => attempt(() => source.read(path, opts), opts),
    readRange: (path: string, offset: number, length: number, opts?: ReadOptions) =>
      attempt(() => source.readRange(path, offset, length, opts), opts),
    ...(readRanges && { readRanges: (path: string, ranges: readonly ByteRange[], opts?: ReadOptions) => attempt(() => readRanges(path, ranges, opts), opts) }),
  };
}

/** setTimeout as a promise that an AbortSignal can cut short. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
