// commitDataset: a child version with some samples rewritten and some appended, sharing every other chunk.
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildSubsetArgs, cli } from '../../support/cli.js';
import { mulberry32 } from '../../support/random.js';
import { readDataset } from '../../spec-reader/reader.js';
import { pngFolder } from '../../support/image-folder.js';
import { encodePng } from '../../format/image/png-encoder.js';
import { commitDataset, createBranch, createTag, isEdgelakeError, Loader, MemorySource, type Dataset } from '../../../src/index.js';
import { chunkPath, MemorySink, versionPath } from '../../../src/format/index.js';
import { FolderSink, openDataset } from '../../../src/node.js';

const root = mkdtempSync(join(tmpdir(), 'edgelake-commit-dataset-'));
const built = join(root, 'built');
beforeAll(async () => {
  expect((await cli(...buildSubsetArgs(built, '--chunk-kib', '64', '--embedding-dims', '8'))).code).toBe(0);
}, 60_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dir: string;
let n = 0;
beforeEach(() => {
  dir = join(root, `ds-${n++}`);
  cpSync(built, dir, { recursive: true });
});

const files = (sub: string) => readdirSync(join(dir, sub), { recursive: true }).filter((f) => String(f).includes('.') || String(f).length > 3).map(String);
const IMAGE = 28 * 28;
/** Byte equality of large arrays (toEqual walks them element by element, slowly). */
const same = (a: ArrayBufferView, b: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
/** Distinct seeded ids in [0, n). */
function pick(count: number, n: number, seed: number): number[] {
  const random = mulberry32(seed);
  const ids = new Set<number>();
  while (ids.size < count) ids.add(Math.floor(random() * n));
  return [...ids];
}
/** Which chunk of `tensor` holds each id, as a set. */
const chunksOf = (ds: Dataset, tensor: string, ids: number[]) => {
  const starts = ds.tensor(tensor).chunks.reduce<number[]>((s, c) => [...s, s.at(-1)! + c.samples], [0]);
  return new Set(ids.map((id) => starts.findIndex((_, c) => starts[c + 1] > id)));
};

describe('commitDataset', () => {
  it('updates images and labels: only chunks holding an updated sample are new files, and both readers see the new values', async () => {
    const parent = await openDataset(dir);
    const before = readDataset(dir);
    const [images, labels] = [before.readTensorBytes('image'), new Int32Array(before.readTensorBytes('label').slice().buffer)];
    const imageIds = pick(40, parent.length, 1);
    const labelIds = pick(60, parent.length, 2);
    const newImages = new Uint8Array(imageIds.length * IMAGE);
    imageIds.forEach((id, k) => newImages.set(images.subarray(id * IMAGE, (id + 1) * IMAGE).map((v) => 255 - v), k * IMAGE)); // inverted
    const newLabels = Int32Array.from(labelIds, (id) => (labels[id] + 1) % 10);
    const chunkFiles = files('chunks').length;

    const committed = await parent.commit(new FolderSink(dir), {
      update: { image: { ids: imageIds, values: newImages }, label: { ids: labelIds, values: newLabels } },
      message: 'invert 40 images, relabel 60', created: '2026-12-06T00:00:00Z',
    });

    const changedImageChunks = chunksOf(parent, 'image', imageIds).size;
    expect(files('chunks').length - chunkFiles).toBe(changedImageChunks + 1); // the subset has one label chunk
    const child = await openDataset(dir);
    expect([child.version, child.manifest.parent, child.manifest.message]).toEqual([committed.versionId, parent.version, 'invert 40 images, relabel 60']);
    expect(child.tensors.embedding).toEqual(parent.tensors.embedding);
    const changedHashes = child.tensor('image').chunks.filter((c, i) => c.hash !== parent.tensor('image').chunks[i].hash);
    expect(changedHashes.length).toBe(changedImageChunks);

    const expectedImages = images.slice();
    imageIds.forEach((id, k) => expectedImages.set(newImages.subarray(k * IMAGE, (k + 1) * IMAGE), id * IMAGE));
    const expectedLabels = labels.slice();
    labelIds.forEach((id, k) => (expectedLabels[id] = newLabels[k]));
    const spec = readDataset(dir);
    spec.verifyAll();
    expect(spec.versionId).toBe(committed.versionId);
    expect(same(spec.readTensorBytes('image'), expectedImages)).toBe(true);
    expect(same(spec.readTensorBytes('label'), expectedLabels)).toBe(true);
    const view = child.view();
    for (const id of [imageIds[0], labelIds[0], 17]) {
      expect(await view.get(id, ['image', 'label'])).toEqual({ image: expectedImages.slice(id * IMAGE, (id + 1) * IMAGE), label: Int32Array.of(expectedLabels[id]) });
    }
  });

  it('keeps the header index of a tensor it leaves alone, and drops that of one whose chunks it rewrites (it names the old headers)', async () => {
    const flat = join(root, `flat-${n++}`);
    expect((await cli(...buildSubsetArgs(flat, '--chunk-kib', '64', '--chunk-compression', 'none'))).code).toBe(0);
    const parent = await openDataset(flat);
    expect(parent.tensor('image').headers).toBeDefined();
    await parent.commit(new FolderSink(flat), { update: { label: { ids: [3], values: Int32Array.of(9) } }, created: '2026-12-06T00:00:00Z' });
    const relabelled = await openDataset(flat);
    expect(relabelled.tensor('image').headers).toEqual(parent.tensor('image').headers);
    await relabelled.commit(new FolderSink(flat), { update: { image: { ids: [3], values: new Uint8Array(IMAGE).fill(9) } }, created: '2026-12-06T00:00:01Z' });
    const child = await openDataset(flat);
    expect(child.tensor('image').headers).toBeUndefined();
    readDataset(flat).verifyAll();
    expect(same((await child.view().get(3, ['image'])).image, new Uint8Array(IMAGE).fill(9))).toBe(true);
  });

  it('appends samples to every tensor, in new chunks, into the split the caller names', async () => {
    const parent = await openDataset(dir);
    const added = 30;
    const random = mulberry32(3);
    const image = Uint8Array.from({ length: added * IMAGE }, () => Math.floor(random() * 256));
    const label = Int32Array.from({ length: added }, (_, i) => i % 10);
    const embedding = Int8Array.from({ length: added * 8 }, (_, i) => (i % 200) - 100);
    await commitDataset(parent, new FolderSink(dir), { append: { length: added, tensors: { image, label, embedding }, split: 'extra' }, created: '2026-12-06T00:00:00Z' });

    const child = await openDataset(dir);
    expect(child.length).toBe(6030);
    expect(child.splits).toEqual({ ...parent.splits, extra: [[6000, 6030]] });
    expect(child.manifest.message).toBe('30 appended');
    for (const name of ['image', 'label', 'embedding']) {
      expect(child.tensor(name).chunks.slice(0, -1)).toEqual(parent.tensor(name).chunks); // 30 samples: one new chunk each
    }
    const spec = readDataset(dir);
    spec.verifyAll();
    expect(spec.readTensorBytes('image').subarray(6000 * IMAGE)).toEqual(image);
    expect(new Int32Array(spec.readTensorBytes('label').slice().buffer).subarray(6000)).toEqual(label);
    expect(await child.view({ split: 'extra' }).get(29)).toEqual({ image: image.slice(29 * IMAGE), label: Int32Array.of(9), embedding: embedding.slice(29 * 8) });
  });

  it('refuses bad input by name before it writes anything', async () => {
    const parent = await openDataset(dir);
    const sink = new FolderSink(dir);
    const written = () => [files('chunks').length, files('versions').length];
    const was = written();
    const refused: [Parameters<typeof commitDataset>[2], RegExp][] = [
      [{ update: { caption: { ids: [1], values: new Uint8Array(1) } } }, /no tensor "caption"/],
      [{ update: { label: { ids: [1], values: Float32Array.of(1) } } }, /tensor label .*values must be one Int32Array/],
      [{ update: { label: { ids: [1, 2], values: Int32Array.of(1) } } }, /2 samples need 2 values, not 1/],
      [{ update: { label: { ids: [6000], values: Int32Array.of(1) } } }, /sample 6000 is not in dataset fashion-mnist-subset \(6000 samples\)/],
      [{ update: { label: { ids: [4, 4], values: Int32Array.of(1, 2) } } }, /names sample 4 twice/],
      [{ update: { label: { ids: [4], values: Int32Array.of(10) } } }, /label 10, but the tensor has 10 classNames/],
      [{ update: { image: { ids: [4], values: new Uint8Array(IMAGE + 1) } } }, /1 samples need 784 values, not 785/],
      [{ append: { length: 1, tensors: { label: Int32Array.of(1), image: new Uint8Array(IMAGE) } } }, /gives no values for tensor embedding/],
      [{ append: { length: 0, tensors: {} } }, /append length must be an integer > 0/],
    ];
    for (const [options, message] of refused) {
      const e = await commitDataset(parent, sink, options).catch((err: unknown) => err);
      expect(isEdgelakeError(e, 'invalid-input'), String(e)).toBe(true);
      expect((e as Error).message).toMatch(message);
    }
    expect(written()).toEqual(was);
    expect((await openDataset(dir)).version).toBe(parent.version);
  });

  it('PNG samples are updated with one encoded file per sample', async () => {
    const { ds, pixels } = await pngFolder();
    const sink = new MemorySink(); // the parent's files, as a root to commit into
    for (const path of ['edgelake.json', versionPath(ds.version), ...Object.values(ds.tensors).flatMap((t) => t.chunks.map((c) => chunkPath(c.hash)))]) await sink.write(path, await ds.source.read(path));
    const rgb = Uint16Array.from({ length: 4 * 6 * 3 }, (_, i) => (i * 37) % 256);
    const png = encodePng({ width: 6, height: 4, colorType: 2, bitDepth: 8, samples: rgb });
    await expect(commitDataset(ds, sink, { update: { image: { ids: [2], values: png } } })).rejects.toThrow(/values must be a list of 1 Uint8Arrays, one per sample/);
    await expect(commitDataset(ds, sink, { update: { image: { ids: [2], values: [pixels.get(0)!] } } })).rejects.toThrow(/sample 0 of the list is neither a JPEG nor a PNG file/);
    await commitDataset(ds, sink, { update: { image: { ids: [2], values: [png] } } });

    const child = await openDataset(new MemorySource(sink.files));
    const decoded = new Map<number, Uint8Array>();
    for await (const b of new Loader(child.view(), { batchSize: 7, tensors: ['image'] })) b.ids.forEach((id, i) => decoded.set(id, (b.tensors.image as Uint8Array[])[i]));
    expect(decoded.get(2)).toEqual(Uint8Array.from(rgb));
    expect(decoded.get(3)).toEqual(pixels.get(3));
  });

  it('two committers on one version of a folder: one wins, the other gets a conflict; committing again onto the winner keeps both', async () => {
    const [a, b] = [await openDataset(dir), await openDataset(dir)];
    const results = await Promise.allSettled([
      a.commit(new FolderSink(dir), { update: { label: { ids: [1], values: Int32Array.of(7) } } }),
      b.commit(new FolderSink(dir), { update: { label: { ids: [2], values: Int32Array.of(8) } } }),
    ]);
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(lost.length).toBe(1);
    expect(isEdgelakeError(lost[0].reason, 'conflict')).toBe(true);
    expect(lost[0].reason.message).toMatch(/^ref main moved on since version [0-9a-f]{64} was read/);
    const [loserId, loserLabel] = results[0].status === 'rejected' ? [1, 7] : [2, 8];
    await (await openDataset(dir)).commit(new FolderSink(dir), { update: { label: { ids: [loserId], values: Int32Array.of(loserLabel) } } });
    const labels = new Int32Array(readDataset(dir).readTensorBytes('label').slice().buffer);
    expect([labels[1], labels[2]]).toEqual([7, 8]);
  });

  it('commits onto the branch the dataset was opened at, as git onto the branch checked out; a tag or version id moves the head', async () => {
    const sink = new FolderSink(dir);
    const start = (await openDataset(dir)).version;
    await createBranch(sink, 'dev');
    await createTag(sink, 'v1');
    const onDev = await (await openDataset(dir, { ref: 'dev' })).commit(sink, { update: { label: { ids: [1], values: Int32Array.of(7) } } });
    expect([(await openDataset(dir, { ref: 'dev' })).version, (await openDataset(dir)).version]).toEqual([onDev.versionId, start]);
    const atTag = await (await openDataset(dir, { ref: 'v1' })).commit(sink, { update: { label: { ids: [2], values: Int32Array.of(8) } } });
    expect((await openDataset(dir)).version).toBe(atTag.versionId);
  });
});
