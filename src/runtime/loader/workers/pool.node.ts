import { wrap } from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { EdgelakeError } from '../../../errors.js';
import { WorkerPool, type DecodeApi, type DecodePool, type PoolWorker, type WorkerPoolOptions } from './pool.js';

/**
 * The built worker (dist/…/decode-worker.node.js), or, when running from TypeScript sources
 * (vitest, tsx) where no .js exists, the .ts entry behind tsx's loader. A worker's
 * `execArgv: ['--import', 'tsx']` does not reach its entry on Node 20 ("Unknown file extension
 * .ts"), so a small eval script registers tsx first, resolved from here rather than the cwd.
 */
function workerEntry(): { entry: URL | string; eval: boolean } {
  const js = new URL('./decode-worker.node.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return { entry: js, eval: false };
  const ts = new URL('./decode-worker.node.ts', import.meta.url).href;
  let tsx: string;
  try {
    tsx = import.meta.resolve('tsx/esm/api');
  } catch (e) {
    throw new Error(`${fileURLToPath(js)} is missing (build the package) and tsx, which runs the .ts source, is not installed`, { cause: e });
  }
  return { entry: `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(ts)}); });`, eval: true };
}

/** A pool of `size` worker_threads decoding chunks; idle workers do not keep the process alive. */
export function nodeWorkerPool(size: number, options: Pick<WorkerPoolOptions, 'silenceMs'> = {}): DecodePool {
  if (!Number.isInteger(size) || size < 1) throw new EdgelakeError('invalid-input', `a worker pool needs a whole number of workers >= 1, got ${size}`);
  const { entry, eval: isEval } = workerEntry();
  const spawn = (i: number) => nodePoolWorker(new Worker(entry, { eval: isEval, name: `edgelake-decode-${i}` }));
  return new WorkerPool(Array.from({ length: size }, (_, i) => spawn(i)), { ...options, respawn: spawn });
}

/** A worker_threads Worker as a pool sees it: a worker that exits on its own (process.exit, out of memory) fails at once. */
export function nodePoolWorker(worker: Worker): PoolWorker {
  let terminating = false;
  return {
    remote: wrap<DecodeApi>(nodeEndpoint(worker)),
    terminate: () => ((terminating = true), worker.terminate()),
    onError(listener) {
      worker.on('error', listener);
      worker.on('exit', (code) => terminating || listener(new Error(`exited with code ${code}`)));
    },
    // Ref while a task runs: an awaited decode must keep the process alive until it answers.
    busy: (busy) => (busy ? worker.ref() : worker.unref()),
  };
}
