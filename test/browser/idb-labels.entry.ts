/** Bundled into the page by idb-labels.test.ts: IdbLabelStore on the browser's real IndexedDB, driven through `window.labelTest`. */
import { IdbLabelStore } from '../../src/index.js';

export interface LabelTest {
  /** Appends one batch; resolves once the store acknowledged it. */
  append(db: string, ids: number[], labels: number[]): Promise<void>;
  load(db: string): Promise<[number[], number[]][]>;
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

window.labelTest = {
  append: (db, ids, labels) => withStore(db, (s) => s.append({ ids: Uint32Array.from(ids), labels: Int32Array.from(labels) })),
  load: (db) => withStore(db, async (s) => (await s.load()).map((b): [number[], number[]] => [Array.from(b.ids), Array.from(b.labels)])),
};
