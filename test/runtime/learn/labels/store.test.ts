// Every LabelStore keeps what `append` acknowledged, in order, across a reopen.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDBFactory } from 'fake-indexeddb';
import { afterAll, describe, expect, it } from 'vitest';
import { IdbLabelStore, MemoryLabelStore, type LabelBatch, type LabelStore } from '../../../../src/index.js';
import { FsLabelStore } from '../../../../src/node.js';

const root = mkdtempSync(join(tmpdir(), 'edgelake-labels-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A store and a way to open it again (the memory store is its own reopening). */
const kinds: [string, () => Promise<{ store: LabelStore; reopen: () => Promise<LabelStore> }>][] = [
  ['MemoryLabelStore', async () => {
    const store = new MemoryLabelStore();
    return { store, reopen: async () => store };
  }],
  ['FsLabelStore', async () => {
    const path = join(mkdtempSync(join(root, 'fs-')), 'run', 'labels.bin');
    return { store: await FsLabelStore.open(path), reopen: () => FsLabelStore.open(path) };
  }],
  ['IdbLabelStore on fake-indexeddb', async () => {
    const indexedDB = new IDBFactory();
    return { store: await IdbLabelStore.open('labels', { indexedDB }), reopen: () => IdbLabelStore.open('labels', { indexedDB }) };
  }],
];

const batch = (ids: number[], labels: number[]): LabelBatch => ({ ids: Uint32Array.from(ids), labels: Int32Array.from(labels) });
const plain = (batches: LabelBatch[]) => batches.map((b) => [Array.from(b.ids), Array.from(b.labels)]);

describe.each(kinds)('%s', (_, open) => {
  it('returns every acknowledged batch in order, after a reopen too; the caller\'s arrays are copied', async () => {
    const { store, reopen } = await open();
    expect(await store.load()).toEqual([]);
    const first = batch([7, 3, 4_000_000_000], [1, 0, -5]);
    await store.append(first);
    first.labels[0] = 99; // the store kept what it was given
    await store.append(batch([12], [2]));
    await store.append(batch([], []));
    const expected = [[[7, 3, 4_000_000_000], [1, 0, -5]], [[12], [2]], [[], []]];
    expect(plain(await store.load())).toEqual(expected);
    await store.close();
    const again = await reopen();
    expect(plain(await again.load())).toEqual(expected);
    await again.append(batch([5], [3]));
    expect(plain(await again.load())).toEqual([...expected, [[5], [3]]]);
    await again.close();
  });

  it('holds one label per sample: a different one is refused (conflict) and nothing of its batch stored; the same one again is no news', async () => {
    const { store, reopen } = await open();
    await store.append(batch([5, 6], [1, 2]));
    await expect(store.append(batch([9, 5, 6], [0, 7, 2]))).rejects.toMatchObject({
      code: 'conflict', message: `label store ${store.location}: two labels for sample 5 (1 there, 7 in this batch); this batch of 3 labels was not stored`,
    });
    await expect(store.append(batch([8, 8], [3, 4]))).rejects.toMatchObject({ code: 'conflict', message: expect.stringContaining('two labels for sample 8 (3 and 4 in this batch)') });
    await store.append(batch([6, 9, 9], [2, 0, 0])); // sample 6 again, and 9 twice: only 9, once, is news
    await store.append(batch([5], [1])); // nothing new: nothing written
    const expected = [[[5, 6], [1, 2]], [[9], [0]]];
    expect(plain(await store.load())).toEqual(expected);
    await store.close();
    const again = await reopen();
    expect(plain(await again.load())).toEqual(expected);
    await expect(again.append(batch([9], [4]))).rejects.toMatchObject({ code: 'conflict' });
    await again.close();
  });

  it('takes a correction as one: it replaces held labels, keeps the ones it replaced in the history, and stays one after a reopen', async () => {
    const { store, reopen } = await open();
    await store.append(batch([5, 6], [1, 2]));
    await store.append({ ...batch([5, 6, 7], [3, 2, 4]), corrects: true }); // 6 is no news; 7 was not held: labelled
    await expect(store.append({ ...batch([8, 8], [0, 1]), corrects: true })).rejects.toMatchObject({ code: 'conflict', message: expect.stringContaining('sample 8 (0 and 1 in this batch)') });
    const expected = [{ ids: [5, 6], labels: [1, 2] }, { ids: [5, 7], labels: [3, 4], corrects: true }];
    const shown = (batches: LabelBatch[]) => batches.map((b) => ({ ...b, ids: Array.from(b.ids), labels: Array.from(b.labels) }));
    expect(shown(await store.load())).toEqual(expected);
    await store.close();
    const again = await reopen();
    expect(shown(await again.load())).toEqual(expected);
    // Held now: 5 is 3. A plain batch giving it 1 again is a conflict; one giving it 3 is no news.
    await expect(again.append(batch([5], [1]))).rejects.toMatchObject({ code: 'conflict', message: expect.stringContaining('sample 5 (3 there, 1 in this batch)') });
    await again.append(batch([5], [3]));
    expect(await again.load()).toHaveLength(2);
    await again.close();
  });

  it('refuses a malformed batch, storing nothing', async () => {
    const { store } = await open();
    await expect(store.append(batch([1, 2], [0]))).rejects.toThrow(`label store ${store.location}: 2 ids but 1 labels`);
    await expect(store.append({ ids: [1] as unknown as Uint32Array, labels: Int32Array.of(0) })).rejects.toThrow('a batch is { ids: Uint32Array, labels: Int32Array, corrects?: boolean }');
    await expect(store.append({ ...batch([1], [0]), corrects: 'yes' as unknown as boolean })).rejects.toThrow('corrects?: boolean');
    expect(await store.load()).toEqual([]);
    await store.close();
  });
});
