// The dataset viewer's pager, URL, errors, layout and accessibility, in Debian's Chromium, on small
// datasets made here: 25 samples of 8 x 8 pixels (sample i all grey level 10 i, five to a chunk,
// so each page of five reads a chunk of its own), one sample with an unnamed label, and an image
// folder of noise photos with a very long class name (its images vary in size; its thumbnails do not).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildViewer } from '../../scripts/build-viewer.js';
import { serveStatic, type ServedRequest } from '../../src/cli/serve.js';
import type { Manifest, Refs } from '../../src/format/manifest.js';
import { buildImageFolder, commitVersion, TensorWriter } from '../../src/format/index.js';
import { FolderSink } from '../../src/node.js';
import { encodePng } from '../format/image/png-encoder.js';
import { noChromium, openBrowser, type Browser } from './chromium.js';

const SIDE = 8;
const LONG = 'x'.repeat(150); // one unbroken class name, wider than any column

/** A dataset of `n` SIDE x SIDE images (sample i all grey 10 i), `labels(i)` (named or not), a 4-float embedding. */
async function grey(dir: string, n: number, labels: (i: number) => number, classNames?: string[]): Promise<void> {
  const sink = new FolderSink(dir);
  const image = new TensorWriter(sink, 'image', { htype: 'image', dtype: 'uint8', shape: [SIDE, SIDE, 1], sampleCompression: 'none', chunkCompression: 'none' }, 1 << 20, 5);
  const label = new TensorWriter(sink, 'label', { htype: 'class_label', dtype: 'int32', shape: [], sampleCompression: 'none', chunkCompression: 'none', ...(classNames && { classNames }) }, 1 << 20);
  const embedding = new TensorWriter(sink, 'embedding', { htype: 'embedding', dtype: 'float32', shape: [4], sampleCompression: 'none', chunkCompression: 'none' }, 1 << 20);
  for (let i = 0; i < n; i++) {
    await image.append(new Uint8Array(SIDE * SIDE).fill(10 * i));
    await label.append(new Uint8Array(Int32Array.of(labels(i)).buffer));
    await embedding.append(new Uint8Array(Float32Array.of(i, (i * 7) % 5, Math.sin(i), 1).buffer));
  }
  const tensors = { image: await image.finish(), label: await label.finish(), embedding: await embedding.finish() };
  await commitVersion(sink, { length: n, splits: { train: [[0, n]] }, tensors }, { name: dir.split('/').pop()!, message: 'test', created: '2026-01-01T00:00:00Z' });
}

/** An image folder of noise PNGs (incompressible: the photos' bytes dwarf the thumbnails'), half under the long class name. */
async function photos(dir: string): Promise<void> {
  let seed = 1;
  const noise = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) >> 23;
  const files = Array.from({ length: 8 }, (_, i) => {
    const [width, height] = [200 + 13 * i, 150 + 7 * i];
    const bytes = encodePng({ width, height, colorType: 2, bitDepth: 8, samples: Uint16Array.from({ length: width * height * 3 }, noise) });
    return { className: i % 2 ? LONG : 'short', name: `${i}.png`, read: async () => bytes };
  });
  await buildImageFolder(new FolderSink(dir), files, { created: '2026-01-01T00:00:00Z', testFraction: 0 });
}

