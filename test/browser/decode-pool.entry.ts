/**
 * Bundled into the page by decode-pool.test.ts: browserWorkerPool on real module Web Workers.
 * Tasks arrive and results leave as plain JSON (number arrays) across the page boundary.
 */
import type { DecodedSamples, DecodeTask } from '../../src/runtime/dataset/decode.js';
import { inlinePool } from '../../src/runtime/loader/workers/pool.js';
import { browserWorkerPool, EdgelakeError } from '../../src/index.js';

export type PlainTask = Omit<DecodeTask, 'stored'> & { stored: number[] };
export interface Plain { data: number[]; offsets: number[]; shapes?: number[] }
export interface DecodePoolResult {
  pooled: Plain[];
  inline: Plain[];
  /** Whether each task's stored buffer was detached here: it moved into a worker. */
  detached: boolean[];
  concurrent: Plain[];
  error: { edgelake: boolean; code?: string; message: string };
  ms: number;
}

declare global {
  interface Window {
    decodePoolTest: { run(tasks: PlainTask[], workerUrl: string): Promise<DecodePoolResult> };
  }
}

const plain = (d: DecodedSamples): Plain => ({ data: [...d.data], offsets: [...d.offsets], ...(d.shapes ? { shapes: [...d.shapes] } : {}) });
const task = (t: PlainTask): DecodeTask => ({ ...t, stored: Uint8Array.from(t.stored) });

window.decodePoolTest = {
  async run(tasks, workerUrl) {
    const pool = browserWorkerPool(2, workerUrl);
    const started = performance.now();
    try {
      const inline = await Promise.all(tasks.map((t) => inlinePool().decode(task(t))));
      const pooled: Plain[] = [];
      const detached: boolean[] = [];
      for (const t of tasks) {
        const own = task(t);
        pooled.push(plain(await pool.decode(own)));
        detached.push(own.stored.buffer.byteLength === 0);
      }
      const many = Array.from({ length: 20 }, (_, i) => task(tasks[i % tasks.length]));
      const concurrent = (await Promise.all(many.map((t) => pool.decode(t)))).map(plain);
      const bad = task(tasks[0]);
      bad.stored[bad.stored.length - 1] ^= 0xff;
      const e = await pool.decode(bad).then(() => new Error('decoded a damaged chunk'), (e: unknown) => e as Error);
      const error = { edgelake: e instanceof EdgelakeError, code: (e as EdgelakeError).code, message: e.message };
      return { pooled, inline: inline.map(plain), detached, concurrent, error, ms: performance.now() - started };
    } finally {
      await pool.close();
    }
  },
};
