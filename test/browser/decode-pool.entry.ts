/**
 * Bundled into the page by decode-pool.test.ts: browserWorkerPool on real module Web Workers.
 * Tasks arrive and results leave as plain JSON (number arrays) across the page boundary.
 */
import type { DecodedSamples, DecodeTask } from '../../src/runtime/dataset/decode.js';
import type { FetchTask } from '../../src/runtime/dataset/decode-pool.js';
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

/** How each call settled, in order, and how long the whole took. */
export interface LostResult {
  steps: ({ ok: true; value: Plain } | { ok: false; edgelake: boolean; code?: string; message: string })[];
  ms: number;
}

declare global {
  interface Window {
    decodePoolTest: {
      run(tasks: PlainTask[], workerUrl: string): Promise<DecodePoolResult>;
      lost(tasks: PlainTask[], fetch: FetchTask, workerUrl: string, silenceMs: number): Promise<LostResult>;
    };
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

  /** One worker that closes itself on its 3rd call (so does each that replaces it): decode, decode, fetch, decode, decode, decode. */
  async lost(tasks, fetch, workerUrl, silenceMs) {
    const pool = browserWorkerPool(1, workerUrl, { silenceMs });
    const started = performance.now();
    // A call still pending after 10 s counts as hung (the bug: nothing ever settled it).
    const settle = (p: Promise<DecodedSamples>): Promise<LostResult['steps'][number]> => Promise.race([
      p.then((d) => ({ ok: true as const, value: plain(d) }), (e: unknown) => ({ ok: false as const, edgelake: e instanceof EdgelakeError, code: (e as EdgelakeError).code, message: (e as Error).message })),
      new Promise<LostResult['steps'][number]>((r) => setTimeout(() => r({ ok: false, edgelake: false, message: 'still pending after 10 s' }), 10_000)),
    ]);
    try {
      await Promise.race([pool.ready!(), new Promise((_, reject) => setTimeout(() => reject(new Error('the worker did not load in 10 s')), 10_000))]);
      const steps: LostResult['steps'] = [];
      steps.push(await settle(pool.decode(task(tasks[0]))));
      steps.push(await settle(pool.decode(task(tasks[1]))));
      steps.push(await settle(pool.fetch!(fetch).then(({ stored: _, retries: __, ...d }) => d))); // closes; retried on a fresh worker
      steps.push(await settle(pool.decode(task(tasks[0]))));
      steps.push(await settle(pool.decode(task(tasks[1])))); // the fresh one's 3rd: closes; its bytes moved, so it fails
      steps.push(await settle(pool.decode(task(tasks[2])))); // on the worker after that
      return { steps, ms: performance.now() - started };
    } finally {
      await pool.close();
    }
  },
};
