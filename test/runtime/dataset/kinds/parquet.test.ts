// Parquet read in place: a Hugging Face-style export written by hyparquet-writer, served by
// nginx, read with hyparquet: only the index and the pages asked for.
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, FASHION_CLASSES, SUBSET } from '../../../support/cli.js';
import { startNginx, type RunningNginx } from '../../../support/nginx.js';
import { writeHuggingFaceParquet } from '../../../support/parquet-files.js';
import { hasCommand, missing } from '../../../support/system.js';
import { ActiveLearner, Loader, mlp } from '../../../../src/index.js';
import { openDataset } from '../../../../src/node.js';

describe.skipIf(missing('nginx', 'apt-get install nginx', hasCommand('nginx')))('Parquet files (Hugging Face layout) read in place', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgelake-parquet-'));
  const idx = (file: string) => gunzipSync(readFileSync(join(SUBSET, file)));
  const labels = idx('train-labels-idx1-ubyte.gz').subarray(8);
  const pixels = idx('train-images-idx3-ubyte.gz').subarray(16);
  const fileBytes = () => readdirSync(dir).filter((f) => f.endsWith('.parquet')).reduce((a, f) => a + statSync(join(dir, f)).size, 0);
  let pattern: string;
  let nginx: RunningNginx;

  beforeAll(async () => {
    // Hugging Face's datasets writes image datasets in row groups of 100 rows; small pages let a reader fetch a few rows.
    pattern = writeHuggingFaceParquet(dir, pixels, labels, { files: 4, rowGroupSize: 100, pageSize: 1024 });
    nginx = await startNginx(dir, { maxSeconds: 300 });
  }, 60_000);
  afterAll(async () => {
    await nginx?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('edgelake index reads the files once; inspect shows the class names from the metadata', async () => {
    const r = await cli('index', join(dir, pattern), '--json');
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as { samples: number; files: number; bytes: number; indexBytes: number };
    expect((await openDataset(join(dir, pattern))).splits).toEqual({ train: [[0, labels.length]] }); // from the file names
    expect([summary.samples, summary.files, summary.bytes]).toEqual([labels.length, 4, fileBytes()]);
    console.log(`parquet: 4 files, ${summary.bytes} bytes; index ${summary.indexBytes} bytes (${((100 * summary.indexBytes) / summary.bytes).toFixed(2)}%)`);
    const inspect = JSON.parse((await cli('inspect', `${nginx.url}/${pattern}`, '--json')).stdout) as { length: number; tensors: Record<string, { htype: string; classNames?: string[] }> };
    expect(inspect.length).toBe(labels.length);
    expect(inspect.tensors.label).toMatchObject({ htype: 'class_label', classNames: FASHION_CLASSES.split(',') });
    expect(inspect.tensors.image.htype).toBe('image');
  });

  it('one epoch through the loader yields every sample once, with its label and pixels', async () => {
    const ds = await openDataset(`${nginx.url}/${pattern}`);
    const seen = new Uint8Array(ds.length);
    for await (const b of new Loader(ds.view(), { batchSize: 500, shuffle: { seed: 2, windowChunks: 4 }, tensors: ['image', 'label'] })) {
      const [image, label] = [b.tensors.image as Uint8Array, b.tensors.label as Int32Array];
      b.ids.forEach((id, i) => {
        seen[id]++;
        expect(label[i]).toBe(labels[id]);
        for (const p of [0, 400, 783]) expect(image[(i * 784 + p) * 3]).toBe(pixels[id * 784 + p]);
      });
    }
    expect(seen.every((n) => n === 1)).toBe(true);
  });

  // Under 3% on these 540-byte PNGs: the index (its page table: each page's size, rows and crc32,
  // 1.4%) and one range read per sample, of the page holding its row (~800 bytes with its header).
  it('reading 1% of the samples at random fetches the index and only the pages holding those rows', async () => {
    const before = (await nginx.accessLog()).split('\n').filter(Boolean).length;
    const ds = await openDataset(`${nginx.url}/${pattern}`);
    const view = ds.view();
    const picked = Array.from({ length: Math.ceil(ds.length / 100) }, (_, k) => (k * 7919) % ds.length);
    for (const id of picked) expect((await view.get(id, ['image', 'label'])).label[0]).toBe(labels[id]);
    const lines = (await nginx.accessLog()).split('\n').filter(Boolean).slice(before);
    const sent = lines.reduce((a, l) => a + Number(/" \d{3} (\d+) /.exec(l)?.[1] ?? 0), 0);
    console.log(`parquet: ${picked.length} random samples (1%): ${lines.length} requests, ${sent} bytes = ${((100 * sent) / fileBytes()).toFixed(2)}% of the files' bytes, the index included`);
    expect(lines.length).toBe(1 + 4 + picked.length); // the index, a probe of each file's length, then a page per sample: no footer, no offset index
    expect(sent / fileBytes()).toBeLessThan(0.03);
  });

  it('a file changed since it was indexed is named, never mixed with what was indexed', async () => {
    const file = join(dir, readdirSync(dir).filter((f) => f.endsWith('.parquet')).sort()[1]);
    const original = readFileSync(file);
    const elsewhere = mkdtempSync(join(tmpdir(), 'edgelake-parquet-other-'));
    try {
      writeHuggingFaceParquet(elsewhere, pixels.subarray(784), labels.subarray(1), { files: 4, rowGroupSize: 100, pageSize: 1024 }); // every row one on
      writeFileSync(file, readFileSync(join(elsewhere, readdirSync(elsewhere).sort()[1])));
      const epoch = async () => {
        const ds = await openDataset(`${nginx.url}/${pattern}`, { retry: { retries: 0 } });
        for await (const b of new Loader(ds.view(), { batchSize: 1000, tensors: ['image'] })) expect(b.ids.length).toBeGreaterThan(0);
      };
      await expect(epoch()).rejects.toThrow(/train-00001-of-00004\.parquet changed since it was indexed \(it is shorter than the \d+ bytes indexed\); run edgelake index again/);
    } finally {
      writeFileSync(file, original);
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('the active learner works on it with no probe: a random first pick, then its own uncertainty over a sample of the pool', async () => {
    const testLabels = idx('t10k-labels-idx1-ubyte.gz').subarray(8);
    const test = writeHuggingFaceParquet(dir, idx('t10k-images-idx3-ubyte.gz').subarray(16), testLabels, { files: 1, rowGroupSize: 100, pageSize: 1024, split: 'test' });
    const both = `{${pattern.replace(/\.parquet$/, '')},${test.replace(/\.parquet$/, '')}}.parquet`;
    const ds = await openDataset(`${nginx.url}/${both}`);
    expect(ds.splits).toEqual({ train: [[0, labels.length]], test: [[labels.length, labels.length + testLabels.length]] });
    const learner = mlp({ layers: [28 * 28 * 3, 32, 10], seed: 1 });
    const al = new ActiveLearner({ dataset: ds, strategy: 'margin', roundSize: 50, maxLabels: 150, learner, epochs: 8, seed: 1 });
    const rounds = await al.run();
    learner.dispose();
    console.log(`parquet: active learning without a probe: ${rounds.map((r) => `${r.labels}:${r.accuracy.toFixed(3)}`).join(' ')}`);
    expect(rounds.map((r) => r.labels)).toEqual([50, 100, 150]);
    expect(rounds.every((r) => r.probeBytes === 0)).toBe(true);
    expect(rounds[2].accuracy).toBeGreaterThan(Math.max(0.4, rounds[0].accuracy)); // it learns from the labels it chose
    await expect(new ActiveLearner({ dataset: ds, strategy: 'k-center', roundSize: 10, maxLabels: 10, learner: mlp({ layers: [2352, 10] }) }).step()).rejects.toThrow('strategy k-center needs probe embeddings, and this dataset has no probe tensor');
  }, 120_000);
});
