// IdbLabelStore shared by two tabs: each append takes the next number when it writes, so neither collides, and the first label given a sample stands.
// An append reads only the held labels of its own samples' buckets, and a database the previous version wrote is upgraded with none lost.
import { IDBCursor, IDBFactory, IDBObjectStore } from 'fake-indexeddb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { IdbLabelStore, isEdgelakeError, MemoryLabelStore, type LabelBatch } from '../../../../src/index.js';
import { mulberry32 } from '../../../support/random.js';

const batch = (ids: number[], labels: number[], corrects?: true): LabelBatch => ({ ids: Uint32Array.from(ids), labels: Int32Array.from(labels), ...(corrects && { corrects }) });
const plain = (batches: LabelBatch[]) => batches.map((b) => [Array.from(b.ids), Array.from(b.labels), ...(b.corrects ? ['corrects'] : [])]);

/** Runs `requests` on database `name`'s store `store` in one transaction (raw IndexedDB, as another program would). */
async function raw<T>(indexedDB: IDBFactory, name: string, store: string, mode: IDBTransactionMode, requests: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await request(indexedDB.open(name));
  try {
    const tx = db.transaction(store, mode);
    const result = request(requests(tx.objectStore(store)));
    await new Promise((resolve, reject) => ((tx.oncomplete = resolve), (tx.onabort = () => reject(tx.error))));
    return await result;
  } finally {
    db.close();
  }
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => ((r.onsuccess = () => resolve(r.result)), (r.onerror = () => reject(r.error))));
}

/** The label each sample holds, as the database's 'held' store has it: a record { ids, labels } per bucket of 1024 ids. */
async function heldIn(indexedDB: IDBFactory, name: string): Promise<Map<number, number>> {
  const records = await raw(indexedDB, name, 'held', 'readonly', (s) => s.getAll());
  return new Map((records as LabelBatch[]).flatMap(({ ids, labels }) => Array.from(ids, (id, i): [number, number] => [id, labels[i]])));
}

/** The label each sample holds after `batches`, worked out here: a correction replaces, otherwise the first label stands. */
function expectedHeld(batches: LabelBatch[]): Map<number, number> {
  const held = new Map<number, number>();
  for (const { ids, labels, corrects } of batches) ids.forEach((id, i) => (corrects || !held.has(id)) && held.set(id, labels[i]));
  return held;
}

