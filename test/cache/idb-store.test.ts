import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { type StorageLike } from '../../src/cache/idb-store.js';
import { conformanceCases } from './store-conformance.js';
import { IdbChunkStore, isEdgelakeError } from '../../src/index.js';

const hash = (n: number) => n.toString(16).padStart(64, '0');
const bytes = (n: number, size: number) => Uint8Array.from({ length: size }, (_, i) => (i * 13 + n) & 255);

describe('IdbChunkStore on fake-indexeddb: the shared ChunkStore cases', () => {
  for (const c of conformanceCases) {
    it(c.name, async () => {
      const factory = new IDBFactory(); // a fresh, empty IndexedDB per case
      const store = await IdbChunkStore.open('edgelake-test', { indexedDB: factory, storage: null });
      try {
        await c.run(store, () => IdbChunkStore.open('edgelake-test', { indexedDB: factory, storage: null }));
      } finally {
        await store.close();
      }
    });
  }
});

describe('IdbChunkStore on fake-indexeddb', () => {
  it('refuses a chunk that would pass the quota, naming store, chunk, usage and quota; keeps what it had', async () => {
    let store: IdbChunkStore | undefined;
    const storage: StorageLike = {
      estimate: async () => ({ usage: (await store!.usage()).bytes, quota: 1000 }),
      persist: async () => true,
    };
    store = await IdbChunkStore.open('quota', { indexedDB: new IDBFactory(), storage });
    expect(store.persisted).toBe(true);
    await store.put(hash(1), bytes(1, 600));
    const error = await store.put(hash(2), bytes(2, 600)).catch((e: unknown) => e);
    expect(isEdgelakeError(error, 'storage-full')).toBe(true);
    expect((error as Error).message).toMatch(new RegExp(`IndexedDB "quota".*${hash(2)}.*600 of its 1000-byte quota`));
    expect(await store.get(hash(1))).toEqual(bytes(1, 600));
    expect(await store.has(hash(2))).toBe(false);
    expect(await store.usage()).toEqual({ entries: 1, bytes: 600 });
    await store.close();
  });

  it('turns a QuotaExceededError from IndexedDB into storage-full; the aborted put leaves no trace', async () => {
    const factory = quotaAt(1000);
    const store = await IdbChunkStore.open('idb-quota', { indexedDB: factory, storage: null });
    await store.put(hash(1), bytes(1, 600));
    for (const mode of ['abort', 'throw'] as const) {
      failMode = mode;
      const error = await store.put(hash(2), bytes(2, 2000)).catch((e: unknown) => e);
      expect(isEdgelakeError(error, 'storage-full'), String(error)).toBe(true);
      expect((error as Error).message).toContain(hash(2));
      expect(await store.has(hash(2))).toBe(false);
      expect(await store.entries()).toEqual([expect.objectContaining({ hash: hash(1), bytes: 600 })]);
      expect(await store.get(hash(1))).toEqual(bytes(1, 600));
    }
    await store.close();
    const again = await IdbChunkStore.open('idb-quota', { indexedDB: factory, storage: null });
    expect(await again.usage()).toEqual({ entries: 1, bytes: 600 });
    await again.close();
  });

  it('close is idempotent and get of a chunk deleted by another connection is a miss', async () => {
    const factory = new IDBFactory();
    const [a, b] = await Promise.all([0, 1].map(() => IdbChunkStore.open('shared', { indexedDB: factory, storage: null })));
    await a.put(hash(3), bytes(3, 100));
    expect(await b.get(hash(3))).toEqual(bytes(3, 100));
    await b.delete(hash(3));
    expect(await a.get(hash(3))).toBeUndefined();
    expect(await a.entries()).toEqual([]);
    await a.close();
    await a.close();
    await b.close();
  });
});

let failMode: 'abort' | 'throw' = 'abort';

/**
 * A fake-indexeddb factory whose chunk puts over `limit` bytes fail as a full quota does:
 * 'abort' aborts the transaction with a QuotaExceededError (what browsers do), 'throw' throws it
 * from put() after the transaction already holds other requests.
 */
function quotaAt(limit: number): IDBFactory {
  const factory = new IDBFactory();
  const open = factory.open.bind(factory);
  factory.open = (name: string, version?: number) => {
    const request = open(name, version);
    request.addEventListener('success', () => wrapDatabase(request.result, limit));
    return request;
  };
  return factory;
}

function wrapDatabase(db: IDBDatabase, limit: number): void {
  const transaction = db.transaction.bind(db);
  db.transaction = ((names: string | string[], mode?: IDBTransactionMode) => {
    const tx = transaction(names, mode);
    const objectStore = tx.objectStore.bind(tx);
    tx.objectStore = (name: string) => {
      const store = objectStore(name);
      if (name !== 'chunks') return store;
      const put = store.put.bind(store);
      store.put = (value: unknown, key?: IDBValidKey) => {
        if ((value as ArrayBuffer).byteLength <= limit) return put(value, key);
        const quota = new DOMException('The quota has been exceeded.', 'QuotaExceededError');
        if (failMode === 'throw') throw quota;
        const request = put(value, key);
        Object.defineProperty(tx, 'error', { get: () => quota, set: () => {}, configurable: true });
        tx.abort();
        return request;
      };
      return store;
    };
    return tx;
  }) as IDBDatabase['transaction'];
}
