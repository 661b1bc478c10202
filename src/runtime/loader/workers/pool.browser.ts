import { wrap } from 'comlink';
import { EdgelakeError } from '../../../errors.js';
import { WorkerPool, type DecodeApi, type DecodePool, type PoolWorker, type WorkerPoolOptions } from './pool.js';

/**
 * A pool of `size` module Web Workers decoding chunks. Vite and webpack see the default
 * `new URL(…, import.meta.url)` and emit the worker; esbuild leaves it as is, so bundle the
 * `edgelake/decode-worker` export as an entry of its own and pass its URL as `workerUrl`.
 * A worker lost (closed, killed, silent past `options.silenceMs`) is replaced; see WorkerPool.
 */
export function browserWorkerPool(size: number, workerUrl?: string | URL, options: Pick<WorkerPoolOptions, 'silenceMs'> = {}): DecodePool {
  if (!Number.isInteger(size) || size < 1) throw new EdgelakeError('invalid-input', `a worker pool needs a whole number of workers >= 1, got ${size}`);
  const spawn = (i: number): PoolWorker => {
    const worker = workerUrl === undefined
      ? new Worker(new URL('./decode-worker.browser.js', import.meta.url), { type: 'module', name: `edgelake-decode-${i}` })
      : new Worker(workerUrl, { type: 'module', name: `edgelake-decode-${i}` });
    return {
      remote: wrap<DecodeApi>(worker),
      terminate: () => worker.terminate(),
      // A worker that closed itself or was killed fires nothing: the pool's watchdog (silenceMs) notices it.
      onError(listener) {
        // A worker that fails to load or throws at top level reports only here.
        worker.addEventListener('error', (e) => listener(new Error(e.message || 'the worker script failed to load or run')));
        worker.addEventListener('messageerror', () => listener(new Error('a message could not be deserialized')));
      },
    };
  };
  return new WorkerPool(Array.from({ length: size }, (_, i) => spawn(i)), { ...options, respawn: spawn });
}
