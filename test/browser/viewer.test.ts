// The dataset viewer as users get it (the built page, served by `edgelake view`'s server with the
// dataset beside it) in Debian's Chromium on SwiftShader's WebGPU, against the full Fashion-MNIST
// (70,000 samples, with the PCA probe). What it shows is checked against the IDX files themselves.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { chromium, type Locator, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildViewer } from '../../scripts/build-viewer.js';
import type { ServedRequest } from '../../src/cli/serve.js';
import { startViewer, type RunningViewer } from '../../src/cli/view.js';
import type { Manifest, Refs } from '../../src/format/manifest.js';
import { buildImageFolder } from '../../src/format/index.js';
import { FolderSink } from '../../src/node.js';
import { encodePng } from '../format/image/png-encoder.js';
import { cli, FASHION_CLASSES, SUBSET } from '../support/cli.js';
import { writeHuggingFaceParquet } from '../support/parquet-files.js';
import { FASHION_MNIST_DIR, missing } from '../support/system.js';
import { CHROMIUM, noChromium, openBrowser, type Browser } from './chromium.js';

const OUT = 'test-output';
const idx = (name: string) => join(FASHION_MNIST_DIR, name);
const noFashionMnist = missing('the Fashion-MNIST dataset', 'apt-get install dataset-fashion-mnist', existsSync(idx('train-images-idx3-ubyte.gz')));
const CLASSES = FASHION_CLASSES.split(',');
const PAGE = 48;
const SANDAL = CLASSES.indexOf('Sandal');
const NO_WEBGPU = ['--headless', '--no-sandbox', '--disable-features=WebGPU', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** What the grid shows, read from the page: each cell's sample, caption and the red channel of its canvas. */
interface Cell {
  id: number;
  caption: string;
  width: number;
  height: number;
  pixels: number[];
}

function cells(page: Page): Promise<Cell[]> {
  // A string, so the bundler's helpers never end up in the function Chromium runs.
  return page.evaluate(`[...document.querySelectorAll('[data-testid=grid] figure')].map((f) => {
    const c = f.querySelector('canvas');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    return { id: Number(f.dataset.id), caption: f.querySelector('figcaption').textContent, width: c.width, height: c.height, pixels: Array.from({ length: d.length / 4 }, (_, i) => d[i * 4]) };
  })`);
}

/** Waits until the page has drawn everything it draws on opening; fails with the page's own error. */
async function opened(page: Page): Promise<Record<string, unknown> & { firstPageMs: number; firstPageImageBytes: number; imageBytesTotal: number }> {
  await page.waitForFunction('window.viewerStats && window.viewerStats.done', undefined, { timeout: 120_000 });
  const stats = await page.evaluate('window.viewerStats') as Awaited<ReturnType<typeof opened>> & { errors: string[] };
  expect(stats.errors).toEqual([]);
  return stats;
}

/** Distinct grey levels and non-background pixels of a screenshot (PNG) of one element. */
async function screenshot(locator: Locator, name: string): Promise<{ levels: number; lit: number; colours: number; pixels: number }> {
  const path = join(OUT, `viewer-${name}.png`);
  await locator.screenshot({ path });
  const png = readFileSync(path);
  expect([...png.subarray(0, 8)]).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const levels = new Set<number>();
  const colours = new Set<number>();
  let lit = 0;
  for (let i = 0; i < data.length; i += 3) {
    levels.add(data[i]);
    colours.add((data[i] >> 4) * 256 + (data[i + 1] >> 4) * 16 + (data[i + 2] >> 4));
    if (data[i] < 240 || data[i + 1] < 240 || data[i + 2] < 240) lit++;
  }
  return { levels: levels.size, lit, colours: colours.size, pixels: info.width * info.height };
}

describe.skipIf(noChromium || noFashionMnist)('the dataset viewer in Chromium, on the full Fashion-MNIST', { timeout: 180_000 }, () => {
  let scratch = '';
  let dir = '';
  const served: ServedRequest[] = [];
  let viewer: RunningViewer;
  let browser: Browser;
  let page: Page;
  let images: Uint8Array;
  let labels: Uint8Array;
  /** Paths of the image tensor's chunks as the server sees them, and their stored bytes. */
  let imageChunks: Map<string, number>;
  let imageBytes = 0;
  /** Bytes of image chunks the server sent since `from` (an index into `served`). */
  const imageBytesSent = (from = 0) => served.slice(from).filter((r) => imageChunks.has(r.path)).reduce((a, r) => a + r.bytes, 0);

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'edgelake-viewer-'));
    dir = join(scratch, 'fashion-mnist');
    const built = await cli('build', 'idx', '--train-images', idx('train-images-idx3-ubyte.gz'), '--train-labels', idx('train-labels-idx1-ubyte.gz'),
      '--test-images', idx('t10k-images-idx3-ubyte.gz'), '--test-labels', idx('t10k-labels-idx1-ubyte.gz'), '--class-names', FASHION_CLASSES,
      '--name', 'fashion-mnist', '--embedding-dims', '32', '--created', '2017-08-25T00:00:00Z', '--out', dir);
    expect(built.code, built.stderr).toBe(0);
    images = Buffer.concat(['train-images-idx3-ubyte.gz', 't10k-images-idx3-ubyte.gz'].map((f) => gunzipSync(readFileSync(idx(f))).subarray(16)));
    labels = Buffer.concat(['train-labels-idx1-ubyte.gz', 't10k-labels-idx1-ubyte.gz'].map((f) => gunzipSync(readFileSync(idx(f))).subarray(8)));
    const refs = JSON.parse(readFileSync(join(dir, 'edgelake.json'), 'utf8')) as Refs;
    const manifest = JSON.parse(readFileSync(join(dir, 'versions', `${refs.refs[refs.head]}.json`), 'utf8')) as Manifest;
    imageChunks = new Map(manifest.tensors.image.chunks.map((c) => [`/data/chunks/${c.hash.slice(0, 2)}/${c.hash}`, c.bytes]));
    imageBytes = [...imageChunks.values()].reduce((a, b) => a + b, 0);

    await buildViewer(join(scratch, 'page'));
    viewer = await startViewer({ root: dir, pageDir: join(scratch, 'page'), port: 0, onRequest: (r) => served.push(r) });
    browser = await openBrowser({});
    page = await browser.context.newPage();
    page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
    await page.setViewportSize({ width: 1280, height: 1000 });
    mkdirSync(OUT, { recursive: true });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await viewer?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('opens cold: the first page of images (the IDX pixels), class names, 7,000 per class, the PCA scatter on the GPU', async () => {
    await page.goto(viewer.url);
    const stats = await opened(page);
    const sentCold = imageBytesSent();
    console.log(`viewer, cold: first page in ${stats.firstPageMs} ms; image chunks sent ${sentCold} of ${imageBytes} bytes (${((100 * sentCold) / imageBytes).toFixed(2)}%); the page counted ${stats.firstPageImageBytes}`);
    expect(await page.getByTestId('title').textContent()).toBe('fashion-mnist');
    expect(await page.getByTestId('summary').textContent()).toMatch(/^70,000 samples · version [0-9a-f]{12} · train 60,000, test 10,000/);

    // The grid: samples 0..47, each the IDX image (red channel of a grey picture), captioned with its class.
    const shown = await cells(page);
    expect(shown.map((c) => c.id)).toEqual(Array.from({ length: PAGE }, (_, i) => i));
    for (const c of shown) {
      expect([c.width, c.height]).toEqual([28, 28]);
      expect(c.pixels).toEqual(Array.from(images.subarray(c.id * 784, (c.id + 1) * 784)));
      expect(c.caption).toBe(CLASSES[labels[c.id]]);
    }
    expect(await page.getByTestId('position').textContent()).toBe('1–48 of 70,000');

    // Only what is on screen: the one image chunk holding samples 0..47, well under 5% of the image bytes.
    expect(sentCold).toBeGreaterThan(0);
    expect(sentCold / imageBytes).toBeLessThan(0.05);
    expect(stats.firstPageImageBytes).toBe(sentCold); // the page's Resource Timing count agrees with the server
    expect(stats.imageBytesTotal).toBe(imageBytes);

    // Per-class counts from the label tensor: 7,000 of each of the ten.
    const counts = await page.getByTestId('counts').locator('tbody tr').evaluateAll((rows) => rows.map((r) => [(r as HTMLElement).dataset.class, Number((r as HTMLElement).dataset.count)]));
    expect(counts).toEqual(CLASSES.map((name) => [name, 7000]));

    // The scatter: every sample's probe through PCA on SwiftShader's WebGPU.
    const scatter = page.getByTestId('scatter');
    expect([await scatter.getAttribute('data-on'), await scatter.getAttribute('data-points')]).toEqual(['gpu', '70000']);
    expect(await page.getByTestId('scatter-info').textContent()).toMatch(/^PCA of embedding \(32 dims\) to 2-D on the GPU \(.*swiftshader.*\): 70,000 points/i);

    // Screenshots, checked: the grid shows decoded pictures (many grey levels), the scatter many colours.
    const grid = await screenshot(page.getByTestId('grid'), 'grid');
    expect(grid.levels).toBeGreaterThan(100);
    const dots = await screenshot(scatter, 'scatter');
    expect(dots.lit / dots.pixels).toBeGreaterThan(0.05);
    expect(dots.colours).toBeGreaterThan(50);
    await page.screenshot({ path: join(OUT, 'viewer-1280.png'), fullPage: true });
    // A phone's width: one column, nothing wider than the screen.
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(OUT, 'viewer-390.png') });
    await page.setViewportSize({ width: 1280, height: 1000 });
  });

  it('reopens warm from IndexedDB: the first page in under 2 s, no image byte fetched again', async () => {
    const from = served.length;
    await page.reload();
    const stats = await opened(page);
    const sent = imageBytesSent(from);
    console.log(`viewer, warm: first page in ${stats.firstPageMs} ms; image chunks sent ${sent} bytes (${((100 * sent) / imageBytes).toFixed(2)}% of ${imageBytes}); requests ${served.slice(from).map((r) => `${r.path.replace(/[0-9a-f]{64}/, (h) => h.slice(0, 8))} ${r.bytes}`).join(', ')}`);
    expect(stats.firstPageMs).toBeLessThan(2000);
    expect(sent / imageBytes).toBeLessThan(0.05);
    expect(sent).toBe(0);
    expect(stats.firstPageImageBytes).toBe(0);
    expect(await page.getByTestId('status').textContent()).toMatch(/^first page in \d+\.\d\d s; \d+(\.\d)? (B|KiB) fetched$/); // the refs and manifest revalidated, no image chunk
  });

  it('a query shows its 7,000 results and pages through them, each page reading only its own images', async () => {
    const sandals = [...labels.keys()].filter((i) => labels[i] === SANDAL);
    await page.getByTestId('query-text').fill("select * where label == 'Sandal'");
    await page.getByTestId('query-run').click();
    await page.waitForFunction(`document.querySelector('[data-testid=query-count]').dataset.count === '7000' && document.querySelector('[data-testid=grid]').getAttribute('aria-busy') === 'false'`);
    expect(await page.getByTestId('query-count').textContent()).toBe('7,000 results (read label)');
    let shown = await cells(page);
    expect(shown.map((c) => c.id)).toEqual(sandals.slice(0, PAGE));
    expect(new Set(shown.map((c) => c.caption))).toEqual(new Set(['Sandal']));
    await screenshot(page.getByTestId('grid'), 'query-page-1');

    const from = served.length;
    await page.getByTestId('next').click();
    await page.waitForFunction(`document.querySelector('[data-testid=grid]').dataset.page === '1' && document.querySelector('[data-testid=grid]').getAttribute('aria-busy') === 'false'`);
    expect(await page.getByTestId('position').textContent()).toBe('49–96 of 7,000');
    shown = await cells(page);
    expect(shown.map((c) => c.id)).toEqual(sandals.slice(PAGE, 2 * PAGE));
    for (const c of shown) expect(c.pixels).toEqual(Array.from(images.subarray(c.id * 784, (c.id + 1) * 784)));
    // The second page's sandals lie in the first image chunk or the next: nothing else is read.
    const paths = new Set(served.slice(from).filter((r) => imageChunks.has(r.path)).map((r) => r.path));
    expect([...paths].every((p) => [...imageChunks.keys()].slice(0, 2).includes(p))).toBe(true);
    const page2 = await screenshot(page.getByTestId('grid'), 'query-page-2');
    expect(page2.levels).toBeGreaterThan(100);

    await page.getByTestId('prev').click();
    await page.waitForFunction(`document.querySelector('[data-testid=grid]').dataset.page === '0' && document.querySelector('[data-testid=grid]').getAttribute('aria-busy') === 'false'`);
    expect((await cells(page)).map((c) => c.id)).toEqual(sandals.slice(0, PAGE));
  });

  it('shows a query\'s mistake with its column by the box, and All samples goes back to every sample', async () => {
    await page.getByTestId('query-text').fill('select * where label ==');
    await page.getByTestId('query-run').click();
    await page.getByTestId('query-error').waitFor({ state: 'visible' });
    expect(await page.getByTestId('query-error').textContent()).toMatch(/^query: .* at column 24\n {2}select \* where label ==\n {25}\^$/);
    await page.getByTestId('query-clear').click();
    await page.waitForFunction(`document.querySelector('[data-testid=position]').textContent === '1–48 of 70,000' && document.querySelector('[data-testid=grid]').getAttribute('aria-busy') === 'false'`);
    expect((await cells(page)).map((c) => c.id)).toEqual(Array.from({ length: PAGE }, (_, i) => i));
  });

  it('without a dataset it offers a URL box; a dataset that is not there is an error on the page', async () => {
    await page.goto(new URL('/', viewer.url).href);
    await page.waitForFunction('window.viewerStats && window.viewerStats.done');
    expect(await page.getByTestId('title').textContent()).toBe('edgelake viewer');
    expect(await page.getByTestId('picker').isVisible()).toBe(true);
    await page.goto(new URL('/?dataset=nowhere/', viewer.url).href);
    await page.waitForFunction('window.viewerStats && window.viewerStats.done');
    expect(await page.getByTestId('error').textContent()).toMatch(/^no dataset at http:\/\/127\.0\.0\.1:\d+\/nowhere: it has no edgelake\.json/);
  });

  it('without WebGPU the scatter\'s PCA runs on the CPU reference, and the page says so', async () => {
    const profile = mkdtempSync(join(tmpdir(), 'edgelake-chromium-'));
    const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: NO_WEBGPU, headless: true, timeout: 30_000 });
    try {
      const cpu = await context.newPage();
      cpu.on('pageerror', (e) => console.error(`page error (no WebGPU): ${e.message}`));
      await cpu.goto(viewer.url);
      await opened(cpu);
      const scatter = cpu.getByTestId('scatter');
      expect([await scatter.getAttribute('data-on'), await scatter.getAttribute('data-points')]).toEqual(['cpu', '70000']);
      expect(await cpu.getByTestId('scatter-info').textContent()).toMatch(/^PCA of embedding \(32 dims\) to 2-D on the CPU: 70,000 points/);
      expect((await cells(cpu)).map((c) => c.caption)).toEqual(Array.from(labels.subarray(0, PAGE), (l) => CLASSES[l]));
    } finally {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });
});

