// Version history as a user operates it: diff, log, branches, tags and head.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildSubsetArgs, cli } from '../../support/cli.js';
import { mulberry32 } from '../../support/random.js';
import { readDataset } from '../../spec-reader/reader.js';
import { checkout, commitDataset, createBranch, createTag, diffVersions, isEdgelakeError, versionLog, type Source } from '../../../src/index.js';
import { FileSource, FolderSink, openDataset } from '../../../src/node.js';

const root = mkdtempSync(join(tmpdir(), 'edgelake-history-'));
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

/** A folder source that remembers every path read. */
function recording(): { source: Source; paths: string[] } {
  const inner = new FileSource(dir);
  const paths: string[] = [];
  return {
    paths,
    source: {
      location: inner.location,
      read: (path, options) => (paths.push(path), inner.read(path, options)),
      readRange: (path, offset, length, options) => (paths.push(path), inner.readRange(path, offset, length, options)),
    },
  };
}
const int32s = (b: Uint8Array) => new Int32Array(b.slice().buffer);
const ascending = (ids: Iterable<number>) => [...ids].sort((a, b) => a - b);

describe('diffVersions', () => {
  it('reports exactly the relabelled ids, the rewritten images and the appended samples, reading no chunk of an unchanged tensor', async () => {
    const parent = await openDataset(dir);
    const random = mulberry32(7);
    const relabelled = new Set<number>();
    while (relabelled.size < 100) relabelled.add(Math.floor(random() * 6000));
    const labels = int32s(readDataset(dir).readTensorBytes('label'));
    const images = readDataset(dir).readTensorBytes('image');
    // Five images rewritten with new pixels, five with the pixels they had: only the first five changed.
    const [changedImages, sameImages] = [[5, 900, 901, 3000, 5999], [6, 1500, 2500, 4500, 5000]];
    const imageValues = new Uint8Array(10 * 784);
    changedImages.forEach((_, k) => imageValues.fill(k + 1, k * 784, (k + 1) * 784));
    sameImages.forEach((id, k) => imageValues.set(images.subarray(id * 784, (id + 1) * 784), (k + 5) * 784));
    const sink = new FolderSink(dir);
    const relabel = await commitDataset(parent, sink, {
      update: {
        label: { ids: [...relabelled], values: Int32Array.from(relabelled, (id) => (labels[id] + 3) % 10) },
        image: { ids: [...changedImages, ...sameImages], values: imageValues },
      },
    });
    const child = await openDataset(dir);
    await commitDataset(child, sink, { append: { length: 20, tensors: { image: new Uint8Array(20 * 784), label: new Int32Array(20), embedding: new Int8Array(20 * 8) } } });

    const { source, paths } = recording();
    const diff = await diffVersions(source, parent.version, relabel.versionId);
    expect(diff).toEqual({
      from: parent.version, to: relabel.versionId, added: 0, removed: 0,
      changed: { image: ascending(changedImages), label: ascending(relabelled), embedding: [] },
      tensorsAdded: [], tensorsRemoved: [],
    });
    const embeddingChunks = parent.tensor('embedding').chunks.map((c) => c.hash);
    const read = paths.filter((p) => p.startsWith('chunks/')).map((p) => p.split('/')[2]);
    expect(read.filter((h) => embeddingChunks.includes(h))).toEqual([]);
    // Both sides of each chunk pair whose hash differs, and nothing else.
    const differing = (['image', 'label'] as const).flatMap((t) => child.tensor(t).chunks.flatMap((c, i) => (c.hash === parent.tensor(t).chunks[i].hash ? [] : [c.hash, parent.tensor(t).chunks[i].hash])));
    expect(read.sort()).toEqual(differing.sort());

    const appended = await diffVersions(new FileSource(dir), 'main', relabel.versionId);
    expect([appended.added, appended.removed, appended.changed]).toEqual([0, 20, { image: [], label: [], embedding: [] }]);
    expect((await diffVersions(new FileSource(dir), parent.version, 'main')).added).toBe(20);
  });
});

