import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSamples } from '../../src/runtime/dataset/decode.js';
import { chunkPath } from '../../src/format/index.js';
import { cases, fresh, type Case } from '../runtime/loader/workers/fixtures.js';
import { bundle, noChromium, openBrowser, type Browser } from './chromium.js';
import type { PlainTask } from './decode-pool.entry.js';

const ENTRY = fileURLToPath(new URL('./decode-pool.entry.ts', import.meta.url));
const WORKER = fileURLToPath(new URL('../../src/runtime/loader/workers/decode-worker.browser.ts', import.meta.url));
const DYING = fileURLToPath(new URL('./dying-decode-worker.ts', import.meta.url));

describe.skipIf(noChromium)('browserWorkerPool on module Web Workers in Chromium', () => {
  let browser: Browser;
  let all: Case[];
  beforeAll(async () => {
    all = await cases();
    // The worker entry is bundled on its own and its URL handed to the pool, as an app's bundler would.
    const [entry, worker, dying] = await Promise.all([bundle(ENTRY), bundle(WORKER), bundle(DYING)]);
    // all[2]'s chunk is also served where a fetch task finds it, under the page's origin.
    browser = await openBrowser({ '/entry.js': entry, '/decode-worker.js': worker, '/dying-decode-worker.js': dying, [`/ds/${chunkPath(all[2].task.ref.hash)}`]: all[2].task.stored });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('decodes chunks in two Web Workers exactly as the inline decode does, here and in Node', async () => {
    const tasks: PlainTask[] = all.map((c) => ({ ...c.task, stored: [...c.task.stored] }));
    const page = await browser.open();
    const r = await page.evaluate(([t, url]) => window.decodePoolTest.run(t, url), [tasks, '/decode-worker.js'] as const);
    console.log(`Chromium: ${tasks.length} chunks (${all.map((c) => c.name).join(', ')}) + 20 concurrent + 1 damaged on 2 workers in ${r.ms.toFixed(0)} ms`);
    expect(r.pooled).toEqual(r.inline);
    const node = await Promise.all(all.map(async (c) => {
      const d = await decodeSamples(fresh(c.task));
      return { data: [...d.data], offsets: [...d.offsets], ...(d.shapes ? { shapes: [...d.shapes] } : {}) };
    }));
    expect(r.pooled).toEqual(node);
    expect(r.concurrent).toEqual(r.concurrent.map((_, i) => node[i % node.length]));
    expect(r.detached).toEqual(tasks.map(() => true));
    expect(r.error).toEqual({ edgelake: true, code: 'integrity', message: "dataset test, tensor raw, chunk 0: bytes do not match the chunk's SHA-256 name" });
    await page.close();
  });

  it('a worker that closes itself (no event fires) is noticed by the watchdog and replaced: its fetch runs again, its decode fails naming it', async () => {
    const tasks: PlainTask[] = all.map((c) => ({ ...c.task, stored: [...c.task.stored] }));
    const c = all[2];
    const fetch = { ref: c.task.ref, tensor: c.task.tensor, limits: c.task.limits, where: c.task.where, fetch: { root: `${browser.origin}/ds`, options: {}, path: chunkPath(c.task.ref.hash) } };
    const page = await browser.open();
    const r = await page.evaluate(([t, f, url]) => window.decodePoolTest.lost(t, f, url, 250), [tasks, fetch, '/dying-decode-worker.js'] as const);
    console.log(`Chromium: 6 calls on workers that close themselves on their 3rd, 2 lost, in ${r.ms.toFixed(0)} ms`);
    const want = await Promise.all([0, 1, 2].map(async (i) => {
      const d = await decodeSamples(fresh(all[i].task));
      return { data: [...d.data], offsets: [...d.offsets], ...(d.shapes ? { shapes: [...d.shapes] } : {}) };
    }));
    // First how each call settled (a hang shows as 'still pending after 10 s'), then what it gave.
    expect(r.steps.map((s) => (s.ok ? 'ok' : s.message))).toEqual(['ok', 'ok', 'ok', 'ok', expect.stringContaining('decode worker 0 failed: sent no reply'), 'ok']);
    expect(r.steps).toEqual([
      { ok: true, value: want[0] },
      { ok: true, value: want[1] },
      { ok: true, value: want[2] },
      { ok: true, value: want[0] },
      {
        ok: false,
        edgelake: true,
        code: 'worker-lost',
        message: expect.stringMatching(/^dataset test, tensor \S+, chunk 0: decode worker 0 failed: sent no reply for 0\.\d s, not even to a ping \(it closed itself, ran out of memory or crashed\); its bytes had moved into that worker, so the task was not retried$/),
      },
      { ok: true, value: want[2] },
    ]);
    await page.close();
  });
});
