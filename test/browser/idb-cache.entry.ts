/**
 * Bundled into the page by idb-quota.test.ts and idb-open.test.ts: ChunkCache over IdbChunkStore
 * on the browser's real IndexedDB. The tests drive it through `window.idbCache`; only plain JSON
 * crosses the page boundary.
 */
import { ChunkCache, IdbChunkStore, type EdgelakeError } from '../../src/index.js';
import { randomChunk } from '../cache/random-chunks.js';

export interface FillReport {
  /** Fetches each re-read of the last chunks made (0: it came from the cache). */
  refetched: number[];
  stats: ChunkCache['stats'];
  warnings: string[];
  /** Which of the chunks the store holds, in write order. */
  held: boolean[];
  /** Which of them the cache lists (its own accounting). */
  listed: boolean[];
  storedBytes: number;
  verified: { entries: number; bytes: number; corrupt: number };
  /** navigator.storage.estimate().usage of the origin at the end. */
  originUsage: number;
}

export interface IdbCache {
  /** Streams `n` seeded chunks of `size` bytes through a cache of `budget` bytes, then reads the last `reread` again. */
  fill(db: string, budget: number, n: number, size: number, reread: number): Promise<FillReport>;
  /** Opens `db` with IdbChunkStore; what it threw as { name, code, message, cause }, or 'opened'. */
  openError(db: string): Promise<{ name: string; code?: string; message: string; cause?: string } | 'opened'>;
  /** Creates `db` at `version` with the raw API, as a newer edgelake would. */
  createAt(db: string, version: number): Promise<void>;
}

declare global {
  interface Window {
    idbCache: IdbCache;
  }
}

/** A remote that counts its fetches. */
function remote(bytes: Uint8Array) {
  const r = { calls: 0, fetch: async () => (r.calls++, bytes.slice()) };
  return r;
}

window.idbCache = {
  async fill(db, budget, n, size, reread) {
    const store = await IdbChunkStore.open(db);
    try {
      const cache = new ChunkCache(store, { budgetBytes: budget });
      const warnings: string[] = [];
      cache.addEventListener('warning', (e) => warnings.push((e as CustomEvent<EdgelakeError>).detail.message));
      const chunks = [];
      for (let i = 0; i < n; i++) chunks.push(await randomChunk(3, i, size, size));
      for (const c of chunks) await cache.get(c.hash, remote(c.bytes));
      const refetched = [];
      for (const c of chunks.slice(-reread)) {
        const r = remote(c.bytes);
        await cache.get(c.hash, r);
        refetched.push(r.calls);
      }
      const held = await Promise.all(chunks.map((c) => store.has(c.hash)));
      const listed = await Promise.all(chunks.map((c) => cache.listed(c.hash)));
      const { corrupt, entries, bytes } = await cache.verify();
      const originUsage = (await navigator.storage.estimate()).usage ?? -1;
      return { refetched, stats: { ...cache.stats }, warnings, held, listed, storedBytes: (await store.usage()).bytes, verified: { entries, bytes, corrupt }, originUsage };
    } finally {
      await store.close();
    }
  },
  async openError(db) {
    try {
      await (await IdbChunkStore.open(db, { storage: null })).close();
      return 'opened';
    } catch (e) {
      const { name, code, message, cause } = e as EdgelakeError;
      return { name, code, message, cause: cause instanceof Error ? cause.name : String(cause) };
    }
  },
  async createAt(db, version) {
    const request = indexedDB.open(db, version);
    await new Promise((resolve, reject) => {
      request.onsuccess = resolve;
      request.onerror = () => reject(request.error);
    });
    request.result.close();
  },
};
