// IdbLabelStore shared by two tabs: each append takes the next number when it writes, so neither collides, and the first label given a sample stands.
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { IdbLabelStore, isEdgelakeError } from '../../../../src/index.js';

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
    expect((newer as Error).message).toMatch(/^IndexedDB "labels" was written by a newer edgelake \(version 3 > 1\)/);
    expect((newer as Error).cause).toMatchObject({ name: 'VersionError' });
    await expect(IdbLabelStore.open('labels')).rejects.toMatchObject({ code: 'unsupported', message: expect.stringContaining('IndexedDB is not available in this environment') });
  });
});