describe('log, branches, tags and head', () => {
  it('names versions, moves head, and lists the history with the names that point at each version', async () => {
    const sink = new FolderSink(dir);
    const first = (await openDataset(dir)).version;
    expect(await createTag(sink, 'v1.0')).toBe(first);
    const second = (await commitDataset(await openDataset(dir), sink, { update: { label: { ids: [0], values: Int32Array.of(1) } }, message: 'fix sample 0', created: '2026-12-06T00:00:00Z' })).versionId;
    expect(await createBranch(sink, 'original', 'v1.0')).toBe(first);

    const log = await versionLog(new FileSource(dir));
    expect(log).toEqual([
      { version: second, parent: first, created: '2026-12-06T00:00:00Z', message: 'fix sample 0', length: 6000, refs: ['main'], tags: [], head: true },
      { version: first, parent: null, created: '2017-08-25T00:00:00Z', message: 'import fashion-mnist-subset from IDX', length: 6000, refs: ['original'], tags: ['v1.0'], head: false },
    ]);
    expect(await checkout(sink, 'original')).toBe(first);
    expect((await openDataset(dir)).version).toBe(first); // readers open head
    expect((await openDataset(dir, { ref: 'v1.0' })).version).toBe(first);
    expect(readDataset(dir, 'v1.0').versionId).toBe(first); // the independent reader resolves tags too
    readDataset(dir).verifyAll();

    const refused = async (work: Promise<unknown>, code: string, message: RegExp) => {
      const e = await work.catch((err: unknown) => err);
      expect(isEdgelakeError(e), String(e)).toBe(true);
      expect([(e as { code: string }).code, (e as Error).message]).toEqual([code, expect.stringMatching(message)]);
    };
    await refused(createBranch(sink, 'main'), 'invalid-input', /main is already a ref/);
    await refused(createBranch(sink, 'v1.0'), 'invalid-input', /v1.0 is already a tag/);
    await refused(createTag(sink, 'v2', 'nope'), 'invalid-input', /no ref "nope"/);
    await refused(createTag(sink, 'v2', 'f'.repeat(64)), 'invalid-input', /no version f{64}/);
    await refused(checkout(sink, 'v1.0'), 'invalid-input', /v1.0 is a tag, not a ref/);
    await refused(commitDataset(await openDataset(dir), sink, { ref: 'nope', update: { label: { ids: [0], values: Int32Array.of(2) } } }), 'invalid-input', /has no ref "nope" to move/);
    await refused(commitDataset(await openDataset(dir), sink, { ref: 'v1.0', update: { label: { ids: [0], values: Int32Array.of(2) } } }), 'invalid-input', /v1.0 is a tag, and tags never move/);
  });

  it('takes a version by its first digits, as inspect and query print it, when they name one version reachable from a ref or tag', async () => {
    const sink = new FolderSink(dir);
    const first = (await openDataset(dir)).version;
    const second = (await commitDataset(await openDataset(dir), sink, { update: { label: { ids: [0], values: Int32Array.of(1) } } })).versionId;
    expect((await openDataset(dir, { ref: first.slice(0, 12) })).version).toBe(first); // an ancestor of main, named by nothing
    expect((await diffVersions(new FileSource(dir), first.slice(0, 7), second.slice(0, 12))).changed.label).toEqual([0]);
    expect(await createBranch(sink, 'original', first.slice(0, 12))).toBe(first);
    expect(await createTag(sink, 'fixed', second.slice(0, 4))).toBe(second);
    const other = [...'0123456789abcdef'].find((d) => !first.startsWith(d) && !second.startsWith(d))!;
    const e = await openDataset(dir, { ref: other.repeat(12) }).catch((err: unknown) => err);
    expect(isEdgelakeError(e, 'not-found') && (e as Error).message).toMatch(new RegExp(`no version reachable from its refs and tags starts with ${other.repeat(12)}`));
    const { code, stderr } = await cli('diff', dir, other.repeat(8), 'main');
    expect([code, stderr]).toEqual([2, expect.stringMatching(/starts with/)]);
  });

  it('moves edgelake.json only by compare-and-swap: a writer who changed it meanwhile makes the change fail with a conflict', async () => {
    const folder = new FolderSink(dir);
    // Another writer tags the head between this writer's read and its swap.
    const racing = { read: folder.read.bind(folder), write: folder.write.bind(folder), swap: async (path: string, expected: Uint8Array | undefined, next: Uint8Array) => {
      await createTag(folder, 'theirs');
      return folder.swap(path, expected, next);
    } };
    const e = await createBranch(racing, 'mine').catch((err: unknown) => err);
    expect(isEdgelakeError(e, 'conflict')).toBe(true);
    expect((e as Error).message).toMatch(/edgelake.json changed since it was read/);
    const refs = (await versionLog(new FileSource(dir)))[0];
    expect([refs.refs, refs.tags]).toEqual([['main'], ['theirs']]);
  });
});
