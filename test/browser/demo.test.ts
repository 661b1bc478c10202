import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATASET_DIR, serveStatic, startDemo, type RunningDemo, type ServedRequest } from '../../demo/web/serve.js';
import { Loader } from '../../src/index.js';
import { openDataset } from '../../src/node.js';
import { CHROMIUM, noChromium, openBrowser, type Browser } from './chromium.js';
import { idle, text } from './demo-page.js';

// The browser demo as users get it (Vite's bundle, the demo server), in Debian's Chromium on
// SwiftShader's WebGPU. Small rounds and few epochs: SwiftShader runs the kernels on the CPU.
const OUT = 'test-output';
const RUN = 'auto=1&round=50&epochs=2&baseline=1&strategy=margin';
const CHUNK = /\/data\/fashion-mnist-subset\/chunks\//;
const NO_WEBGPU = ['--headless', '--no-sandbox', '--disable-features=WebGPU', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

interface Logged extends ServedRequest {
  session: number;
  run: string;
}

describe('demo server: static files with byte ranges', () => {
  it('answers ranges (206, 416), ETags (304), HEAD, and never leaves its folders', async () => {
    const root = mkdtempSync(join(tmpdir(), 'edgelake-serve-'));
    mkdirSync(join(root, 'site/data'), { recursive: true });
    writeFileSync(join(root, 'site/index.html'), '<!doctype html>');
    writeFileSync(join(root, 'site/data/blob.bin'), Uint8Array.from({ length: 100 }, (_, i) => i));
    writeFileSync(join(root, 'secret.txt'), 'no');
    const server = serveStatic({ '/': join(root, 'site'), '/d': join(root, 'site/data') });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const port = (server.address() as AddressInfo).port;
    // Raw requests: fetch would tidy "../" away before it left.
    const get = (path: string, headers: Record<string, string> = {}, method = 'GET') => new Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }>((ok, fail) => {
      request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (b: Buffer) => parts.push(b)).on('end', () => ok({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts) }));
      }).on('error', fail).end();
    });
    try {
      const whole = await get('/d/blob.bin');
      expect([whole.status, whole.body.length, whole.headers['accept-ranges'], whole.headers['content-length']]).toEqual([200, 100, 'bytes', '100']);
      const etag = String(whole.headers.etag);
      const part = await get('/d/blob.bin', { range: 'bytes=10-19' });
      expect([part.status, part.headers['content-range'], [...part.body]]).toEqual([206, 'bytes 10-19/100', [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]]);
      expect([...(await get('/d/blob.bin', { range: 'bytes=-3' })).body]).toEqual([97, 98, 99]);
      expect((await get('/d/blob.bin', { range: 'bytes=95-500' })).headers['content-range']).toBe('bytes 95-99/100');
      const outside = await get('/d/blob.bin', { range: 'bytes=100-' });
      expect([outside.status, outside.headers['content-range']]).toEqual([416, 'bytes */100']);
      expect((await get('/d/blob.bin', { range: 'bytes=0-1, 5-6' })).status).toBe(200); // several ranges: the whole file
      expect((await get('/d/blob.bin', { range: 'bytes=0-9', 'if-range': '"stale"' })).status).toBe(200);
      expect((await get('/d/blob.bin', { 'if-none-match': etag })).status).toBe(304);
      const head = await get('/d/blob.bin', {}, 'HEAD');
      expect([head.status, head.headers['content-length'], head.body.length]).toEqual([200, '100', 0]);
      expect((await get('/d/blob.bin', {}, 'PUT')).status).toBe(405);
      expect((await get('/')).body.toString()).toBe('<!doctype html>');
      for (const path of ['/../secret.txt', '/d/../../secret.txt', '/d/%2e%2e/%2e%2e/secret.txt', '/d/..%2f..%2fsecret.txt', '/d/..%5c..%5csecret.txt', '/d/%00']) {
        expect((await get(path)).status, path).toBe(403);
      }
      expect((await get('/d')).status).toBe(404); // a folder without index.html: no listing
      expect((await get('/nothing.js')).status).toBe(404);
    } finally {
      server.closeAllConnections();
      server.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

// SwiftShader shares two cores with the rest of `npm test`: generous limits, though alone it takes about 35 s.
describe.skipIf(noChromium)('browser demo: active learning in Chromium with WebGPU', { timeout: 120_000 }, () => {
  let demo: RunningDemo;
  let browser: Browser;
  let page: Page;
  let session = 1;
  const scratch = mkdtempSync(join(tmpdir(), 'edgelake-demo-'));
  const served: Logged[] = [];
  /** What the page asked for, by session: "run|url|range". */
  const asked = new Map<number, string[]>();
  const timings: string[] = [];
  /** Requests the page saw fail (devtools' net::ERR_ABORTED and the like): none should. */
  const failed: string[] = [];
  const t0 = performance.now();
  const lap = (what: string) => timings.push(`${what} ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  beforeAll(async () => {
    demo = await startDemo({ port: 0, appDir: join(scratch, 'app'), onRequest: (r) => served.push({ ...r, session, run: String(r.headers['x-edgelake-run'] ?? '') }) });
    lap('built and serving');
    browser = await openBrowser({});
    page = await browser.context.newPage();
    page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
    page.on('requestfailed', (r) => failed.push(`${r.failure()?.errorText} ${r.url()}`));
    page.on('request', (r) => {
      if (!CHUNK.test(r.url())) return;
      const h = r.headers();
      const list = asked.get(session) ?? [];
      list.push(`${h['x-edgelake-run'] ?? ''}|${r.url()}|${h.range ?? ''}`);
      asked.set(session, list);
    });
    mkdirSync(OUT, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await demo?.close();
    rmSync(scratch, { recursive: true, force: true });
    console.log(`demo test timings: ${timings.join(', ')}`);
  });

  it('runs three auto-labelled rounds on SwiftShader: accuracy rises and the chunks land in IndexedDB', async () => {
    await page.goto(`${demo.url}?${RUN}&rounds=3`);
    await page.getByTestId('start').click();
    await idle(page);
    lap('3 rounds');
    expect(await text(page, 'round')).toBe('3');
    expect(await text(page, 'labels')).toBe('150');
    const adapter = await text(page, 'adapter');
    console.log(`adapter: ${adapter}`);
    expect(adapter).toMatch(/swiftshader/i);

    const accuracy = await page.$$eval('[data-testid=log] tr', (rows) => rows.map((r) => Number((r as HTMLElement).dataset.accuracy)).reverse());
    console.log(`accuracy by round: ${accuracy.map((a) => a.toFixed(4)).join(', ')}`);
    expect(accuracy).toHaveLength(3);
    expect(accuracy[2]).toBeGreaterThan(accuracy[0]);
    expect(Number(await text(page, 'accuracy'))).toBe(Number(accuracy[2].toFixed(4)));

    // IndexedDB holds one entry per chunk (and the version manifest) the run fetched, each once.
    const idb = await countIdb(page, 'edgelake-demo');
    const mainPaths = new Set(served.filter((r) => r.run === 'main' && r.status === 200 && /\/(chunks|versions)\//.test(r.path)).map((r) => r.path));
    console.log(`IndexedDB: ${idb.chunks} entries; the server sent the main run ${mainPaths.size} distinct chunks and manifests`);
    expect(idb.chunks).toBeGreaterThan(10);
    expect(idb.index).toBe(idb.chunks);
    expect(idb.chunks).toBe(mainPaths.size);
    expect(await page.getByTestId('cache-bytes').textContent()).toContain(`in ${idb.chunks} chunks`);
    const svg = await page.getByTestId('chart').locator('svg').count();
    expect(svg).toBe(2);
    expect(failed).toEqual([]);
    expect(await page.getByTestId('chart').locator('path.baseline').count()).toBe(2); // the random baseline ran beside it
  });

  it('fits 1280x800 and 390x844 (screenshots in test-output/)', async () => {
    for (const [width, height] of [[1280, 800], [390, 844]]) {
      await page.setViewportSize({ width, height });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow, `horizontal overflow at ${width}px`).toBeLessThanOrEqual(0);
      await page.screenshot({ path: `${OUT}/demo-${width}x${height}.png` });
      // The whole page, laid out at this width: a viewport as tall as the page (fullPage stitches canvases badly).
      await page.setViewportSize({ width, height: await page.evaluate(() => document.documentElement.scrollHeight) });
      await page.screenshot({ path: `${OUT}/demo-${width}x${height}-full.png` });
    }
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('a reload resumes from the saved model and labels, and fetches no chunk it fetched before', async () => {
    const before = Number(await page.getByTestId('bytes-fetched').getAttribute('data-bytes'));
    session = 2;
    await page.goto(`${demo.url}?${RUN}&rounds=1`);
    await page.waitForFunction(() => document.querySelector('[data-testid=round]')?.textContent === '3');
    expect(await text(page, 'labels')).toBe('150');
    await page.getByTestId('start').click();
    await idle(page);
    lap('reload + 1 round');
    expect(await text(page, 'round')).toBe('4');
    expect(await text(page, 'labels')).toBe('200');

    // Every request for a chunk after the reload is for a chunk that run had not fetched before.
    const first = new Set(asked.get(1));
    const again = (asked.get(2) ?? []).filter((k) => first.has(k));
    console.log(`chunk requests: ${first.size} before the reload, ${asked.get(2)?.length ?? 0} after, ${again.length} repeated`);
    expect(first.size).toBeGreaterThan(0);
    expect(again).toEqual([]);
    // The server agrees, and the page's bytes-fetched counter grew by exactly what it sent the main run.
    const sent = (s: number) => served.filter((r) => r.session === s && r.run === 'main' && CHUNK.test(r.path));
    const earlier = new Set(sent(1).map((r) => r.path));
    expect(sent(2).filter((r) => earlier.has(r.path))).toEqual([]);
    const after = Number(await page.getByTestId('bytes-fetched').getAttribute('data-bytes'));
    expect(after - before).toBe(sent(2).reduce((a, r) => a + r.bytes, 0));
    expect(await page.getByTestId('hit-ratio').textContent()).toMatch(/^[1-9][\d.]*% \([1-9]\d* hits/);

    // Every label is in IndexedDB as it is given: a round whose labels were stored but whose end was
    // never saved (a reload mid-round) keeps them.
    const train = (await openDataset(DATASET_DIR)).view({ split: 'train' }).ids;
    const added = await appendLabels(page, 'edgelake-demo', Array.from(train.slice(0, 400)), 3);
    expect(added).toHaveLength(3);
    await page.reload();
    await page.waitForFunction(() => document.querySelector('[data-testid=round]')?.textContent === '4');
    expect(await text(page, 'labels')).toBe('203');
  });

  it('a person who labels 100 picks by hand with their true classes reaches random sampling\'s accuracy at 100 labels', async () => {
    const truth = new Int32Array((await openDataset(DATASET_DIR)).length);
    for await (const b of new Loader((await openDataset(DATASET_DIR)).view(), { batchSize: 6000, tensors: ['label'] })) b.ids.forEach((id, i) => (truth[id] = (b.tensors.label as Int32Array)[i]));
    const rounds = 'round=25&epochs=8&rounds=4&seed=1';
    // Random sampling, labelled from the dataset, in a database of its own.
    await page.goto(`${demo.url}?db=random-100&auto=1&baseline=0&strategy=random&${rounds}`);
    await page.getByTestId('start').click();
    await idle(page);
    const random = Number(await text(page, 'accuracy'));
    // Margin sampling, a person at the keyboard: one key per picture, then Enter.
    await page.goto(`${demo.url}?db=person-100&auto=0&strategy=margin&${rounds}`);
    await page.getByTestId('start').click();
    for (let round = 1; round <= 4; round++) {
      await page.waitForFunction(() => document.querySelectorAll('.pick.focus').length === 1 && !document.querySelector<HTMLElement>('#palette')!.hidden, undefined, { timeout: 60_000 });
      const ids = await page.locator('.pick').evaluateAll((cards) => cards.map((c) => Number((c as HTMLElement).dataset.id)));
      for (const id of ids) await page.keyboard.press(String(truth[id]));
      await page.keyboard.press('Enter');
      await page.waitForFunction((r) => document.querySelector('[data-testid=round]')?.textContent === String(r), round, { timeout: 60_000 });
    }
    await idle(page);
    lap('100 labels by hand, and random beside');
    const person = Number(await text(page, 'accuracy'));
    console.log(`demo, 100 labels: a person labelling margin's picks ${person.toFixed(4)}, random sampling (auto-labelled) ${random.toFixed(4)}`);
    expect(await text(page, 'labels')).toBe('100');
    expect(person).toBeGreaterThanOrEqual(random);
  });

  it('without a WebGPU adapter: the models run their CPU references, the page says cpu, and a person labels with the keyboard', async () => {
    // A second Chromium without the WebGPU flags: navigator.gpu is there but offers no adapter.
    const profile = mkdtempSync(join(tmpdir(), 'edgelake-chromium-'));
    const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: NO_WEBGPU, headless: true, timeout: 30_000 });
    try {
      const cpu = await context.newPage();
      cpu.on('pageerror', (e) => console.error(`page error (no WebGPU): ${e.message}`));
      await cpu.goto(`${demo.url}?round=20&epochs=1&rounds=1&strategy=entropy`);
      expect(await cpu.evaluate('navigator.gpu ? navigator.gpu.requestAdapter().then((a) => a === null) : true')).toBe(true);
      expect(await text(cpu, 'adapter')).toBe('cpu');
      expect(await cpu.locator('#features').textContent()).toMatch(/CPU references/);
      await cpu.getByTestId('start').click();
      await cpu.waitForFunction(() => document.querySelectorAll('.pick.focus').length === 1, undefined, { timeout: 30_000 });
      expect(await cpu.locator('.pick').count()).toBe(20);
      await cpu.setViewportSize({ width: 390, height: 844 });
      await cpu.screenshot({ path: `${OUT}/demo-labelling-390x844.png` });
      await cpu.keyboard.press('3'); // the person says the first pick is a Dress
      await cpu.keyboard.press('Enter'); // Enter sends only once every pick has a label: nothing happens
      expect(await cpu.locator('#picks-help').textContent()).toMatch(/^Label each picture: .* 19 of 20 to go/);
      await cpu.getByRole('button', { name: "Use the model's guesses for the rest" }).click(); // a deliberate choice, never the default
      await idle(cpu);
      lap('cpu round');
      expect(await text(cpu, 'round')).toBe('1');
      expect(await text(cpu, 'labels')).toBe('20');
      expect(await cpu.locator('#picks-help').textContent()).toBe("1 of 20 labelled by you, 19 from the model's guesses.");
      expect(await cpu.locator('.pick').first().getAttribute('data-kind')).toBe('labelled');
      expect(await cpu.locator('.pick').nth(1).getAttribute('data-kind')).toBe('guessed');
    } finally {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });
});

