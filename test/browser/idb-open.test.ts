import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundle, noChromium, openBrowser, type Browser } from './chromium.js';

const ENTRY = fileURLToPath(new URL('./idb-cache.entry.ts', import.meta.url));

describe.skipIf(noChromium)('IdbChunkStore.open when Chromium will not open the database', () => {
  let browser: Browser;
  let code: string;
  beforeAll(async () => {
    code = await bundle(ENTRY);
    browser = await openBrowser({ '/entry.js': code });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('a database a newer edgelake wrote (a higher version): an EdgelakeError naming it and both versions', async () => {
    const page = await browser.open();
    await page.evaluate(() => window.idbCache.createAt('future', 7));
    expect(await page.evaluate(() => window.idbCache.openError('future'))).toEqual({
      name: 'EdgelakeError',
      code: 'unsupported',
      message: expect.stringMatching(/^IndexedDB "future" was written by a newer edgelake \(version 7 > 1\)/),
      cause: 'VersionError',
    });
    await page.close();
  });

  it('an opaque origin (a data: URL page, as a sandboxed frame): an EdgelakeError saying IndexedDB is not available', async () => {
    const page = await browser.context.newPage();
    await page.goto('data:text/html,<title>opaque origin</title>');
    await page.addScriptTag({ content: code, type: 'module' });
    await page.waitForFunction(() => window.idbCache !== undefined);
    expect(await page.evaluate(() => window.idbCache.openError('cache'))).toEqual({
      name: 'EdgelakeError',
      code: 'unsupported',
      message: expect.stringMatching(/^IndexedDB "cache": IndexedDB is not available in this context/),
      cause: 'SecurityError',
    });
    await page.close();
  });
});
