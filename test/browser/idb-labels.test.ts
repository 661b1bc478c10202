import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundle, noChromium, openBrowser, type Browser } from './chromium.js';

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
});
