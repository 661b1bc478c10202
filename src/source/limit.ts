import { EdgelakeError } from '../errors.js';
import type { ByteRange, ReadOptions, Source } from './source.js';

interface Waiter {
  start(): void;
  fail(reason: unknown): void;
  signal?: AbortSignal;
}

/** At most `n` reads in flight; the rest wait in arrival order, and leave the queue if aborted. */
export function withConcurrency(source: Source, n: number): Source {
  if (!Number.isInteger(n) || n < 1) {
    throw new EdgelakeError('invalid-input', `concurrency must be a whole number >= 1, not ${n}`);
  }
  let active = 0;
  const waiting: Waiter[] = [];
  // One abort listener per signal, however many reads wait on it (a loader queues dozens on one).
  const watched = new Map<AbortSignal, { waiters: Set<Waiter>; onAbort: () => void }>();

  function acquire(signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (active < n) {
      active++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { start: resolve, fail: reject, signal };
      waiting.push(waiter);
      if (signal) watch(signal).waiters.add(waiter);
    });
  }

  function watch(signal: AbortSignal) {
    let entry = watched.get(signal);
    if (!entry) {
      const onAbort = () => {
        watched.delete(signal);
        for (const w of entry!.waiters) {
          waiting.splice(waiting.indexOf(w), 1);
          w.fail(signal.reason);
        }
      };
      entry = { waiters: new Set(), onAbort };
      watched.set(signal, entry);
      signal.addEventListener('abort', onAbort, { once: true });
    }
    return entry;
  }

  function release(): void {
    const next = waiting.shift();
    if (!next) {
      active--;
      return;
    }
    // The slot is handed over, so `active` is not decremented in between.
    const entry = next.signal && watched.get(next.signal);
    if (entry && entry.waiters.delete(next) && entry.waiters.size === 0) {
      watched.delete(next.signal!);
      next.signal!.removeEventListener('abort', entry.onAbort);
    }
    next.start();
  }

  async function limited<T>(read: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    await acquire(signal);
    try {
      return await read();
    } finally {
      release();
    }
  }

  const readRanges = source.readRanges?.bind(source);
  return {
    location: source.location,
    read: (path: string, options?: ReadOptions) => limited(() => source.read(path, options), options?.signal),
    readRange: (path: string, offset: number, length: number, options?: ReadOptions) =>
      limited(() => source.readRange(path, offset, length, options), options?.signal),
    ...(readRanges && { readRanges: (path: string, ranges: readonly ByteRange[], options?: ReadOptions) => limited(() => readRanges(path, ranges, options), options?.signal) }),
  };
}
