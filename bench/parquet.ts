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
import { measureInPlace } from './in-place.js';
import { deadline, FMNIST_FULL } from './link.js';
import { benchArgs, report } from './report.js';
import { startNginx } from '../test/support/nginx.js';
import { writeHuggingFaceParquet } from '../test/support/parquet-files.js';

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
  const run = await measureInPlace(nginx, dir, pattern, 'train.edgelake-index.json.gz', labels, { image: 'image', label: 'label' });
  report('parquet', `Parquet in place: Fashion-MNIST training set, ${files} Hugging Face-style files by hyparquet-writer, nginx`, [
    { measure: 'Parquet bytes', value: shardBytes / 1e6, unit: 'MB' },
    { measure: 'class names from the metadata', value: run.classNames, unit: '' },
    ...run.rows(shardBytes),
  ], [
    `files written by hyparquet-writer in ${written.toFixed(1)} s (row groups of 100, ${values['page-kib']} KiB pages); edgelake index over HTTP in ${run.indexSeconds.toFixed(1)} s; epoch ${run.epochSeconds.toFixed(1)} s`,
    'bytes are what nginx logged as sent ($body_bytes_sent); a random sample costs one range read, of the page holding its row',
  ]);
} finally {
  await nginx.stop();
  rmSync(dir, { recursive: true, force: true });
}
