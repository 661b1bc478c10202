// learner.commit(): the labels people gave, written back as a new version that shares every unchanged chunk.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { beforeEach, afterAll, describe, expect, it } from 'vitest';
import { buildSubsetArgs, cli } from '../../../support/cli.js';
import { readDataset } from '../../../spec-reader/reader.js';
import { ActiveLearner, commitDataset, isEdgelakeError, MemoryLabelStore, mlp } from '../../../../src/index.js';
import { FolderSink, openDataset } from '../../../../src/node.js';

const root = mkdtempSync(join(tmpdir(), 'edgelake-commit-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dir: string;
let n = 0;
beforeEach(async () => {
  dir = join(root, `ds-${n++}`);
  expect((await cli(...buildSubsetArgs(dir, '--chunk-kib', '64', '--embedding-dims', '8'))).code).toBe(0);
});

/** A learner on the folder's current version whose labels come from teach alone. */
async function learnerOn(target: string) {
  const dataset = await openDataset(dir);
  const learner = mlp({ layers: [784, 8, 10], seed: 1 });
  const al = new ActiveLearner({ dataset, strategy: 'random', roundSize: 10, maxLabels: 100, learner, epochs: 1, seed: 1, target, labels: new MemoryLabelStore() });
  return { al, dataset, learner };
}
const chunkFiles = () => readdirSync(join(dir, 'chunks'), { recursive: true }).filter((f) => String(f).length > 3).length;

describe('ActiveLearner.commit', () => {
  it('over the dataset\'s own labels: the taught ones replace them, the mask marks them, every other chunk is the parent\'s', async () => {
    const { al, dataset, learner } = await learnerOn('label');
    const parentLabels = readDataset(dir).readTensorBytes('label');
    const ids = [3, 4, 1200]; // two in the first label chunk, one further on
    const answers = ids.map((id) => (new Int32Array(parentLabels.buffer, parentLabels.byteOffset)[id] + 1) % 10); // people disagree
    await al.teach(ids, answers);
    const chunksBefore = chunkFiles();
    const committed = await al.commit({ sink: new FolderSink(dir), message: 'three relabelled', created: '2026-12-06T00:00:00Z' });
    learner.dispose();

    const child = await openDataset(dir);
    expect(child.version).toBe(committed.versionId);
    expect(child.manifest.parent).toBe(dataset.version);
    expect(child.manifest.message).toBe('three relabelled');
    const view = child.view();
    for (const [i, id] of ids.entries()) {
      expect((await view.get(id, ['label'])).label[0]).toBe(answers[i]);
      expect((await view.get(id, ['label_mask'])).label_mask[0]).toBe(1);
    }
    expect((await view.get(5, ['label', 'label_mask']))).toEqual({ label: Int32Array.of(new Int32Array(parentLabels.buffer, parentLabels.byteOffset)[5]), label_mask: Uint8Array.of(0) });
    // Shared: every tensor but the two, and the label chunks without a taught sample.
    for (const name of ['image', 'embedding']) expect(child.manifest.tensors[name]).toEqual(dataset.manifest.tensors[name]);
    const [before, after] = [dataset.manifest.tensors.label.chunks, child.manifest.tensors.label.chunks];
    expect(after.map((c) => c.samples)).toEqual(before.map((c) => c.samples));
    const changed = after.filter((c, i) => c.hash !== before[i].hash).length;
    const taughtChunks = new Set(ids.map((id) => before.findIndex((_, i) => before.slice(0, i + 1).reduce((a, c) => a + c.samples, 0) > id))).size;
    expect(changed).toBe(taughtChunks);
    expect(chunkFiles() - chunksBefore).toBe(changed + new Set(child.manifest.tensors.label_mask.chunks.map((c) => c.hash)).size);
    // An independent reader of docs/FORMAT.md reads the new version whole.
    const spec = readDataset(dir);
    spec.verifyAll();
    expect(spec.versionId).toBe(committed.versionId);
  });

  it('a label tensor the dataset lacks: -1 where nobody labelled', async () => {
    const { al, learner } = await learnerOn('person');
    await al.teach([7, 8], [2, 5]);
    await al.commit({ sink: new FolderSink(dir) });
    learner.dispose();
    const view = (await openDataset(dir)).view();
    expect((await view.get(7, ['person', 'person_mask']))).toEqual({ person: Int32Array.of(2), person_mask: Uint8Array.of(1) });
    expect((await view.get(9, ['person', 'person_mask']))).toEqual({ person: Int32Array.of(-1), person_mask: Uint8Array.of(0) });
  });

  it('two writers on one version: exactly one wins, the other gets a conflict and loses nothing; committing onto the new version then keeps both', async () => {
    const [a, b] = [await learnerOn('person'), await learnerOn('person')];
    await a.al.teach([1, 2], [1, 2]);
    await b.al.teach([3], [3]);
    const results = await Promise.allSettled([a.al.commit({ sink: new FolderSink(dir) }), b.al.commit({ sink: new FolderSink(dir) })]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(isEdgelakeError(lost[0].reason, 'conflict')).toBe(true);
    expect(String(lost[0].reason.message)).toMatch(/^ref main moved on since version [0-9a-f]{64} was read \(it is now [0-9a-f]{64}\); open the dataset again and commit onto that$/);
    const winner = (await openDataset(dir)).version;
    expect(winner).toBe((won[0] as PromiseFulfilledResult<{ versionId: string }>).value.versionId);
    // The loser's labels are still its own; on the winner's version its commit goes through, with both writers' labels marked.
    const loser = results[0].status === 'rejected' ? a : b;
    const again = new ActiveLearner({ dataset: await openDataset(dir), strategy: 'random', roundSize: 10, maxLabels: 100, learner: loser.learner, target: 'person', pool: loser.al.pool });
    await again.commit({ sink: new FolderSink(dir) });
    const view = (await openDataset(dir)).view();
    for (const [id, label] of [[1, 1], [2, 2], [3, 3]]) expect(await view.get(id, ['person', 'person_mask'])).toEqual({ person: Int32Array.of(label), person_mask: Uint8Array.of(1) });
    a.learner.dispose();
    b.learner.dispose();
  });

  it('commit, teach, commit from one learner: the second goes onto the first, keeping both; nothing to commit is refused', async () => {
    const { al, dataset, learner } = await learnerOn('person');
    await expect(al.commit({ sink: new FolderSink(dir) })).rejects.toThrow(`commit: no labels to commit to dataset ${dataset.name}`);
    await al.teach([1, 2], [1, 2]);
    const first = await al.commit({ sink: new FolderSink(dir) });
    await al.teach([3], [3]);
    const second = await al.commit({ sink: new FolderSink(dir) });
    learner.dispose();
    const child = await openDataset(dir);
    expect([child.version, child.manifest.parent, first.manifest.parent]).toEqual([second.versionId, first.versionId, dataset.version]);
    const view = child.view();
    for (const [id, label] of [[1, 1], [2, 2], [3, 3]]) expect(await view.get(id, ['person', 'person_mask'])).toEqual({ person: Int32Array.of(label), person_mask: Uint8Array.of(1) });
    readDataset(dir).verifyAll();
  });

  it('a commit onto another writer\'s version keeps every label that version holds, and the other tensors it has', async () => {
    const [a, b] = [await learnerOn('person'), await learnerOn('person')];
    await a.al.teach([5], [1]);
    await b.al.teach([6], [7]);
    await a.al.commit({ sink: new FolderSink(dir) });
    await expect(b.al.commit({ sink: new FolderSink(dir) })).rejects.toMatchObject({ code: 'conflict' });
    // Another writer changes a tensor other than the labels too.
    const relabel = ((await (await openDataset(dir)).view().get(42, ['label'])).label[0] + 1) % 10;
    const head = (await commitDataset(await openDataset(dir), new FolderSink(dir), { update: { label: { ids: [42], values: Int32Array.of(relabel) } } })).versionId;
    const committed = await b.al.commit({ sink: new FolderSink(dir), onto: head });
    expect(committed.manifest.parent).toBe(head);
    const view = (await openDataset(dir)).view();
    expect(await view.get(5, ['person', 'person_mask'])).toEqual({ person: Int32Array.of(1), person_mask: Uint8Array.of(1) });
    expect(await view.get(6, ['person', 'person_mask'])).toEqual({ person: Int32Array.of(7), person_mask: Uint8Array.of(1) });
    expect((await view.get(42, ['label'])).label).toEqual(Int32Array.of(relabel));
    readDataset(dir).verifyAll();
    a.learner.dispose();
    b.learner.dispose();
  });

  it('two annotators who disagree: a commit onto a version labelling a sample otherwise is a conflict naming both labels; the same label again is fine; overwrite takes ours', async () => {
    const { commitLabels } = await import('../../../../src/runtime/learn/labels/commit.js');
    const read = async (id: number) => (await openDataset(dir)).view().get(id, ['person', 'person_mask']);
    await commitLabels(await openDataset(dir), new Map([[5, 1], [6, 2], ...Array.from({ length: 8 }, (_, i) => [100 + i, 3] as [number, number])]), { sink: new FolderSink(dir), tensor: 'person' });
    const [a, b] = [await learnerOn('person'), await learnerOn('person')]; // both read the first commit
    await a.al.teach([5, 9], [1, 4]); // agrees with it on sample 5
    await b.al.teach([5, 6, 10], [7, 2, 8]); // disagrees on sample 5
    const agreed = await a.al.commit({ sink: new FolderSink(dir) });
    const err = await b.al.commit({ sink: new FolderSink(dir), onto: agreed.versionId }).catch((e: unknown) => e);
    expect(isEdgelakeError(err, 'conflict')).toBe(true);
    expect((err as Error).message).toBe(`commit: 1 sample is labelled otherwise in version ${agreed.versionId} (sample 5: 1 there, 7 here); commit with overwrite: true to write these labels over those`);
    expect((await openDataset(dir)).version).toBe(agreed.versionId);
    expect(await read(5)).toEqual({ person: Int32Array.of(1), person_mask: Uint8Array.of(1) });
    const ours = await b.al.commit({ sink: new FolderSink(dir), onto: agreed.versionId, overwrite: true });
    expect(ours.manifest.parent).toBe(agreed.versionId);
    for (const [id, label] of [[5, 7], [6, 2], [9, 4], [10, 8], [100, 3]]) expect(await read(id)).toEqual({ person: Int32Array.of(label), person_mask: Uint8Array.of(1) });
    // Many disagreements: a few named, the rest counted.
    const many = commitLabels(await openDataset(dir), new Map(Array.from({ length: 8 }, (_, i) => [100 + i, 4] as [number, number])), { sink: new FolderSink(dir), tensor: 'person' });
    await expect(many).rejects.toThrow(`commit: 8 samples are labelled otherwise in version ${ours.versionId} (sample 100: 3 there, 4 here; sample 101: 3 there, 4 here; sample 102: 3 there, 4 here; sample 103: 3 there, 4 here; sample 104: 3 there, 4 here; and 3 more); commit with overwrite: true to write these labels over those`);
    a.learner.dispose();
    b.learner.dispose();
  });

  it('a correction goes over this learner\'s own earlier commit of the sample, but is a conflict over another annotator\'s different label', async () => {
    const read = async (id: number) => (await openDataset(dir)).view().get(id, ['person', 'person_mask']);
    const [a, b] = [await learnerOn('person'), await learnerOn('person')];
    await a.al.teach([5, 6], [1, 2]);
    await a.al.commit({ sink: new FolderSink(dir) });
    await a.al.correct([5], [4]);
    const fixed = await a.al.commit({ sink: new FolderSink(dir) });
    expect(await read(5)).toEqual({ person: Int32Array.of(4), person_mask: Uint8Array.of(1) });
    // b labelled sample 6 as 3 (a gave it 2), then corrects it to 9: a's 2 was never b's, so that is a disagreement.
    await b.al.teach([6], [3]);
    await b.al.correct([6], [9]);
    await expect(b.al.commit({ sink: new FolderSink(dir), onto: fixed.versionId })).rejects.toMatchObject({ code: 'conflict', message: expect.stringContaining('(sample 6: 2 there, 9 here)') });
    a.learner.dispose();
    b.learner.dispose();
  });

  it('a label the tensor\'s class names lack is refused before anything is written: it would make its whole chunk unreadable', async () => {
    const { dataset } = await learnerOn('label');
    const { commitLabels } = await import('../../../../src/runtime/learn/labels/commit.js');
    const chunksBefore = chunkFiles();
    await expect(commitLabels(dataset, new Map([[3, 10]]), { sink: new FolderSink(dir) })).rejects.toThrow("commit: sample 3's label 10 is not one of tensor label's 10 classes (0 to 9)");
    expect(chunkFiles()).toBe(chunksBefore);
    expect((await openDataset(dir)).version).toBe(dataset.version);
  });

  it('edgelake learn --commit: the labels bought become a version', async () => {
    const before = await openDataset(dir);
    const parent = before.version;
    const r = await cli('learn', dir, '--strategy', 'random', '--labels', '20', '--round', '10', '--epochs', '1', '--device', 'cpu', '--commit', '--json');
    expect(r.code, r.stderr).toBe(0);
    const { committed } = JSON.parse(r.stdout) as { committed: string };
    const child = await openDataset(dir);
    expect([child.version, child.manifest.parent]).toEqual([committed, parent]);
    const mask = readDataset(dir).readTensorBytes('label_mask');
    expect(mask.reduce((a, b) => a + b, 0)).toBe(20);
    expect(child.manifest.tensors.label).toEqual(before.manifest.tensors.label); // the dataset's own labels: every chunk shared
  });

  it('two writer processes racing, 5 times over: each time exactly one commit lands, the other is told of the conflict', async () => {
    const script = fileURLToPath(new URL('./commit.child.ts', import.meta.url));
    const writer = (id: number, label: number) => {
      const proc = spawn(process.execPath, ['--import', 'tsx', script, dir, String(id), String(label)], { stdio: ['pipe', 'pipe', 'inherit'] });
      const lines: string[] = [];
      const ready = new Promise<void>((resolve) => createInterface({ input: proc.stdout }).on('line', (l) => (lines.push(l), l === 'ready' && resolve())));
      const exited = new Promise<number | null>((resolve) => proc.on('close', resolve));
      return { proc, lines, ready, exited };
    };
    for (let race = 0; race < 5; race++) {
      const before = (await openDataset(dir)).version;
      const pair = [writer(2 * race, 1), writer(2 * race + 1, 2)];
      await Promise.all(pair.map((w) => w.ready));
      pair.forEach((w) => w.proc.stdin!.write('go\n'));
      expect(await Promise.all(pair.map((w) => w.exited))).toEqual([0, 0]);
      const outcomes = pair.map((w) => w.lines.at(-1)!);
      expect(outcomes.filter((o) => o.startsWith('won ')), outcomes.join(' / ')).toHaveLength(1);
      expect(outcomes.find((o) => o.startsWith('conflict '))).toContain(`ref main moved on since version ${before} was read`);
      const now = await openDataset(dir);
      expect(`won ${now.version}`).toBe(outcomes.find((o) => o.startsWith('won ')));
      expect(now.manifest.parent).toBe(before);
    }
  }, 120_000);
});
