/**
 * Issue 21's query must-hold, side by side in one run, each dataset served by nginx (no cache, so
 * every epoch fetches): samples/s through the loader of (a) a query's view, (b) the same samples
 * materialized (a version of their own, packed in order) and (c) the whole dataset. Targets: (a)
 * >= 0.8x (b), and (b) >= (c). Median of alternating rounds; (a) and (b) also for a second epoch
 * of the same opened dataset (chunk headers known, nothing cached). Three datasets:
 *   - full Fashion-MNIST in deflate chunks, `label == 'Sandal'`: 7,000 samples spread over every
 *     chunk; a compressed chunk is read and inflated whole, whatever the view takes of it;
 *   - the same in uncompressed chunks: the view reads only its samples, one request a chunk with
 *     ~33 ranges of 784 bytes (209 requests against the materialized version's 21);
 *   - the photo set (scripts/photo-dataset.ts: JPEGs in uncompressed ~1 MB chunks), the 10%
 *     brightest thumbnails, fitted to 64x64: the view reads and decodes only its samples (a
 *     chunk's in one request for several ranges, its header from the image tensor's header index).
 * A chunk-compressed view is bounded by inflating: one thread inflates the 209 Fashion-MNIST
 * chunks (55 MB) in 135-190 ms here, at most 0.35-0.5x the materialized samples/s before any
 * fetching; that is what `materialize` is for. Uncompressed, the same view is bounded by its
 * requests: for views over uncompressed chunks the run also measures the server's floor (bench/
 * range-floor.ts: the same requests on bare sockets, nothing parsed) and prints the best ratio
 * any client of that server could reach, materialized epoch time / floor.
 *
 *   npx tsx bench/query.ts [--rounds 3] [--batch 256] [--chunk-kib 256 (Fashion-MNIST's chunks)]
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deadline, fashionMnist, MB, photoDataset, startNginxBounded } from './link.js';
import { rangeFloorMs } from './range-floor.js';
import { benchArgs, median, report, type BenchRow } from './report.js';
import { Loader, materialize, query, type TensorTransform, type View } from '../src/index.js';
import { FolderSink, openDataset } from '../src/node.js';

const { values } = benchArgs(import.meta.url, { options: { rounds: { type: 'string', default: '3' }, batch: { type: 'string', default: '256' }, 'chunk-kib': { type: 'string', default: '256' } } });
deadline(1800, 'bench/query');

interface Case {
  name: string;
  root: string;
  text: string;
  transform: TensorTransform;
}

const chunkKiB = Number(values['chunk-kib']);
const fmnist = await fashionMnist({ chunkKiB, compression: 'deflate', data: 'full' });
const fmnistRaw = await fashionMnist({ chunkKiB, compression: 'none', data: 'full' });
const sandals = "select * where label == 'Sandal'";
const cases: Case[] = [
  { name: 'Fashion-MNIST, deflate chunks', root: fmnist.root, text: sandals, transform: { scale: 1 / 255 } },
  { name: 'Fashion-MNIST, uncompressed chunks', root: fmnistRaw.root, text: sandals, transform: { scale: 1 / 255 } },
  { name: 'photos', root: await photoDataset(), text: 'select * order by mean(thumbnail) desc limit 210', transform: { fit: { size: [64, 64], crop: 'center' }, scale: 1 / 255 } },
];

async function epoch(view: View, transform: TensorTransform): Promise<{ rate: number; bytes: number }> {
  const started = performance.now();
  const before = view.dataset.network.bytes;
  let n = 0;
  for await (const b of new Loader(view, { batchSize: Number(values.batch), tensors: ['image', 'label'], transform: { image: transform } })) n += b.ids.length;
  return { rate: n / ((performance.now() - started) / 1000), bytes: view.dataset.network.bytes - before };
}

const rows: BenchRow[] = [];
const notes: string[] = [fmnist.description, fmnistRaw.description];
for (const c of cases) {
  const dir = mkdtempSync(join(tmpdir(), 'edgelake-bench-query-'));
  cpSync(c.root, dir, { recursive: true }); // materialize writes a branch: not into the shared bench dataset
  const local = await openDataset(dir);
  const answer = await query(local, c.text);
  await materialize(local, answer.ids, new FolderSink(dir), { ref: 'selected', created: '2017-08-25T00:00:00Z' });
  const nginx = await startNginxBounded(dir, 1800);
  let floor: { ms: number; requests: number } | undefined;
  const runs = { view: [] as number[], materialized: [] as number[], full: [] as number[], viewAgain: [] as number[], materializedAgain: [] as number[] };
  const bytes = { view: 0, materialized: 0, full: 0, viewAgain: 0, materializedAgain: 0 };
  try {
    for (let round = 0; round < Number(values.rounds); round++) {
      const ds = await openDataset(nginx.url);
      const view = ds.view({ indices: (await query(ds, c.text)).ids });
      const materialized = (await openDataset(nginx.url, { ref: 'selected' })).view();
      // A second epoch of the same dataset (still no cache) knows the chunk headers: what training on a view for more epochs streams.
      const blocks: [keyof typeof runs, View][][] = [
        [['view', view], ['viewAgain', view]], [['materialized', materialized], ['materializedAgain', materialized]], [['full', (await openDataset(nginx.url)).view()]],
      ];
      // Each round starts with another block: an epoch pays for the garbage of the one before it (the whole dataset's is 126 MB).
      const arms = [...blocks.slice(round % 3), ...blocks.slice(0, round % 3)].flat();
      for (const [arm, v] of arms) {
        const { rate, bytes: fetched } = await epoch(v, c.transform);
        runs[arm].push(rate);
        bytes[arm] = fetched;
      }
    }
    if (local.tensor('image').chunkCompression === 'none') floor = await rangeFloorMs(nginx.url, await openDataset(nginx.url), 'image', answer.ids);
  } finally {
    await nginx.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const [view, materialized, full] = [median(runs.view), median(runs.materialized), median(runs.full)];
  rows.push(
    { measure: `${c.name}: query view`, value: view, unit: `samples/s (${(bytes.view / MB).toFixed(1)} MB fetched)` },
    { measure: `${c.name}: materialized`, value: materialized, unit: `samples/s (${(bytes.materialized / MB).toFixed(1)} MB fetched)` },
    { measure: `${c.name}: whole dataset`, value: full, unit: `samples/s (${(bytes.full / MB).toFixed(1)} MB fetched)` },
    { measure: `${c.name}: view / materialized (target >= 0.8)`, value: view / materialized, unit: '' },
    { measure: `${c.name}: materialized / whole dataset (target >= 1)`, value: materialized / full, unit: '' },
    { measure: `${c.name}: second epoch, view / materialized`, value: median(runs.viewAgain) / median(runs.materializedAgain), unit: `(${median(runs.viewAgain).toFixed(0)} / ${median(runs.materializedAgain).toFixed(0)} samples/s; view ${(bytes.viewAgain / MB).toFixed(1)} MB fetched)` },
  );
  if (floor) {
    const materializedMs = (answer.ids.length / materialized) * 1000;
    rows.push(
      { measure: `${c.name}: nginx's floor for the view's image ranges`, value: floor.ms, unit: `ms (${floor.requests} requests on 8 bare sockets, best of 7; the materialized epoch: ${materializedMs.toFixed(0)} ms)` },
      { measure: `${c.name}: best view / materialized any client could reach`, value: materializedMs / floor.ms, unit: '(materialized epoch / floor)' },
    );
  }
  notes.push(`${c.name}: \`${c.text}\` (${answer.ids.length} of ${local.length} samples); rounds (samples/s): view ${runs.view.map((r) => r.toFixed(0)).join(', ')}; materialized ${runs.materialized.map((r) => r.toFixed(0)).join(', ')}; whole ${runs.full.map((r) => r.toFixed(0)).join(', ')}`);
}
notes.push('fetched: bytes of the epoch (image and label chunks, or their ranges) that reached nginx, last round; loader on this thread, no workers');
report('query', 'Query views through the loader: a view, its samples materialized, and the whole dataset, over nginx, no cache', rows, notes);
