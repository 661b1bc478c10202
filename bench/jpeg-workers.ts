/**
 * bench/jpeg.ts's GPU path as the loader runs it: worker threads entropy-decode JPEGs into packed
 * coefficients (packJpegCoefficients, one transferable buffer), while this thread reconstructs
 * them on the adapter a group at a time, as the loader's transform does (encodeJpegSamples), and
 * reads the pixels back. This file is both the pool and the worker.
 */
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import { packJpegCoefficients, readJpegCoefficients } from '../src/format/index.js';
import { acquireBuffer, releaseBuffer, Transients, unpackJpegPixels } from '../src/kernels/index.js';
import { encodeJpegSamples } from '../src/runtime/loader/jpeg-batch.js';

/** Images reconstructed together, as a loader batch would hold them. */
const GROUP = 8;
/** A group's RGBA output stays within one storage binding (WebGPU's default limit is 128 MiB). */
const GROUP_PIXEL_BYTES = 64 << 20;

interface Job { id: number; bytes: Uint8Array }
interface Done { id: number; packed?: Uint8Array; pixels?: number; error?: string }

if (!isMainThread) {
  parentPort!.on('message', ({ id, bytes }: Job) => {
    try {
      const image = readJpegCoefficients(bytes, { name: `file ${id}` });
      const packed = packJpegCoefficients(image, 1);
      parentPort!.postMessage({ id, packed, pixels: image.width * image.height } satisfies Done, [packed.buffer as ArrayBuffer]);
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
      const pending: Uint8Array[] = [];
      let pendingBytes = 0;
      const flush = () => {
        reconstructions.push(reconstruct(device, pending.splice(0)));
        pendingBytes = 0;
      };
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
            // As the loader does: a batch of images in two dispatches, once a group has arrived.
            if (pending.length > 0 && pendingBytes + m.pixels! * 4 > GROUP_PIXEL_BYTES) flush();
            pending.push(m.packed!);
            pendingBytes += m.pixels! * 4;
            if (++done === files.length || pending.length === GROUP) flush();
            if (done === files.length) resolve();
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

/** The loader's GPU path (encodeJpegSamples, pooled buffers) on a group of images, then their pixels read back. */
async function reconstruct(device: GPUDevice, packed: Uint8Array[]): Promise<void> {
  const acquired: GPUBuffer[] = [];
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
  const buffer = (bytes: number, what: string, use = usage) => {
    acquired.push(acquireBuffer(device, Math.max(4, bytes), use, `bench ${what}`));
    return acquired.at(-1)!;
  };
  const transients = new Transients();
  try {
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    const { pixels, offsets, shapes } = encodeJpegSamples(device, pass, packed, buffer, transients);
    pass.end();
    const bytes = offsets.at(-1)! + shapes[shapes.length - 3] * shapes[shapes.length - 2] * 4;
    const readback = buffer(bytes, 'read-back', GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
    encoder.copyBufferToBuffer(pixels, 0, readback, 0, bytes);
    device.queue.submit([encoder.finish()]);
    await readback.mapAsync(GPUMapMode.READ, 0, bytes);
    const words = new Uint32Array(readback.getMappedRange(0, bytes));
    offsets.forEach((at, i) => unpackJpegPixels(words.subarray(at / 4), shapes[3 * i + 1], shapes[3 * i], 3));
    readback.unmap();
  } finally {
    transients.destroy();
    for (const b of acquired) releaseBuffer(b);
  }
}
