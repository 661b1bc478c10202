import { EdgelakeError } from '../errors.js';
import type { ReadOptions, Source } from './source.js';

/** At most `n` reads in flight; the rest wait in arrival order, and leave the queue if aborted. */
export function withConcurrency(source: Source, n: number): Source {
  if (!Number.isInteger(n) || n < 1) {
    throw new EdgelakeError('invalid-input', `concurrency must be a whole number >= 1, not ${n}`);
  }
  let active = 0;
  const waiting: Array<() => void> = [];

  function acquire(signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (active < n) {
      active++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        waiting.splice(waiting.indexOf(start), 1);
        reject(signal!.reason);
      };
      // The slot is handed over by release(), so `active` is not decremented in between.
      const start = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      waiting.push(start);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  function release(): void {
    const next = waiting.shift();
    if (next) next();
    else active--;
  }

  async function limited<T>(read: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    await acquire(signal);
    try {
      return await read();
    } finally {
      release();
    }
  }

  return {
    location: source.location,
    read: (path: string, options?: ReadOptions) => limited(() => source.read(path, options), options?.signal),
    readRange: (path: string, offset: number, length: number, options?: ReadOptions) =>
      limited(() => source.readRange(path, offset, length, options), options?.signal),
  };
}