/** Every read any fake-indexeddb object store or cursor is asked for from now on, as [store, method, argument]. */
function recordReads(): unknown[][] {
  const reads: unknown[][] = [];
  for (const method of ['get', 'getKey', 'getAll', 'getAllKeys', 'count', 'openCursor', 'openKeyCursor'] as const) {
    const original = IDBObjectStore.prototype[method] as (...args: unknown[]) => unknown;
    vi.spyOn(IDBObjectStore.prototype, method).mockImplementation(function (this: IDBObjectStore, ...args: unknown[]) {
      reads.push([this.name, method, ...args]);
      return original.apply(this, args);
    } as never);
  }
  for (const method of ['continue', 'advance', 'continuePrimaryKey'] as const) {
    const original = IDBCursor.prototype[method] as (...args: unknown[]) => unknown;
    vi.spyOn(IDBCursor.prototype, method).mockImplementation(function (this: IDBCursor, ...args: unknown[]) {
      reads.push([(this.source as IDBObjectStore).name, method, ...args]);
      return original.apply(this, args);
    } as never);
  }
  return reads;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('IdbLabelStore', () => {
  it('two stores on one database append in turn, and load returns every batch in the order written', async () => {
    const indexedDB = new IDBFactory();
    const tab1 = await IdbLabelStore.open('labels', { indexedDB });
    const tab2 = await IdbLabelStore.open('labels', { indexedDB });
    for (const [tab, id] of [[tab1, 1], [tab2, 2], [tab2, 3], [tab1, 4], [tab2, 5]] as const) {
      await tab.append({ ids: Uint32Array.of(id), labels: Int32Array.of(id * 10) });
    }
    const plain = async (tab: IdbLabelStore) => (await tab.load()).map((b) => [b.ids[0], b.labels[0]]);
    const expected = [[1, 10], [2, 20], [3, 30], [4, 40], [5, 50]];
    expect(await plain(tab1)).toEqual(expected);
    expect(await plain(tab2)).toEqual(expected);
    await tab1.close();
    await tab2.close();
    const again = await IdbLabelStore.open('labels', { indexedDB });
    expect(await plain(again)).toEqual(expected);
    await again.close();
  });

  it('two tabs label one sample differently: the second is refused (conflict), naming the sample and both labels, and a reload holds the first', async () => {
    const indexedDB = new IDBFactory();
    const tab1 = await IdbLabelStore.open('labels', { indexedDB });
    const tab2 = await IdbLabelStore.open('labels', { indexedDB });
    await tab1.append({ ids: Uint32Array.of(5), labels: Int32Array.of(1) });
    await expect(tab2.append({ ids: Uint32Array.of(6, 5), labels: Int32Array.of(7, 7) })).rejects.toMatchObject({
      code: 'conflict', message: 'label store IndexedDB "labels": two labels for sample 5 (1 there, 7 in this batch); this batch of 2 labels was not stored',
    });
    await tab2.append({ ids: Uint32Array.of(6, 5), labels: Int32Array.of(7, 1) }); // tab 1's answer for 5: only 6 is news
    await tab1.close();
    await tab2.close();
    const reload = await IdbLabelStore.open('labels', { indexedDB });
    expect((await reload.load()).map((b) => [Array.from(b.ids), Array.from(b.labels)])).toEqual([[[5], [1]], [[6], [7]]]);
    await reload.close();
  });

  it('a database another version wrote, or no IndexedDB here: an EdgelakeError saying so, not the browser\'s DOMException', async () => {
    const indexedDB = new IDBFactory();
    const request = indexedDB.open('labels', 3);
    await new Promise((r) => (request.onsuccess = r));
    request.result.close();
    const newer = await IdbLabelStore.open('labels', { indexedDB }).catch((e: unknown) => e);
    expect(isEdgelakeError(newer, 'unsupported'), String(newer)).toBe(true);
    expect((newer as Error).message).toMatch(/^IndexedDB "labels" was written by a newer edgelake \(version 3 > 2\)/);
    expect((newer as Error).cause).toMatchObject({ name: 'VersionError' });
    await expect(IdbLabelStore.open('labels')).rejects.toMatchObject({ code: 'unsupported', message: expect.stringContaining('IndexedDB is not available in this environment') });
  });

  it('an older tab holding the database open is named instead of waiting for ever; a newer one upgrading it makes this one step aside', async () => {
    const indexedDB = new IDBFactory();
    const request = indexedDB.open('labels', 1); // the previous edgelake, in a tab that never closes it for an upgrade
    request.onupgradeneeded = () => request.result.createObjectStore('batches');
    await new Promise((r) => (request.onsuccess = r));
    const blocked = await IdbLabelStore.open('labels', { indexedDB }).catch((e: unknown) => e);
    expect(blocked).toMatchObject({ code: 'conflict', message: expect.stringMatching(/^IndexedDB "labels" is open at an older version in another tab or window.*close that tab/) });
    request.result.close();
    const store = await IdbLabelStore.open('labels', { indexedDB });
    await store.append({ ids: Uint32Array.of(1), labels: Int32Array.of(2) });
    const newer = indexedDB.open('labels', 3); // a later edgelake in another tab: not blocked by this one
    newer.onupgradeneeded = () => undefined;
    await new Promise((resolve, reject) => ((newer.onsuccess = resolve), (newer.onblocked = () => reject(new Error('blocked')))));
    newer.result.close();
    // This store stepped aside: it says so, rather than a DOMException about a closing connection.
    await expect(store.append({ ids: Uint32Array.of(2), labels: Int32Array.of(3) })).rejects.toMatchObject({ code: 'conflict', message: expect.stringContaining('a newer edgelake in another tab or window upgraded the database, so this page can no longer write to it; reload it') });
  });

  it('an append after a thousand batches reads only the held labels of the buckets its samples fall in, not the history', async () => {
    const indexedDB = new IDBFactory();
    const store = await IdbLabelStore.open('labels', { indexedDB });
    for (let i = 0; i < 1000; i++) await store.append(batch([2 * i, 2 * i + 1], [i % 10, (i + 1) % 10]));
    await store.append(batch([4, 5], [8, 8], true));
    const reads = recordReads();
    await store.append(batch([5000], [3]));
    await store.append(batch([9, 5000, 9], [5, 3, 5])); // 9 already holds 5, 5000 now holds 3: nothing new
    await expect(store.append(batch([5], [1]))).rejects.toMatchObject({ code: 'conflict', message: expect.stringContaining('sample 5 (8 there, 1 in this batch)') });
    // Each append asks 'held' for its samples' buckets of 1024 ids (5000 is in bucket 4, 5 and 9 in 0), and 'batches' only for its last key.
    expect(reads).toEqual([
      ['held', 'get', 4], ['batches', 'openKeyCursor', null, 'prev'],
      ['held', 'get', 0], ['held', 'get', 4], ['batches', 'openKeyCursor', null, 'prev'],
      ['held', 'get', 0], ['batches', 'openKeyCursor', null, 'prev'],
    ]);
    vi.restoreAllMocks();
    expect((await store.load()).length).toBe(1002);
    await store.close();
  });

  it('the held labels agree with the history through teaches, repeats, refused conflicts and corrections from two tabs', async () => {
    const indexedDB = new IDBFactory();
    const tabs = [await IdbLabelStore.open('labels', { indexedDB }), await IdbLabelStore.open('labels', { indexedDB })];
    const reference = new MemoryLabelStore();
    const random = mulberry32(7);
    const pick = (n: number) => Math.floor(random() * n);
    for (let step = 0; step < 300; step++) {
      // Mostly each sample's true class (id % 3), sometimes another: repeats, news, conflicts and corrections all come up.
      const ids = Array.from({ length: 1 + pick(4) }, () => 41 * pick(100)); // in 4 buckets of held labels
      const next = batch(ids, ids.map((id) => (random() < 0.9 ? id % 3 : pick(3))), random() < 0.15 || undefined);
      const outcome = async (append: Promise<void>) => append.then(() => 'stored', (e: { code?: string }) => e.code);
      expect(await outcome(tabs[step % 2].append(next)), `step ${step}`).toBe(await outcome(reference.append(next)));
    }
    const history = await tabs[0].load();
    expect(plain(history)).toEqual(plain(await reference.load()));
    await Promise.all(tabs.map((t) => t.close()));
    expect(await heldIn(indexedDB, 'labels')).toEqual(expectedHeld(history));
  });

  it('a version-1 database the previous edgelake wrote opens with its history unchanged and every label held', async () => {
    const indexedDB = new IDBFactory();
    // As version 1 stored them: 'batches' only, keys 0, 1, 2..., typed arrays, corrects only on corrections.
    const old = [batch([1, 2, 70_000], [10, 20, 5]), batch([3], [30]), batch([2], [21]), batch([1], [11], true), batch([], [])];
    const opening = indexedDB.open('labels', 1);
    opening.onupgradeneeded = () => opening.result.createObjectStore('batches');
    (await request(opening)).close();
    for (const [key, b] of old.entries()) await raw(indexedDB, 'labels', 'batches', 'readwrite', (s) => s.add(b, key));

    const store = await IdbLabelStore.open('labels', { indexedDB });
    expect(plain(await store.load())).toEqual(plain(old));
    // Sample 2's second label came from a store older than refusing: its first stands, as it did.
    expect(await heldIn(indexedDB, 'labels')).toEqual(new Map([[1, 11], [2, 20], [3, 30], [70_000, 5]]));
    await expect(store.append(batch([2], [21]))).rejects.toMatchObject({ code: 'conflict', message: expect.stringContaining('sample 2 (20 there, 21 in this batch)') });
    await expect(store.append(batch([1], [10]))).rejects.toMatchObject({ code: 'conflict', message: expect.stringContaining('sample 1 (11 there, 10 in this batch)') });
    await store.append(batch([3, 4], [30, 40]));
    expect(plain(await store.load())).toEqual(plain([...old, batch([4], [40])]));
    await store.close();
    const version = await request(indexedDB.open('labels'));
    expect(version.version).toBe(2);
    version.close();
  });
});
