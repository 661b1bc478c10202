import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSamples } from '../../src/runtime/dataset/decode.js';
import { cases, fresh, type Case } from '../runtime/loader/workers/fixtures.js';
import { bundle, noChromium, openBrowser, type Browser } from './chromium.js';
import type { PlainTask } from './decode-pool.entry.js';

const ENTRY = fileURLToPath(new URL('./decode-pool.entry.ts', import.meta.url));
const WORKER = fileURLToPath(new URL('../../src/runtime/loader/workers/decode-worker.browser.ts', import.meta.url));

describe.skipIf(noChromium)('browserWorkerPool on module Web Workers in Chromium', () => {
  let browser: Browser;
  let all: Case[];
  beforeAll(async () => {
    all = await cases();
    // The worker entry is bundled on its own and its URL handed to the pool, as an app's bundler would.
    const [entry, worker] = await Promise.all([bundle(ENTRY), bundle(WORKER)]);
    browser = await openBrowser({ '/entry.js': entry, '/decode-worker.js': worker });
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
});
