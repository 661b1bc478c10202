// People in the loop, as modAL users know it: query() what to label, teach() the answers, every label kept.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSubsetArgs, cli } from '../../support/cli.js';
import { IDBFactory } from 'fake-indexeddb';
import { ActiveLearner, ChunkCache, IdbLabelStore, MemoryChunkStore, MemoryLabelStore, mlp, type ActiveLearnerOptions, type Batch, type Dataset, type LabelStore } from '../../../src/index.js';
import { FsLabelStore, openDataset } from '../../../src/node.js';

const root = mkdtempSync(join(tmpdir(), 'edgelake-teach-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const dir = join(root, 'ds');
beforeAll(async () => {
  expect((await cli(...buildSubsetArgs(dir, '--chunk-kib', '64', '--embedding-dims', '32'))).code).toBe(0);
});

/** A learner whose labels come only from teach: the target names no tensor of the dataset (people label data that has none). */
async function person(options: Partial<ActiveLearnerOptions> = {}, classes = 10) {
  const dataset = await openDataset(dir, { cache: new ChunkCache(new MemoryChunkStore(), { budgetBytes: 2 ** 30 }) });
  const learner = mlp({ layers: [784, 32, classes], seed: 1 });
  const taught: Int32Array[] = [];
  const fit = learner.fit.bind(learner);
  learner.fit = async (source, o) => fit((epoch: number) => watch((source as (epoch: number) => AsyncIterable<Batch>)(epoch), taught), o);
  const al = new ActiveLearner({ dataset, strategy: 'margin', roundSize: 20, maxLabels: 1000, learner, epochs: 2, seed: 4, target: 'answer', ...options });
  return { al, dataset, learner, taught };
}

async function* watch(source: AsyncIterable<Batch>, taught: Int32Array[]): AsyncGenerator<Batch> {
  for await (const b of source) {
    taught.push(b.tensors.answer as Int32Array);
    yield b;
  }
}

const image = async (ds: Dataset, id: number) => (await ds.view({ indices: Uint32Array.of(id) }).get(0, ['image'])).image as Uint8Array;
/** A person who disagrees with the dataset: each sample's class, shifted by 3. */
const answer = (id: number) => (id * 7 + 3) % 10;

describe('ActiveLearner.query / teach', () => {
  it('query returns unlabelled ids with the strategy\'s value of each and a preview; teach trains on the answers as given', async () => {
    const { al, dataset, learner, taught } = await person({ preview: 'image' });
    const first = await al.query(12);
    expect(first.ids).toHaveLength(12);
    expect(first.scores).toBeInstanceOf(Float64Array);
    expect(first.scores).toHaveLength(12);
    expect(new Set(first.ids).size).toBe(12);
    for (const [i, id] of first.ids.entries()) expect(Buffer.compare(first.previews![i] as Uint8Array, await image(dataset, id))).toBe(0);
    expect(al.pool.labelledCount).toBe(0); // asking labels nothing

    await al.teach(first.ids, Array.from(first.ids, answer));
    expect(Array.from(al.pool.labelled(), (id) => al.pool.labelOf(id))).toEqual(Array.from(first.ids, answer));
    // Two epochs over the 12 answers, each batch's targets the person's.
    expect(taught.reduce((n, t) => n + t.length, 0)).toBe(24);

    // After training, margin ranks by the learner's uncertainty: the values come highest first, none of them labelled.
    const second = await al.query(30);
    expect(second.ids.some((id) => al.pool.isLabelled(id))).toBe(false);
    expect(Array.from(second.scores)).toEqual(Array.from(second.scores).sort((a, b) => b - a));
    expect(second.scores.every(Number.isFinite)).toBe(true);
    learner.dispose();
  });

  it('refuses bad answers, naming the sample, and keeps nothing of them', async () => {
    const labels = new MemoryLabelStore();
    const { al, learner } = await person({ labels });
    const { ids } = await al.query(3);
    await al.teach(ids.subarray(0, 1), [5]);
    const before = await labels.load();
    await expect(al.teach([ids[1], ids[2]], [1])).rejects.toThrow('Pool.label: 2 ids but 1 labels');
    await expect(al.teach([ids[0]], [2])).rejects.toThrow(`Pool.label: sample ${ids[0]} is already labelled (5)`);
    await expect(al.teach([ids[1], ids[1]], [1, 1])).rejects.toThrow(`Pool.label: sample ${ids[1]} appears twice in this call`);
    for (const label of [1.5, 10, -1]) await expect(al.teach([ids[1]], [label])).rejects.toThrow(`teach: sample ${ids[1]} has label ${label}; the learner knows 10 classes, 0 to 9`);
    await expect(al.teach([99_999], [1])).rejects.toThrow('Pool.label: sample 99999 is not in the pool');
    await expect(al.teach([], [])).rejects.toThrow('teach: no samples given');
    await expect(al.query(0)).rejects.toThrow('query: n must be a positive integer, got 0');
    expect(await labels.load()).toEqual(before);
    expect(al.pool.labelledCount).toBe(1);
    learner.dispose();
  });

  it('two quick answers for one sample: the first stands, the second is refused and stored nowhere, and a new learner on the store starts whole', async () => {
    const path = join(root, 'quick', 'labels.bin');
    const labels = await FsLabelStore.open(path);
    const { al, learner } = await person({ labels });
    const [id] = (await al.query(1)).ids;
    const answers = await Promise.allSettled([al.teach([id], [3]), al.teach([id], [5])]);
    expect(answers.map((a) => a.status)).toEqual(['fulfilled', 'rejected']);
    expect(String((answers[1] as PromiseRejectedResult).reason.message)).toBe(`Pool.label: sample ${id} is already labelled (3)`);
    expect((await labels.load()).map((b) => [Array.from(b.ids), Array.from(b.labels)])).toEqual([[[id], [3]]]);
    await labels.close();
    learner.dispose();
    const again = await person({ labels: await FsLabelStore.open(path) });
    expect((await again.al.query(2)).ids).not.toContain(id);
    expect(again.al.pool.labelOf(id)).toBe(3);
    again.learner.dispose();
  });

  it('correct() puts a taught label right: trains on the new one, stores it as a correction beside the old, and a new learner on the store starts from it', async () => {
    const path = join(root, 'corrected', 'labels.bin');
    const labels = await FsLabelStore.open(path);
    const { al, learner, taught } = await person({ labels });
    const { ids } = await al.query(3);
    await al.teach(ids, [1, 2, 3]);
    taught.length = 0;
    await al.correct([ids[1]], [8]); // a slip of the finger: it was an 8
    expect(Array.from(ids, (id) => al.pool.labelOf(id))).toEqual([1, 8, 3]);
    expect(Array.from(al.pool.labelled())).toEqual(Array.from(ids)); // its place in the labelling order stays
    expect(taught.flatMap((t) => Array.from(t)).sort()).toEqual([1, 1, 3, 3, 8, 8]); // two epochs over the three, as corrected
    await expect(al.correct([ids[0], 99_999], [2, 2])).rejects.toThrow('Pool.relabel: sample 99999 is not in the pool');
    const [unlabelled] = (await al.query(1)).ids;
    await expect(al.correct([unlabelled], [2])).rejects.toThrow(`Pool.relabel: sample ${unlabelled} is not labelled yet: label it first`);
    await expect(al.correct([ids[0]], [10])).rejects.toThrow(`correct: sample ${ids[0]} has label 10; the learner knows 10 classes, 0 to 9`);
    expect((await labels.load()).map((b) => [Array.from(b.ids), Array.from(b.labels), b.corrects ?? false])).toEqual([[Array.from(ids), [1, 2, 3], false], [[ids[1]], [8], true]]);
    await labels.close();
    learner.dispose();
    const again = await person({ labels: await FsLabelStore.open(path) });
    await again.al.query(1);
    expect(Array.from(ids, (id) => again.al.pool.labelOf(id))).toEqual([1, 8, 3]);
    again.learner.dispose();
  });

  it('a store that holds two answers for one sample (as two teaches at once could leave it before stores refused a second): the first stands', async () => {
    const written: LabelStore = {
      location: 'an older store', close: async () => {}, append: async () => {},
      load: async () => [{ ids: Uint32Array.of(4, 7), labels: Int32Array.of(3, 1) }, { ids: Uint32Array.of(4), labels: Int32Array.of(5) }],
    };
    const { al, learner } = await person({ labels: written });
    expect((await al.query(1)).ids).toHaveLength(1);
    expect([al.pool.labelOf(4), al.pool.labelOf(7), al.pool.labelledCount]).toEqual([3, 1, 2]);
    learner.dispose();
  });

  it('two learners on one store (two tabs) label a sample differently: the second teach is refused (conflict), stored and learned nowhere', async () => {
    const indexedDB = new IDBFactory();
    const tab1 = await person({ labels: await IdbLabelStore.open('labels', { indexedDB }) });
    const tab2 = await person({ labels: await IdbLabelStore.open('labels', { indexedDB }) });
    await Promise.all([tab1.al.query(1), tab2.al.query(1)]); // both restored the empty store
    await tab1.al.teach([5], [1]);
    await expect(tab2.al.teach([5, 6], [7, 7])).rejects.toMatchObject({
      code: 'conflict', message: 'label store IndexedDB "labels": two labels for sample 5 (1 there, 7 in this batch); this batch of 2 labels was not stored',
    });
    expect([tab2.al.pool.labelOf(5), tab2.al.pool.labelOf(6)]).toEqual([undefined, undefined]);
    const reload = await person({ labels: await IdbLabelStore.open('labels', { indexedDB }) });
    await reload.al.query(1);
    expect([reload.al.pool.labelOf(5), reload.al.pool.labelOf(6), reload.al.pool.labelledCount]).toEqual([1, undefined, 1]);
    for (const p of [tab1, tab2, reload]) p.learner.dispose();
  });

  it('a store with labels beyond the learner\'s classes is refused, naming the store, the sample and the classes; a teach then stores nothing', async () => {
    const path = join(root, 'classes', 'labels.bin');
    const store = await FsLabelStore.open(path);
    const ten = await person({ labels: store });
    await ten.al.teach([1, 2], [9, 2]);
    await store.close();
    ten.learner.dispose();

    const labels = await FsLabelStore.open(path);
    const three = await person({ labels }, 3);
    const refusal = { code: 'invalid-input', message: `label store ${path}: sample 1 is labelled 9 there, but the learner knows 3 classes, 0 to 2 (a store for another task?)` };
    await expect(three.al.query(1)).rejects.toMatchObject(refusal);
    await expect(three.al.teach([3], [0])).rejects.toMatchObject(refusal);
    expect((await labels.load()).map((b) => [Array.from(b.ids), Array.from(b.labels)])).toEqual([[[1, 2], [9, 2]]]);
    expect(three.al.pool.labelledCount).toBe(0);
    await labels.close();
    three.learner.dispose();
  });

  it('step() with nothing left to label says so', async () => {
    const { al, learner } = await person({ maxLabels: 2, oracle: async (ids) => Array.from(ids, answer) });
    const { ids } = await al.query(2);
    await al.teach(ids, Array.from(ids, answer));
    await expect(al.step()).rejects.toThrow(`step: nothing left to label (2 of ${al.pool.size} samples labelled, maxLabels 2)`);
    learner.dispose();
  });

  it('labels live in the store: a new learner on it starts from every answer, and a store for another pool is refused', async () => {
    const path = join(root, 'labels', 'person.bin');
    const store = await FsLabelStore.open(path);
    const one = await person({ labels: store });
    const asked = await one.al.query(15);
    await one.al.teach(asked.ids.subarray(0, 10), Array.from(asked.ids.subarray(0, 10), answer));
    await one.al.teach(asked.ids.subarray(10), Array.from(asked.ids.subarray(10), answer));
    await store.close();
    one.learner.dispose();

    const reopened = await FsLabelStore.open(path);
    const two = await person({ labels: reopened });
    const next = await two.al.query(5);
    expect(Array.from(two.al.pool.labelled())).toEqual(Array.from(asked.ids));
    expect(Array.from(asked.ids, (id) => two.al.pool.labelOf(id))).toEqual(Array.from(asked.ids, answer));
    expect(next.ids.some((id) => asked.ids.includes(id))).toBe(false);
    two.learner.dispose();

    // The same labels over the test split's pool: ids it does not hold.
    const three = await person({ labels: reopened, split: 'test' });
    await expect(three.al.query(1)).rejects.toThrow(`label store ${path} does not fit this pool (another dataset or split?): Pool.label: sample ${asked.ids[0]} is not in the pool`);
    await reopened.close();
    three.learner.dispose();
  });

  it('step() is query, the oracle, teach and an evaluation: the oracle\'s labels go to the store too', async () => {
    const labels = new MemoryLabelStore();
    const { al, learner } = await person({ labels, target: 'label', roundSize: 50, maxLabels: 100, oracle: async (ids) => Array.from(ids, answer) });
    const rounds = await al.run();
    expect(rounds.map((r) => r.labels)).toEqual([50, 100]);
    const stored = await labels.load();
    expect(stored.map((b) => Array.from(b.ids))).toEqual(rounds.map((r) => Array.from(r.selected)));
    expect(stored.every((b) => Array.from(b.ids, answer).every((l, i) => l === b.labels[i]))).toBe(true);
    learner.dispose();
  });
});
