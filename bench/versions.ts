/**
 * What a relabel costs as a version, once, on full Fashion-MNIST (256 KiB deflate chunks, a
 * 32-dim probe): 600 random training labels (1% of train) changed with commitDataset into a copy
 * of the dataset. Reports the bytes of the new files (chunks and manifest) against the dataset's
 * stored bytes, how many label chunks changed, and whether diffVersions finds exactly those ids.
 *
 *   node --import tsx bench/versions.ts
 */
import { cpSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fashionMnist } from './link.js';
import { report } from './report.js';
import { mulberry32 } from '../test/support/random.js';
import { commitDataset, diffVersions } from '../src/index.js';
import { FileSource, FolderSink, openDataset, useNodeCodecs } from '../src/node.js';

useNodeCodecs();
const data = await fashionMnist({ chunkKiB: 256, compression: 'deflate', embeddingDims: 32, data: 'full' });
const root = mkdtempSync(join(tmpdir(), 'edgelake-bench-versions-'));
cpSync(data.root, root, { recursive: true }); // the built dataset stays as it is for other benches
try {
  const files = () => new Map(readdirSync(root, { recursive: true }).map(String).filter((f) => statSync(join(root, f)).isFile()).map((f) => [f, statSync(join(root, f)).size]));
  const before = files();
  const parent = await openDataset(root);
  const [start, end] = parent.splits.train[0];
  const random = mulberry32(19);
  const ids = new Set<number>();
  while (ids.size < 600) ids.add(start + Math.floor(random() * (end - start)));
  const labels = (await Promise.all([...ids].map((id) => parent.view().get(id, ['label'])))).map((s) => (s.label as Int32Array)[0]);
  const t0 = performance.now();
  const committed = await commitDataset(parent, new FolderSink(root), {
    update: { label: { ids: [...ids], values: Int32Array.from(labels, (l) => (l + 1) % 10) } }, message: 'relabel 1% of train',
  });
  const commitMs = performance.now() - t0;

  const added = [...files()].filter(([f]) => !before.has(f));
  const newBytes = added.reduce((a, [, size]) => a + size, 0);
  const storedBytes = [...before].filter(([f]) => f !== 'edgelake.json').reduce((a, [, size]) => a + size, 0);
  const labelChunks = parent.tensor('label').chunks;
  const changedChunks = committed.manifest.tensors.label.chunks.filter((c, i) => c.hash !== labelChunks[i].hash).length;
  const diff = await diffVersions(new FileSource(root), parent.version, committed.versionId);
  const wanted = [...ids].sort((a, b) => a - b);
  const exact = JSON.stringify(diff.changed.label) === JSON.stringify(wanted) && Object.entries(diff.changed).every(([t, c]) => t === 'label' || c.length === 0);

  report('versions', 'A version that relabels 1% of Fashion-MNIST training labels', [
    { measure: 'new files written (chunks + manifest)', value: added.length, unit: 'files' },
    { measure: 'bytes of new files', value: newBytes, unit: 'B' },
    { measure: 'dataset stored bytes (before)', value: storedBytes, unit: 'B' },
    { measure: 'new bytes / stored bytes', value: newBytes / storedBytes, unit: 'ratio' },
    { measure: 'label chunks changed', value: changedChunks, unit: `of ${labelChunks.length}` },
    { measure: 'ids diff reports changed in label', value: diff.changed.label.length, unit: 'ids' },
    { measure: 'diff is exactly the 600 relabelled ids (1 = yes)', value: exact ? 1 : 0, unit: '' },
    { measure: 'commit time', value: commitMs, unit: 'ms' },
  ], [data.description]);
} finally {
  rmSync(root, { recursive: true, force: true });
}
