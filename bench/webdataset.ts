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
import { deadline, FMNIST_FULL } from './link.js';
import { benchArgs, report } from './report.js';
import { startNginx } from '../test/support/nginx.js';
import { Loader } from '../src/index.js';
import { openDataset, runCli } from '../src/node.js';

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
  t = performance.now();
  if ((await runCli(['index', `${nginx.url}/${pattern}`, '--out', join(dir, 'fashion-mnist.edgelake-index.json.gz')])) !== 0) throw new Error('edgelake index failed');
  const indexed = seconds(t);
  const indexBytes = statSync(join(dir, 'fashion-mnist.edgelake-index.json.gz')).size;

  const logged = async () => (await nginx.accessLog()).split('\n').filter(Boolean);
  const sentSince = async (from: number) => {
    const lines = (await logged()).slice(from);
    return { requests: lines.length, bytes: lines.reduce((a, l) => a + Number(/" \d{3} (\d+) /.exec(l)?.[1] ?? 0), 0) };
  };

  let from = (await logged()).length;
  t = performance.now();
  const ds = await openDataset(`${nginx.url}/${pattern}`);
  const seen = new Uint8Array(ds.length);
  let wrong = 0;
  for await (const b of new Loader(ds.view(), { batchSize: 512, shuffle: { seed: 1, windowChunks: 8 }, tensors: ['png', 'cls'] })) {
    const cls = b.tensors.cls as Int32Array;
    b.ids.forEach((id, i) => {
      seen[id]++;
      if (cls[i] !== labels[id]) wrong++;
    });
  }
  const epoch = seconds(t);
  const epochSent = await sentSince(from);
  const once = seen.every((n) => n === 1);

  from = (await logged()).length;
  const random = await openDataset(`${nginx.url}/${pattern}`);
  const view = random.view();
  const picked = new Set<number>();
  for (let x = 12345; picked.size < Math.ceil(random.length / 100); ) picked.add((x = (x * 1103515245 + 12345) % 2 ** 31) % random.length);
  let wrongRandom = 0;
  for (const id of picked) if ((await view.get(id, ['png', 'cls'])).cls[0] !== labels[id]) wrongRandom++;
  const randomSent = await sentSince(from);

  report('webdataset', 'WebDataset shards in place: Fashion-MNIST training set, 10 tar shards by Python, nginx', [
    { measure: 'samples', value: ds.length, unit: '' },
    { measure: 'shard bytes', value: shardBytes / 1e6, unit: 'MB' },
    { measure: 'index bytes / shard bytes', value: indexBytes / shardBytes, unit: '' },
    { measure: 'epoch: every sample exactly once (1 = yes)', value: once ? 1 : 0, unit: '' },
    { measure: 'epoch: samples with a wrong label', value: wrong, unit: '' },
    { measure: 'epoch: bytes from nginx / shard bytes (index included)', value: epochSent.bytes / shardBytes, unit: '' },
    { measure: 'epoch: samples/s (PNG decode on the CPU, 2 cores)', value: ds.length / epoch, unit: 'samples/s' },
    { measure: `1% random reads (${picked.size} samples): requests`, value: randomSent.requests, unit: '' },
    { measure: '1% random reads: wrong labels', value: wrongRandom, unit: '' },
    { measure: '1% random reads: bytes from nginx / shard bytes, index included (target < 0.03)', value: randomSent.bytes / shardBytes, unit: '' },
  ], [
    `shards written by Python's tarfile in ${written.toFixed(1)} s; edgelake index over HTTP in ${indexed.toFixed(1)} s; epoch ${epoch.toFixed(1)} s`,
    'bytes are what nginx logged as sent ($body_bytes_sent), so they include every tar header and padding block a range covered',
  ]);
} finally {
  await nginx.stop();
  rmSync(dir, { recursive: true, force: true });
}