/** Entries of the IndexedDB store's chunk and index object stores, counted in the page. */
function countIdb(page: Page, name: string): Promise<{ chunks: number; index: number }> {
  // A string, so the bundler's helpers never end up in the function Chromium runs.
  return page.evaluate(`new Promise((resolve, reject) => {
    const open = indexedDB.open(${JSON.stringify(name)});
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const tx = open.result.transaction(['chunks', 'index']);
      const chunks = tx.objectStore('chunks').count();
      const index = tx.objectStore('index').count();
      tx.oncomplete = () => { open.result.close(); resolve({ chunks: chunks.result, index: index.result }); };
      tx.onerror = () => reject(tx.error);
    };
  })`);
}

/**
 * Stores `count` labels (class 0) for candidates the demo's label store (run database `db`) lacks,
 * as a teach would before its round trains; returns their ids.
 */
function appendLabels(page: Page, db: string, candidates: number[], count: number): Promise<number[]> {
  return page.evaluate(`new Promise((resolve, reject) => {
    const url = document.querySelector('[name=url]').value;
    const open = indexedDB.open(${JSON.stringify(db)} + '-labels:' + url);
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      let tx;
      try {
        tx = open.result.transaction('batches', 'readwrite');
      } catch (e) {
        open.result.close();
        return reject(new Error('the page keeps no label store: ' + e.message));
      }
      const store = tx.objectStore('batches');
      const all = store.getAll();
      const keys = store.getAllKeys(); // answered after all: requests complete in order
      let ids = [];
      keys.onsuccess = () => {
        const taken = new Set(all.result.flatMap((b) => Array.from(b.ids)));
        ids = ${JSON.stringify(candidates)}.filter((id) => !taken.has(id)).slice(0, ${count});
        store.add({ ids: Uint32Array.from(ids), labels: new Int32Array(ids.length) }, Math.max(-1, ...keys.result) + 1);
      };
      tx.oncomplete = () => { open.result.close(); resolve(ids); };
      tx.onerror = () => reject(tx.error);
    };
  })`);
}
