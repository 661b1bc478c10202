/**
 * bench/jpeg.ts's GPU path as the loader runs it: worker threads entropy-decode JPEGs into packed
 * coefficients (packJpegCoefficients, one transferable buffer), while this thread uploads each
 * one as it arrives and reconstructs it on the adapter. This file is both the pool and the worker.
 */
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import { packJpegCoefficients, readJpegCoefficients, unpackJpegCoefficients } from '../src/format/index.js';
import { reconstructOnDevice } from '../src/format/image/decode-image.js';

interface Job { id: number; bytes: Uint8Array }
interface Done { id: number; packed?: Uint8Array; error?: string }

if (!isMainThread) {
  parentPort!.on('message', ({ id, bytes }: Job) => {
    try {
      const packed = packJpegCoefficients(readJpegCoefficients(bytes, { name: `file ${id}` }), 1);
      parentPort!.postMessage({ id, packed } satisfies Done, [packed.buffer as ArrayBuffer]);
    } catch (e) {
      parentPort!.postMessage({ id, error: String(e) } satisfies Done);
    }
  });
}

export interface WorkerDecoder {
  /** Decodes every file to RGB pixels on `device`; resolves when all are read back. */
  decodeAll(files: readonly Uint8Array[], device: GPUDevice): Promise<void>;
  close(): Promise<void>;
}

export function workerDecoder(count: number): WorkerDecoder {
  // tsx registered by an eval entry: a worker's execArgv does not reach a .ts entry on Node 20.
  const entry = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); });`;
  const workers = Array.from({ length: count }, () => new Worker(entry, { eval: true }));
  return {
    async decodeAll(files, device) {
      const reconstructions: Promise<void>[] = [];
      await new Promise<void>((resolve, reject) => {
        let next = 0;
        let done = 0;
        const feed = (w: Worker) => {
          if (next < files.length) w.postMessage({ id: next, bytes: files[next++] } satisfies Job);
        };
        for (const w of workers) {
          w.removeAllListeners('message');
          w.on('message', (m: Done) => {
            feed(w);
            if (m.error !== undefined) return reject(new Error(m.error));
            reconstructions.push(reconstruct(device, m.packed!));
            if (++done === files.length) resolve();
          });
          feed(w);
          feed(w); // two in flight per worker: one decoding, one queued
        }
      });
      await Promise.all(reconstructions);
    },
    close: async () => {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

async function reconstruct(device: GPUDevice, packed: Uint8Array): Promise<void> {
  const { coef, scale } = unpackJpegCoefficients(packed);
  await reconstructOnDevice(device, coef, scale);
}
