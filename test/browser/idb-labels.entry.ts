/** Bundled into the page by idb-labels.test.ts: IdbLabelStore on the browser's real IndexedDB, driven through `window.labelTest`. */
import { IdbLabelStore } from '../../src/index.js';

/** A batch as plain arrays: ids, labels, and `true` when it corrects. */
export type PlainBatch = [number[], number[]] | [number[], number[], true];

export interface LabelTest {
  /** Appends one batch; resolves once the store acknowledged it. */
  append(db: string, ids: number[], labels: number[]): Promise<void>;
  load(db: string): Promise<PlainBatch[]>;
  /** Writes `batches` as version 1 of IdbLabelStore stored them: store 'batches' only, keys 0, 1, 2..., typed arrays. */
  writeVersion1(db: string, batches: PlainBatch[]): Promise<void>;
  /** The database's version, and the [id, label] pairs its 'held' store holds (a record { ids, labels } per bucket of ids), read with raw IndexedDB. */
  held(db: string): Promise<{ version: number; held: [number, number][] }>;
}

declare global {
  interface Window {
    labelTest: LabelTest;
  }
}

async function withStore<T>(db: string, fn: (store: IdbLabelStore) => Promise<T>): Promise<T> {
  const store = await IdbLabelStore.open(db);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => ((r.onsuccess = () => resolve(r.result)), (r.onerror = () => reject(r.error))));
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => ((tx.oncomplete = () => resolve()), (tx.onabort = () => reject(tx.error))));
}

window.labelTest = {
  append: (db, ids, labels) => withStore(db, (s) => s.append({ ids: Uint32Array.from(ids), labels: Int32Array.from(labels) })),
  load: (db) => withStore(db, async (s) => (await s.load()).map((b): PlainBatch => (b.corrects ? [Array.from(b.ids), Array.from(b.labels), true] : [Array.from(b.ids), Array.from(b.labels)]))),
  async writeVersion1(db, batches) {
    const opening = indexedDB.open(db, 1);
    opening.onupgradeneeded = () => opening.result.createObjectStore('batches');
    const database = await request(opening);
    const tx = database.transaction('batches', 'readwrite');
    batches.forEach(([ids, labels, corrects], key) => tx.objectStore('batches').add({ ids: Uint32Array.from(ids), labels: Int32Array.from(labels), ...(corrects && { corrects }) }, key));
    await done(tx);
    database.close();
  },
  async held(db) {
    const database = await request(indexedDB.open(db));
    try {
      const records = await request(database.transaction('held', 'readonly').objectStore('held').getAll());
      const held = (records as { ids: Uint32Array; labels: Int32Array }[]).flatMap(({ ids, labels }) => Array.from(ids, (id, i): [number, number] => [id, labels[i]]));
      return { version: database.version, held: held.sort((a, b) => a[0] - b[0]) };
    } finally {
      database.close();
    }
  },
};
