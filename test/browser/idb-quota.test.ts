import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundle, noChromium, openBrowser, type Browser } from './chromium.js';

const ENTRY = fileURLToPath(new URL('./idb-cache.entry.ts', import.meta.url));
const MiB = 1 << 20;
const QUOTA = 8 * MiB;

describe.skipIf(noChromium)('ChunkCache on a real IndexedDB whose quota is full, in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await openBrowser({ '/entry.js': await bundle(ENTRY) });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('with a budget above the quota it stays an LRU: the latest chunks are hits, none refetched, within the quota', async () => {
    const page = await browser.open();
    // The browser refuses writes past 8 MiB (QuotaExceededError), as a real quota smaller than the viewer's 2 GiB budget does.
    const cdp = await browser.context.newCDPSession(page);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: browser.origin, quotaSize: QUOTA });
    const r = await page.evaluate(([budget, size]) => window.idbCache.fill('full', budget, 30, size, 4), [100 * MiB, MiB] as const);
    const count = r.held.filter(Boolean).length;
    console.log(`8 MiB quota, 100 MiB budget, 30 chunks of 1 MiB: ${count} held, ${r.stats.evictions} evicted, origin usage ${r.originUsage} bytes`);

    expect(r.refetched).toEqual([0, 0, 0, 0]);
    expect(r.stats).toMatchObject({ misses: 30, hits: 4, notStored: 0, writeFailures: 0 });
    expect(r.warnings).toEqual([]);
    // LRU: what is held is the latest run of chunks, the rest went by eviction only.
    expect(r.held.slice(-count)).toEqual(Array(count).fill(true));
    expect(r.stats.evictions).toBe(30 - count);
    // Consistent: the cache's listing, the store's accounting and the bytes themselves agree.
    expect(r.listed).toEqual(r.held);
    expect(r.verified).toEqual({ entries: count, bytes: count * MiB, corrupt: 0 });
    expect(r.storedBytes).toBe(count * MiB);
    expect(r.originUsage).toBeLessThanOrEqual(QUOTA);
    await cdp.detach();
    await page.close();
  });
});
