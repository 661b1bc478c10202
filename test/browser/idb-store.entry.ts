/**
 * Bundled into the page by idb-store.test.ts: IdbChunkStore on the browser's real IndexedDB.
 * The test drives it through `window.idbTest`; only plain JSON crosses the page boundary.
 */
import { runConformance } from '../cache/store-conformance.js';
import { IdbChunkStore } from '../../src/index.js';

export interface IdbTest {
  conformance(): Promise<{ name: string; ok: boolean; error?: string }[]>;
  /** Puts a seeded chunk; returns what the store reports (persisted, estimate). */
  put(db: string, n: number, size: number): Promise<{ persisted: boolean | undefined; usage?: number; quota?: number }>;
  /** 'whole' when the seeded chunk comes back intact, 'missing' when absent, 'damaged' otherwise. */
  check(db: string, n: number, size: number): Promise<'whole' | 'missing' | 'damaged'>;
  /** Deletes and re-puts chunk n `rounds` times (an evicting tab). */
  churn(db: string, n: number, size: number, rounds: number): Promise<void>;
  /** Reads chunk n `rounds` times (a reading tab); counts what it saw, throws on nothing. */
  read(db: string, n: number, size: number, rounds: number): Promise<Record<string, number>>;
  databases(): Promise<string[]>;
}

declare global {
  interface Window {
    idbTest: IdbTest;
  }
}

const hash = (n: number) => n.toString(16).padStart(64, 'a');
const bytes = (n: number, size: number) => Uint8Array.from({ length: size }, (_, i) => (i * 31 + n) & 255);
const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);

async function withStore<T>(db: string, fn: (store: IdbChunkStore) => Promise<T>): Promise<T> {
  const store = await IdbChunkStore.open(db);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

async function check(store: IdbChunkStore, n: number, size: number): Promise<'whole' | 'missing' | 'damaged'> {
  const got = await store.get(hash(n));
  return got === undefined ? 'missing' : same(got, bytes(n, size)) ? 'whole' : 'damaged';
}

let run = 0;
window.idbTest = {
  conformance: () =>
    runConformance(async () => {
      const name = `conformance-${Date.now()}-${run++}`; // a fresh database per case
      return { store: await IdbChunkStore.open(name), reopen: () => IdbChunkStore.open(name) };
    }),
  put: (db, n, size) =>
    withStore(db, async (store) => {
      await store.put(hash(n), bytes(n, size));
      const { usage, quota } = await navigator.storage.estimate();
      return { persisted: store.persisted, usage, quota };
    }),
  check: (db, n, size) => withStore(db, (store) => check(store, n, size)),
  churn: (db, n, size, rounds) =>
    withStore(db, async (store) => {
      for (let i = 0; i < rounds; i++) {
        await store.delete(hash(n));
        await store.put(hash(n), bytes(n, size));
      }
    }),
  read: (db, n, size, rounds) =>
    withStore(db, async (store) => {
      const seen: Record<string, number> = { whole: 0, missing: 0, damaged: 0 };
      for (let i = 0; i < rounds; i++) seen[await check(store, n, size)]++;
      return seen;
    }),
  databases: async () => (await indexedDB.databases()).map((d) => d.name ?? ''),
};
