// IdbLabelStore shared by two tabs: each append takes the next number when it writes, so neither collides.
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { IdbLabelStore } from '../../../../src/index.js';

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
});
