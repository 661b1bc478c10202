import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundle, noChromium, openBrowser, type Browser } from './chromium.js';
import type { PlainBatch } from './idb-labels.entry.js';

const ENTRY = fileURLToPath(new URL('./idb-labels.entry.ts', import.meta.url));

describe.skipIf(noChromium)('IdbLabelStore on real IndexedDB in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await openBrowser({ '/entry.js': await bundle(ENTRY) });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('labels taught in a tab survive a reload and a closed tab, in order, and a second tab sees them', async () => {
    const first = await browser.open();
    await first.evaluate(() => window.labelTest.append('labels', [4, 9], [1, 2]));
    await first.evaluate(() => window.labelTest.append('labels', [11], [0]));
    await first.reload();
    expect(await first.evaluate(() => window.labelTest.load('labels'))).toEqual([[[4, 9], [1, 2]], [[11], [0]]]);
    await first.evaluate(() => window.labelTest.append('labels', [12], [7]));
    await first.close();
    const second = await browser.open();
    expect(await second.evaluate(() => window.labelTest.load('labels'))).toEqual([[[4, 9], [1, 2]], [[11], [0]], [[12], [7]]]);
    await second.close();
  });

  it('a database version 1 wrote opens with its history unchanged, every label held, and a conflicting label refused', async () => {
    const page = await browser.open();
    // Sample 2's second label is from a store older than refusing (its first stands); sample 1's is a correction.
    const old: PlainBatch[] = [[[1, 2, 70_000], [10, 20, 5]], [[3], [30]], [[2], [21]], [[1], [11], true]];
    await page.evaluate((batches) => window.labelTest.writeVersion1('old', batches), old);
    expect(await page.evaluate(() => window.labelTest.load('old'))).toEqual(old);
    expect(await page.evaluate(() => window.labelTest.held('old'))).toEqual({ version: 2, held: [[1, 11], [2, 20], [3, 30], [70_000, 5]] });
    await expect(page.evaluate(() => window.labelTest.append('old', [2], [21]))).rejects.toThrow(/two labels for sample 2 \(20 there, 21 in this batch\)/);
    await page.evaluate(() => window.labelTest.append('old', [3, 4], [30, 40]));
    expect(await page.evaluate(() => window.labelTest.load('old'))).toEqual([...old, [[4], [40]]]);
    expect(await page.evaluate(() => window.labelTest.held('old'))).toEqual({ version: 2, held: [[1, 11], [2, 20], [3, 30], [4, 40], [70_000, 5]] });
    await page.close();
  });
});
