/**
 * Issue 21's query must-hold, side by side in one run on full Fashion-MNIST served by nginx (no
 * cache, so every epoch fetches): samples/s through the loader of (a) a query's view
 * (`label == 'Sandal'`: 7,000 samples spread over every chunk), (b) the same samples materialized
 * (a version of their own, packed in order) and (c) the whole dataset. Targets: (a) >= 0.8x (b),
 * and (b) >= (c). Median of 3 alternating rounds.
 *
 *   npx tsx bench/query.ts [--rounds 3] [--batch 256]
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deadline, fashionMnist, startNginxBounded } from './link.js';
import { benchArgs, median, report } from './report.js';
import { Loader, materialize, query, type View } from '../src/index.js';
import { FolderSink, openDataset } from '../src/node.js';

const { values } = benchArgs(import.meta.url, { options: { rounds: { type: 'string', default: '3' }, batch: { type: 'string', default: '256' } } });
deadline(1200, 'bench/query');
const data = await fashionMnist({ chunkKiB: 256, compression: 'deflate', data: 'full' });
const dir = mkdtempSync(join(tmpdir(), 'edgelake-bench-query-'));
cpSync(data.root, dir, { recursive: true }); // materialize writes a branch: not into the shared bench dataset
const text = "select * where label == 'Sandal'";
const local = await openDataset(dir);
const answer = await query(local, text);
await materialize(local, answer.ids, new FolderSink(dir), { ref: 'sandals', created: '2017-08-25T00:00:00Z' });
const nginx = await startNginxBounded(dir, 1200);

async function epoch(view: View): Promise<number> {
  const started = performance.now();
  let n = 0;
  for await (const b of new Loader(view, { batchSize: Number(values.batch), tensors: ['image', 'label'], transform: { image: { scale: 1 / 255 } } })) n += b.ids.length;
  return n / ((performance.now() - started) / 1000);
}

const rates = { view: [] as number[], materialized: [] as number[], full: [] as number[] };
try {
  for (let round = 0; round < Number(values.rounds); round++) {
    const ds = await openDataset(nginx.url);
    const ids = (await query(ds, text)).ids;
    rates.view.push(await epoch(ds.view({ indices: ids })));
    rates.materialized.push(await epoch((await openDataset(nginx.url, { ref: 'sandals' })).view()));
    rates.full.push(await epoch((await openDataset(nginx.url)).view()));
  }
} finally {
  await nginx.stop();
  rmSync(dir, { recursive: true, force: true });
}
const [view, materialized, full] = [median(rates.view), median(rates.materialized), median(rates.full)];
report('query', `Query views through the loader: ${text} (${answer.ids.length} samples), full Fashion-MNIST over nginx, no cache`, [
  { measure: 'query view', value: view, unit: 'samples/s' },
  { measure: 'materialized', value: materialized, unit: 'samples/s' },
  { measure: 'whole dataset', value: full, unit: 'samples/s' },
  { measure: 'view / materialized (target >= 0.8)', value: view / materialized, unit: '' },
  { measure: 'materialized / whole dataset (target >= 1)', value: materialized / full, unit: '' },
], [
  data.description,
  `rounds (samples/s): view ${rates.view.map((r) => r.toFixed(0)).join(', ')}; materialized ${rates.materialized.map((r) => r.toFixed(0)).join(', ')}; whole ${rates.full.map((r) => r.toFixed(0)).join(', ')}`,
  'the view reads every image chunk for its 10% of samples (a chunk is the unit of a fetch); materialized, they fill their own chunks',
]);
