/**
 * Issue 19's Parquet must-holds on full Fashion-MNIST, in one run: the training set as a Hugging
 * Face-style export (image {bytes, path} structs of PNGs, int64 labels, ClassLabel names in the
 * huggingface metadata; row groups of 100 rows as datasets writes image data; 1 KiB pages) written
 * by hyparquet-writer, not the library that reads it, served by nginx. (1) `edgelake index` once;
 * (2) one epoch through the loader yields every sample once with the right label; (3) reading 1%
 * of the samples at random (View.get) fetches under 3% of the files' bytes, the index included.
 *
 *   npx tsx bench/parquet.ts [--files 4] [--page-kib 1]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { deadline, FMNIST_FULL } from './link.js';
import { benchArgs, report } from './report.js';
import { startNginx } from '../test/support/nginx.js';
import { writeHuggingFaceParquet } from '../test/support/parquet-files.js';
import { Loader } from '../src/index.js';
import { openDataset, runCli } from '../src/node.js';

const { values } = benchArgs(import.meta.url, { options: { files: { type: 'string', default: '4' }, 'page-kib': { type: 'string', default: '1' } } });
const files = Number(values.files);
deadline(1200, 'bench/parquet');
const dir = mkdtempSync(join(tmpdir(), 'edgelake-bench-parquet-'));
const labels = gunzipSync(readFileSync(join(FMNIST_FULL, 'train-labels-idx1-ubyte.gz'))).subarray(8);
const pixels = gunzipSync(readFileSync(join(FMNIST_FULL, 'train-images-idx3-ubyte.gz'))).subarray(16);
const seconds = (since: number) => (performance.now() - since) / 1000;

let t = performance.now();
const pattern = writeHuggingFaceParquet(dir, pixels, labels, { files, rowGroupSize: 100, pageSize: Number(values['page-kib']) * 1024 });
const written = seconds(t);
const shardBytes = readdirSync(dir).filter((f) => f.endsWith('.parquet')).reduce((a, n) => a + statSync(join(dir, n)).size, 0);
const nginx = await startNginx(dir, { maxSeconds: 1200 });
try {
  t = performance.now();
  if ((await runCli(['index', `${nginx.url}/${pattern}`, '--out', join(dir, 'train.edgelake-index.json.gz')])) !== 0) throw new Error('edgelake index failed');
  const indexed = seconds(t);
  const indexBytes = statSync(join(dir, 'train.edgelake-index.json.gz')).size;

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
  for await (const b of new Loader(ds.view(), { batchSize: 512, shuffle: { seed: 1, windowChunks: 8 }, tensors: ['image', 'label'] })) {
    const cls = b.tensors.label as Int32Array;
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
  for (const id of picked) if ((await view.get(id, ['image', 'label'])).label[0] !== labels[id]) wrongRandom++;
  const randomSent = await sentSince(from);

  report('parquet', `Parquet in place: Fashion-MNIST training set, ${files} Hugging Face-style files by hyparquet-writer, nginx`, [
    { measure: 'samples', value: ds.length, unit: '' },
    { measure: 'Parquet bytes', value: shardBytes / 1e6, unit: 'MB' },
    { measure: 'class names from the metadata', value: ds.tensor('label').classNames?.length ?? 0, unit: '' },
    { measure: 'index bytes / Parquet bytes', value: indexBytes / shardBytes, unit: '' },
    { measure: 'epoch: every sample exactly once (1 = yes)', value: once ? 1 : 0, unit: '' },
    { measure: 'epoch: samples with a wrong label', value: wrong, unit: '' },
    { measure: 'epoch: bytes from nginx / Parquet bytes (index included)', value: epochSent.bytes / shardBytes, unit: '' },
    { measure: 'epoch: samples/s (PNG decode on the CPU, 2 cores)', value: ds.length / epoch, unit: 'samples/s' },
    { measure: `1% random reads (${picked.size} samples): requests`, value: randomSent.requests, unit: '' },
    { measure: '1% random reads: wrong labels', value: wrongRandom, unit: '' },
    { measure: '1% random reads: bytes from nginx / Parquet bytes, index and footers included (target < 0.03)', value: randomSent.bytes / shardBytes, unit: '' },
  ], [
    `files written by hyparquet-writer in ${written.toFixed(1)} s (row groups of 100, ${values['page-kib']} KiB pages); edgelake index over HTTP in ${indexed.toFixed(1)} s; epoch ${epoch.toFixed(1)} s`,
    'bytes are what nginx logged as sent ($body_bytes_sent); a random sample costs its page and its offset index entry',
  ]);
} finally {
  await nginx.stop();
  rmSync(dir, { recursive: true, force: true });
}
