/**
 * Issue 19's WebDataset must-holds on full Fashion-MNIST, in one run: the training set written as
 * 10 tar shards of PNGs + .cls by Python's tarfile (scripts/webdataset-shards.py, not edgelake),
 * served by nginx. (1) `edgelake index` once; (2) one epoch through the loader from the shards'
 * URL pattern yields every sample once with the right label; (3) reading 1% of the samples at
 * random (View.get) fetches under 3% of the shards' bytes, the index included (nginx's log).
 *
 *   npx tsx bench/webdataset.ts [--shards 10]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { measureInPlace } from './in-place.js';
import { deadline, FMNIST_FULL } from './link.js';
import { benchArgs, report } from './report.js';
import { startNginx } from '../test/support/nginx.js';

const { values } = benchArgs(import.meta.url, { options: { shards: { type: 'string', default: '10' } } });
const shards = Number(values.shards);
deadline(1200, 'bench/webdataset');
const dir = mkdtempSync(join(tmpdir(), 'edgelake-bench-wds-'));
const [images, labelsFile] = [join(FMNIST_FULL, 'train-images-idx3-ubyte.gz'), join(FMNIST_FULL, 'train-labels-idx1-ubyte.gz')];
const labels = gunzipSync(readFileSync(labelsFile)).subarray(8);
const pattern = `fashion-mnist-{000..${String(shards - 1).padStart(3, '0')}}.tar`;
const seconds = (since: number) => (performance.now() - since) / 1000;

let t = performance.now();
execFileSync('python3', ['scripts/webdataset-shards.py', images, labelsFile, dir, 'fashion-mnist', String(shards)]);
const written = seconds(t);
const names = Array.from({ length: shards }, (_, i) => `fashion-mnist-${String(i).padStart(3, '0')}.tar`);
const shardBytes = names.reduce((a, n) => a + statSync(join(dir, n)).size, 0);
const nginx = await startNginx(dir, { maxSeconds: 1200 });
try {
  const run = await measureInPlace(nginx, dir, pattern, 'fashion-mnist.edgelake-index.json.gz', labels, { image: 'png', label: 'cls' });
  report('webdataset', 'WebDataset shards in place: Fashion-MNIST training set, 10 tar shards by Python, nginx', [
    { measure: 'shard bytes', value: shardBytes / 1e6, unit: 'MB' },
    ...run.rows(shardBytes),
  ], [
    `shards written by Python's tarfile in ${written.toFixed(1)} s; edgelake index over HTTP in ${run.indexSeconds.toFixed(1)} s; epoch ${run.epochSeconds.toFixed(1)} s`,
    'bytes are what nginx logged as sent ($body_bytes_sent), so they include every tar header and padding block a range covered',
  ]);
} finally {
  await nginx.stop();
  rmSync(dir, { recursive: true, force: true });
}
