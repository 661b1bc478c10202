import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundle, noChromium, openBrowser, type Browser } from './chromium.js';

const ENTRY = fileURLToPath(new URL('./idb-store.entry.ts', import.meta.url));
const DB = 'edgelake-tabs';
const MiB = 1 << 20;

describe.skipIf(noChromium)('IdbChunkStore on real IndexedDB in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await openBrowser({ '/entry.js': await bundle(ENTRY) });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('passes every shared ChunkStore case', async () => {
    const page = await browser.open();
    const results = await page.evaluate(() => window.idbTest.conformance());
    const failed = results.filter((r) => !r.ok);
    for (const f of failed) console.error(`FAILED in Chromium: ${f.name}\n${f.error}`);
    console.log(`Chromium conformance: ${results.length - failed.length}/${results.length} cases passed`);
    expect(results.length).toBeGreaterThan(0);
    expect(failed.map((f) => f.name)).toEqual([]);
    await page.close();
  });

  it('a chunk put in one tab survives a reload and is seen by a second tab, in a real IndexedDB', async () => {
    const first = await browser.open();
    const put = await first.evaluate(([db, size]) => window.idbTest.put(db, 1, size), [DB, MiB] as const);
    console.log(`navigator.storage: persisted=${put.persisted}, estimate usage=${put.usage} quota=${put.quota} bytes`);
    expect(put.quota).toBeGreaterThan(0);
    expect(await first.evaluate(() => window.idbTest.databases())).toContain(DB);

    await first.reload();
    expect(await first.evaluate(([db, size]) => window.idbTest.check(db, 1, size), [DB, MiB] as const)).toBe('whole');
    const second = await browser.open();
    expect(await second.evaluate(([db, size]) => window.idbTest.check(db, 1, size), [DB, MiB] as const)).toBe('whole');
    await Promise.all([first.close(), second.close()]);
  });

  it('one tab evicting and re-putting while another reads: readers see whole chunks or misses, never damage', async () => {
    const [evicter, reader, writer] = await Promise.all([browser.open(), browser.open(), browser.open()]);
    const size = 256 * 1024;
    const [, seen] = await Promise.all([
      evicter.evaluate(([db, s]) => window.idbTest.churn(db, 2, s, 40), [DB, size] as const),
      reader.evaluate(([db, s]) => window.idbTest.read(db, 2, s, 200), [DB, size] as const),
      writer.evaluate(([db, s]) => window.idbTest.churn(db, 2, s, 40), [DB, size] as const), // concurrent puts of one chunk
    ]);
    console.log(`reader during eviction: ${JSON.stringify(seen)}`);
    expect(seen.damaged).toBe(0);
    expect(seen.whole + seen.missing).toBe(200);
    expect(await reader.evaluate(([db, s]) => window.idbTest.check(db, 2, s), [DB, size] as const)).toBe('whole');
    await Promise.all([evicter.close(), reader.close(), writer.close()]);
  });
});