describe.skipIf(noChromium)('the dataset viewer on an image folder of PNGs of many sizes', { timeout: 120_000 }, () => {
  // [h, w]; each picture one colour, so a cell's colour says which picture it shows, whatever its crop and resize.
  const SIZES = [[5, 7], [12, 9], [1, 1], [30, 17], [8, 8], [3, 40], [16, 33], [120, 80]] as const;
  const red = (i: number) => 20 + 25 * i;
  let scratch = '';
  let viewer: RunningViewer;
  let browser: Browser;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'edgelake-viewer-png-'));
    const files = SIZES.map(([height, width], i) => {
      const samples = Uint16Array.from({ length: height * width * 3 }, (_, k) => [red(i), 200 - 10 * i, 90][k % 3]);
      const bytes = encodePng({ width, height, colorType: 2, bitDepth: 8, samples });
      return { className: i % 2 ? 'odd' : 'even', name: `${i}.png`, read: async () => bytes };
    });
    await buildImageFolder(new FolderSink(join(scratch, 'pngs')), files, { created: '2026-12-05T00:00:00Z', testFraction: 0 });
    await buildViewer(join(scratch, 'page'));
    viewer = await startViewer({ root: join(scratch, 'pngs'), pageDir: join(scratch, 'page'), port: 0 });
    browser = await openBrowser({});
  });
  afterAll(async () => {
    await browser?.close();
    await viewer?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  /** Which picture each cell shows (by its colour), after checking the cell is that colour throughout and captioned with its folder. */
  const pictures = (shown: Cell[], side: number) => shown.map((c) => {
    expect([c.width, c.height]).toEqual([side, side]);
    const i = SIZES.findIndex((_, k) => red(k) === c.pixels[0]);
    expect(i, `a cell of red ${c.pixels[0]}`).toBeGreaterThanOrEqual(0);
    expect(c.pixels.every((v) => v === red(i))).toBe(true);
    expect(c.caption).toBe(i % 2 ? 'odd' : 'even');
    return i;
  }).sort((a, b) => a - b);

  it('draws the 32 x 32 thumbnail probe, as it is stored; ?image=image fits each PNG, whatever its size, to a 96-pixel square captioned with its folder', async () => {
    const page = await browser.context.newPage();
    page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
    await page.goto(viewer.url);
    await opened(page);
    expect(pictures(await cells(page), 32)).toEqual(SIZES.map((_, i) => i));
    await page.goto(`${viewer.url}&image=image`);
    await opened(page);
    expect(pictures(await cells(page), 96)).toEqual(SIZES.map((_, i) => i));
  });

  /** A tab on the dataset's PNGs with nothing in IndexedDB, so a query on the thumbnails fetches them. */
  async function openCold(): Promise<Page> {
    const page = await browser.context.newPage();
    page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
    await page.goto(new URL('/', viewer.url).href); // the picker: the cache's database is not open
    await page.evaluate(`new Promise((done) => (indexedDB.deleteDatabase('edgelake-viewer').onsuccess = done))`);
    await page.goto(`${viewer.url}&image=image`);
    await opened(page);
    return page;
  }

  /** Holds the page's chunk requests (a slow host) until the returned function lets them go and they are answered. */
  async function holdChunks(page: Page): Promise<() => Promise<void>> {
    let release = () => {};
    const held = new Promise<void>((go) => (release = go));
    await page.route('**/data/chunks/**', async (route) => {
      await held;
      await route.continue();
    });
    return async () => {
      release();
      await page.unrouteAll({ behavior: 'wait' });
      await page.waitForTimeout(500); // the answer, then decoded and drawn were it still wanted
    };
  }

  const run = async (page: Page, text: string) => {
    await page.getByTestId('query-text').fill(text);
    await page.getByTestId('query-run').click();
  };
  const idle = (page: Page) => page.waitForFunction(`document.querySelector('[data-testid=query-count]').textContent !== 'running…' && document.querySelector('[data-testid=grid]').getAttribute('aria-busy') === 'false'`);

  it('the latest query or All samples decides what the grid shows: an older query that answers later is dropped', async () => {
    const page = await openCold();
    let release = await holdChunks(page);
    await run(page, 'select * where mean(thumbnail) > 0 limit 2'); // reads the thumbnails: held
    await run(page, "select * where label == 'odd'"); // the labels are in the cache: answers at once
    await idle(page);
    await release();
    expect(await page.getByTestId('query-count').textContent()).toBe('4 results (read label)');
    expect(pictures(await cells(page), 96)).toEqual([1, 3, 5, 7]);
    await page.close();

    const again = await openCold();
    release = await holdChunks(again);
    await run(again, 'select * where mean(thumbnail) > 0 limit 2');
    await again.getByTestId('query-clear').click();
    await release();
    expect([await again.getByTestId('query-count').textContent(), await again.getByTestId('position').textContent()]).toEqual(['', '1–8 of 8']);
    await again.close();
  });

  it('a query from another ref shows that version\'s samples', async () => {
    expect((await cli('materialize', join(scratch, 'pngs'), "select * where label == 'odd'", '--ref', 'odd')).code).toBe(0);
    const page = await browser.context.newPage();
    await page.goto(viewer.url);
    await opened(page);
    await run(page, "select * from ref 'odd'");
    await idle(page);
    expect(await page.getByTestId('query-count').textContent()).toMatch(/^4 results in version [0-9a-f]{12} \(read no tensor\)$/);
    expect(pictures(await cells(page), 32)).toEqual([1, 3, 5, 7]); // ids 0..3 of that version: the odd pictures (their thumbnails)
    await page.close();
  });

  it('shows the dataset\'s URL without its password or signature', async () => {
    const { origin, port } = new URL(viewer.url);
    const page = await browser.context.newPage();
    await page.goto(`${origin}/?dataset=${encodeURIComponent(`http://alice:s3cr3t@127.0.0.1:${port}/data/?X-Amz-Signature=deadbeef`)}`);
    const stats = await opened(page);
    expect(await page.getByTestId('summary').textContent()).toMatch(new RegExp(`^8 samples · version [0-9a-f]{12} · train 8 · http://…@127\\.0\\.0\\.1:${port}/data/\\?…$`));
    expect(stats.dataset).toBe(`http://…@127.0.0.1:${port}/data/?…`);
    await page.close();
  });
});

describe.skipIf(noChromium)('the dataset viewer on Parquet files read in place (a Hugging Face-style export)', { timeout: 120_000 }, () => {
  const subset = (file: string) => gunzipSync(readFileSync(join(SUBSET, file)));
  const labels = subset('train-labels-idx1-ubyte.gz').subarray(8);
  const pixels = subset('train-images-idx3-ubyte.gz').subarray(16);
  let scratch = '';
  let pattern = '';
  const served: ServedRequest[] = [];
  let viewer: RunningViewer;
  let browser: Browser;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'edgelake-viewer-parquet-'));
    pattern = writeHuggingFaceParquet(join(scratch), pixels, labels, { files: 2, rowGroupSize: 100, pageSize: 1024 });
    expect((await cli('index', join(scratch, pattern))).code).toBe(0);
    await buildViewer(join(scratch, 'page'));
    viewer = await startViewer({ root: join(scratch, pattern), pageDir: join(scratch, 'page'), port: 0, onRequest: (r) => served.push(r) });
    browser = await openBrowser({});
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await viewer?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('`edgelake view` on the files\' pattern shows the first page with the metadata\'s class names, fetching its pages only', async () => {
    const page = await browser.context.newPage();
    page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
    await page.goto(viewer.url);
    await opened(page);
    expect(await page.getByTestId('summary').textContent()).toMatch(new RegExp(`^${labels.length.toLocaleString('en')} samples · version [0-9a-f]{12} · train ${labels.length.toLocaleString('en')}`));
    const shown = await cells(page);
    expect(shown.map((c) => c.id)).toEqual(Array.from({ length: PAGE }, (_, i) => i));
    for (const c of shown) {
      expect([c.width, c.height]).toEqual([28, 28]);
      expect(c.pixels).toEqual(Array.from(pixels.subarray(c.id * 784, (c.id + 1) * 784))); // the PNG in the struct, decoded
      expect(c.caption).toBe(CLASSES[labels[c.id]]); // ClassLabel names from the huggingface metadata
    }
    const counts = await page.getByTestId('counts').locator('tbody tr').evaluateAll((rows) => rows.map((r) => Number((r as HTMLElement).dataset.count)));
    expect(counts.reduce((a, n) => a + n, 0)).toBe(labels.length);
    // The index, then the pages of the first page's rows: a small part of the files.
    const fileBytes = readdirSync(scratch).filter((f) => f.endsWith('.parquet')).reduce((a, f) => a + statSync(join(scratch, f)).size, 0);
    const sent = served.filter((r) => /\.parquet$|edgelake-index/.test(r.path)).reduce((a, r) => a + r.bytes, 0);
    console.log(`viewer, Parquet: ${sent} of ${fileBytes} bytes of the files and their index sent (${((100 * sent) / fileBytes).toFixed(2)}%); status: ${await page.getByTestId('status').textContent()}`);
    expect(sent / fileBytes).toBeLessThan(0.05);
    expect(await page.getByTestId('status').textContent()).toMatch(/^first page in \d+\.\d\d s; \d+(\.\d)? KiB fetched$/);
  });
});