/** Paths of a tensor's chunks, as the server sees them. */
function chunkPaths(dir: string, mount: string, tensor: string): Set<string> {
  const refs = JSON.parse(readFileSync(join(dir, 'edgelake.json'), 'utf8')) as Refs;
  const manifest = JSON.parse(readFileSync(join(dir, 'versions', `${refs.refs[refs.head]}.json`), 'utf8')) as Manifest;
  return new Set(manifest.tensors[tensor].chunks.map((c) => `${mount}/chunks/${c.hash.slice(0, 2)}/${c.hash}`));
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const done = (page: Page) => page.waitForFunction('window.viewerStats && window.viewerStats.done', undefined, { timeout: 60_000 });
/** No page loading and no query running. */
const idle = (page: Page, timeout = 30_000) => page.waitForFunction(`document.querySelector('[data-testid=query-count]').textContent !== 'running…' && document.querySelector('[data-testid=grid]').getAttribute('aria-busy') !== 'true'`, undefined, { timeout });
const position = (page: Page) => page.getByTestId('position').textContent();
/** The samples on screen, by their grey level. */
const shownIds = (page: Page) => page.evaluate(`[...document.querySelectorAll('[data-testid=grid] canvas')].map((c) => c.getContext('2d').getImageData(0, 0, 1, 1).data[0] / 10)`) as Promise<number[]>;
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
const urlState = (page: Page) => {
  const params = new URL(page.url()).searchParams;
  return { query: params.get('query'), page: params.get('page') };
};

describe.skipIf(noChromium)('the dataset viewer\'s pager, URL, errors, layout and accessibility', { timeout: 120_000 }, () => {
  let scratch = '';
  let server: Server;
  let other: Server;
  let origin = '';
  let otherOrigin = '';
  const served: ServedRequest[] = [];
  let browser: Browser;
  const paged = () => `${origin}/?dataset=ds/paged/&page-size=5`;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'edgelake-viewer-ux-'));
    await grey(join(scratch, 'ds', 'paged'), 25, (i) => i % 2, ['even', 'odd']);
    await grey(join(scratch, 'ds', 'one'), 1, () => 9);
    await photos(join(scratch, 'ds', 'photos'));
    await buildViewer(join(scratch, 'page'));
    server = serveStatic({ '/': join(scratch, 'page'), '/ds': join(scratch, 'ds') }, (r) => served.push(r));
    origin = await listen(server);
    other = serveStatic({ '/ds': join(scratch, 'ds') }); // another origin, and no CORS header
    otherOrigin = await listen(other);
    browser = await openBrowser({});
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    for (const s of [server, other]) {
      s?.closeAllConnections();
      await new Promise((r) => s?.close(r));
    }
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  /** A tab on `url` with nothing in IndexedDB, so every page it turns to is fetched. */
  async function openCold(url: string): Promise<Page> {
    const page = await browser.context.newPage();
    page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
    await page.goto(`${origin}/`); // the picker: the cache's database is not open
    await page.evaluate(`new Promise((done) => (indexedDB.deleteDatabase('edgelake-viewer').onsuccess = done))`);
    await page.goto(url);
    await done(page);
    return page;
  }

  it('P1: a page that cannot be read is reported, and the pager stays on the page shown', async () => {
    const page = await openCold(paged());
    expect([await position(page), await shownIds(page)]).toEqual(['1–5 of 25', range(0, 5)]);
    const error = page.getByTestId('error');

    // The host goes away: Next fails after the retries, and says so.
    await page.route('**/chunks/**', (route) => route.abort('connectionrefused'));
    await page.getByTestId('next').click();
    await idle(page, 60_000);
    expect.soft(await error.isVisible()).toBe(true);
    expect.soft(await error.textContent()).toMatch(/is not cached in IndexedDB .* and the remote is unreachable/);
    expect.soft(await error.textContent()).not.toMatch(/CORS/); // the page's own origin
    expect([await position(page), await shownIds(page), await page.getByTestId('grid').getAttribute('data-page')]).toEqual(['1–5 of 25', range(0, 5), '0']);
    expect([await page.getByTestId('prev').isDisabled(), await page.getByTestId('next').isDisabled(), await page.getByTestId('page-number').inputValue()]).toEqual([true, false, '1']);
    expect(urlState(page).page).toBeNull();

    // A corrupt chunk: the same.
    await page.unrouteAll({ behavior: 'wait' });
    await page.evaluate(`document.querySelector('[data-testid=error]').hidden = true`);
    await page.route('**/chunks/**', (route) => route.fulfill({ status: 200, body: Buffer.from('not a chunk') }));
    await page.getByTestId('last').click();
    await idle(page, 60_000);
    expect([await error.isVisible(), await error.textContent()]).toEqual([true, expect.stringMatching(/SHA-256/)]);
    expect([await position(page), await shownIds(page)]).toEqual(['1–5 of 25', range(0, 5)]);

    // The host is back: Next shows page 2, and the error goes.
    await page.unrouteAll({ behavior: 'wait' });
    await page.getByTestId('next').click();
    await page.waitForFunction(`document.querySelector('[data-testid=grid]').dataset.page === '1'`);
    expect([await position(page), await shownIds(page), await error.isHidden(), urlState(page).page]).toEqual(['6–10 of 25', range(5, 10), true, '2']);
    const errors = await page.evaluate('window.viewerStats.errors') as string[];
    expect(errors.length).toBe(2);
    await page.close();
  });

  it('P2a: a long class name is cut (in full on hover), never widening the page; every bar stays visible', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${origin}/?dataset=ds/photos/`);
    await done(page);
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: 900 });
      const layout = await page.evaluate(`({
        overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
        table: document.getElementById('counts').getBoundingClientRect().width,
        column: document.getElementById('classes').getBoundingClientRect().width,
        bars: [...document.querySelectorAll('#counts .bar')].map((b) => b.getBoundingClientRect().width > 0),
      })`) as { overflow: number; table: number; column: number; bars: boolean[] };
      expect.soft(layout.overflow, `overflow at ${width} px`).toBeLessThanOrEqual(0);
      expect.soft(layout.table, `table at ${width} px`).toBeLessThan(layout.column);
      expect.soft(layout.bars, `bars at ${width} px`).toEqual([true, true]);
    }
    expect.soft(await page.locator(`#counts tbody tr[data-class="${LONG}"] td:first-child`).getAttribute('title')).toBe(LONG);
    expect.soft(await page.locator(`[data-testid=grid] figure[data-label="${LONG}"] figcaption`).first().getAttribute('title')).toBe(LONG);
    await page.close();
  });

  it('P2b: the URL keeps the query and the page; Back and Forward restore them; first, last, a page number and the arrow keys page', async () => {
    const page = await openCold(`${paged()}&page=3`);
    expect([await position(page), await shownIds(page)]).toEqual(['11–15 of 25', range(10, 15)]);
    expect([await page.getByTestId('page-number').inputValue(), await page.getByTestId('pages').textContent()]).toEqual(['3', 'of 5']);
    await page.getByTestId('next').click();
    await idle(page);
    expect([await position(page), urlState(page)]).toEqual(['16–20 of 25', { query: null, page: '4' }]);
    await page.goBack();
    await idle(page);
    expect([await position(page), await shownIds(page), urlState(page)]).toEqual(['11–15 of 25', range(10, 15), { query: null, page: '3' }]);
    await page.goForward();
    await idle(page);
    expect(await position(page)).toBe('16–20 of 25');

    // A query: a new entry, on its first page.
    const odd = "select * where label == 'odd'";
    await page.getByTestId('query-text').fill(odd);
    await page.getByTestId('query-run').click();
    await page.waitForFunction(`document.querySelector('[data-testid=query-count]').dataset.count === '12'`);
    await idle(page);
    expect([await position(page), await shownIds(page), urlState(page)]).toEqual(['1–5 of 12', [1, 3, 5, 7, 9], { query: odd, page: null }]);
    await page.goBack(); // every sample again, at page 4
    await idle(page);
    expect([await position(page), await page.getByTestId('query-text').inputValue(), await page.getByTestId('query-count').textContent()]).toEqual(['16–20 of 25', '', '']);
    await page.goForward();
    await page.waitForFunction(`document.querySelector('[data-testid=query-count]').dataset.count === '12'`);
    await idle(page);
    expect([await position(page), await page.getByTestId('query-text').inputValue()]).toEqual(['1–5 of 12', odd]);

    // Last, first, a page number, the arrow keys (not while typing).
    await page.getByTestId('last').click();
    await idle(page);
    expect([await position(page), await shownIds(page), await page.getByTestId('next').isDisabled(), await page.getByTestId('last').isDisabled(), urlState(page).page]).toEqual(['11–12 of 12', [21, 23], true, true, '3']);
    await page.getByTestId('first').click();
    await idle(page);
    expect([await position(page), await page.getByTestId('first').isDisabled(), urlState(page).page]).toEqual(['1–5 of 12', true, null]);
    await page.getByTestId('page-number').fill('2');
    await page.getByTestId('page-number').press('Enter');
    await idle(page);
    expect([await position(page), await shownIds(page)]).toEqual(['6–10 of 12', [11, 13, 15, 17, 19]]);
    await page.evaluate('document.activeElement.blur()');
    await page.keyboard.press('ArrowRight');
    await idle(page);
    expect(await position(page)).toBe('11–12 of 12');
    await page.keyboard.press('ArrowLeft');
    await idle(page);
    expect(await position(page)).toBe('6–10 of 12');
    await page.getByTestId('query-text').press('ArrowRight'); // the caret moves, the page does not
    await page.waitForTimeout(300);
    expect(await position(page)).toBe('6–10 of 12');

    // A reload shows the same query and page.
    await page.reload();
    await done(page);
    await page.waitForFunction(`document.querySelector('[data-testid=query-count]').dataset.count === '12'`);
    await idle(page);
    expect([await position(page), await shownIds(page), await page.getByTestId('query-text').inputValue()]).toEqual(['6–10 of 12', [11, 13, 15, 17, 19], odd]);
    await page.close();
  });

  it('P2c: photos draw from the fixed-size thumbnail tensor, fetching none of the photos; ?image=image draws the photos', async () => {
    const dir = join(scratch, 'ds', 'photos');
    const [images, thumbnails] = [chunkPaths(dir, '/ds/photos', 'image'), chunkPaths(dir, '/ds/photos', 'thumbnail')];
    const sent = (from: number, paths: Set<string>) => served.slice(from).filter((r) => paths.has(r.path)).reduce((a, r) => a + r.bytes, 0);
    let from = served.length;
    const page = await openCold(`${origin}/?dataset=ds/photos/`);
    const cells = () => page.evaluate(`[...document.querySelectorAll('[data-testid=grid] canvas')].map((c) => c.width + 'x' + c.height)`);
    expect(await cells()).toEqual(new Array(8).fill('32x32'));
    expect([sent(from, images), sent(from, thumbnails) > 0]).toEqual([0, true]);
    expect(await page.getByTestId('status').textContent()).toMatch(/; the grid shows thumbnail \(\?image=image for the photos\)$/);
    from = served.length;
    await page.goto(`${origin}/?dataset=ds/photos/&image=image`);
    await done(page);
    expect(await cells()).toEqual(new Array(8).fill('96x96'));
    expect(sent(from, images)).toBeGreaterThan(10 * sent(0, thumbnails));
    await page.close();
  });

  const sections = (page: Page) => page.evaluate(`['images', 'classes', 'embedding'].map((id) => document.getElementById(id).hidden)`);

  it('P3a: a dataset that cannot be opened leaves only the header, saying so, and the error', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${origin}/?dataset=ds/nowhere/`);
    await done(page);
    expect(await page.getByTestId('error').textContent()).toMatch(/^no dataset at .*\/ds\/nowhere: it has no edgelake\.json/);
    expect([await sections(page), await page.getByTestId('summary').textContent()]).toEqual([[true, true, true], 'This dataset could not be opened (why is below). Open another by its URL.']);
    await page.close();
  });

  it('P3b: a dataset on another origin that refuses this page says it must allow CORS', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${origin}/?dataset=${encodeURIComponent(`${otherOrigin}/ds/paged/`)}`);
    await done(page);
    const error = await page.getByTestId('error').textContent();
    expect(error).toContain('the remote is unreachable');
    expect(error).toContain(`${otherOrigin} is another origin than this page's: it must allow ${origin} (CORS: Access-Control-Allow-Origin), or it is unreachable from here.`);
    await page.close();
  });

  it('P3c: a query\'s mistake shows by the box, and no older answer stays on screen under it', async () => {
    const page = await browser.context.newPage();
    await page.goto(paged());
    await done(page);
    await page.getByTestId('query-text').fill('select * where label ==');
    await page.getByTestId('query-run').click();
    await idle(page);
    expect.soft(await page.getByTestId('query-error').textContent({ timeout: 1000 }).catch(() => null)).toMatch(/^query: .* at column 24\n {2}select \* where label ==\n {25}\^$/);
    expect.soft(await page.getByTestId('query-text').getAttribute('aria-invalid')).toBe('true');
    expect.soft(await page.getByTestId('error').isHidden()).toBe(true); // not in the header, far from the box
    expect.soft([await shownIds(page), await position(page), await page.getByTestId('next').isDisabled()]).toEqual([[], '', true]);
    await page.getByTestId('query-text').fill("select * where label == 'even'");
    await page.getByTestId('query-run').click();
    await page.waitForFunction(`document.querySelector('[data-testid=query-count]').dataset.count === '13'`);
    await idle(page);
    expect([await page.getByTestId('query-error').isHidden(), await page.getByTestId('query-text').getAttribute('aria-invalid'), await position(page)]).toEqual([true, null, '1–5 of 13']);
    await page.close();
  });

  it('P3d: names each thumbnail, the scatter and the bars for screen readers; announces only the page range', async () => {
    const page = await browser.context.newPage();
    await page.goto(paged());
    await done(page);
    const second = page.locator('[data-testid=grid] figure').nth(1);
    expect.soft([await second.locator('canvas').getAttribute('role'), await second.locator('canvas').getAttribute('aria-label'), await second.locator('figcaption').getAttribute('title')]).toEqual(['img', 'odd, sample 1', 'odd']);
    expect.soft([await page.getByTestId('grid').getAttribute('aria-live'), await page.getByTestId('position').getAttribute('aria-live')]).toEqual([null, 'polite']);
    expect.soft(await page.locator('#counts th').allTextContents()).toEqual(['Class', 'Samples', 'Share']);
    expect.soft(await page.locator('#counts .bar').evaluateAll((bars) => bars.map((b) => [b.getAttribute('role'), b.getAttribute('aria-label')]))).toEqual([['img', '52.0% of the samples'], ['img', '48.0% of the samples']]);
    const scatter = page.getByTestId('scatter');
    expect.soft([await scatter.getAttribute('role'), await scatter.getAttribute('aria-label')]).toEqual(['img', 'scatter of 25 samples\' embedding by PCA, coloured by class']);
    await page.keyboard.press('ArrowRight');
    await idle(page);
    expect.soft(await position(page)).toBe('6–10 of 25');
    await page.close();
  });

  it('P4: one sample with an unnamed label: "1 sample", a row for that label only, no favicon request', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${origin}/?dataset=ds/one/`);
    await done(page);
    expect.soft(await page.getByTestId('summary').textContent()).toMatch(/^1 sample · /);
    expect.soft(await page.locator('#counts tr[data-class]').evaluateAll((rows) => rows.map((r) => [(r as HTMLElement).dataset.class, (r as HTMLElement).dataset.count]))).toEqual([['9', '1']]);
    expect.soft(served.map((r) => r.path)).not.toContain('/favicon.ico'); // by any page of this file: Chromium asks once per origin
    expect(await page.evaluate('window.viewerStats.errors')).toEqual([]);
    await page.close();
  });
});
