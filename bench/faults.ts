/**
 * Streaming through faults: epochs of Fashion-MNIST from nginx through a seeded fault-injecting
 * proxy (connection resets, 503, 429 with Retry-After, stalled and truncated bodies, flipped bits,
 * wrong Content-Range: test/support/fault-proxy.ts), each compared sample by sample with the IDX
 * files, against the same epoch through the proxy with no faults. The library's default retry
 * policy; the client gives up on a silent body after --timeout-ms. Target (issue 16): at 20 %
 * faults every epoch completes with 0 wrong samples.
 *
 * Each epoch also reads --random-reads samples one at a time from an uncompressed copy (a chunk
 * header and one sample by range each), so wrong Content-Range answers are exercised too.
 *
 *   npx tsx bench/faults.ts [--rate 0.2] [--epochs 10] [--workers 1] [--chunk-kib 256] [--random-reads 300]
 *     [--timeout-ms 2000] [--stall-ms 4000] [--data auto|full|subset] [--max-seconds 1200]
 */
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChunkCache, Loader, MemoryChunkStore } from '../src/index.js';
import { parseIdx } from '../src/format/index.js';
import { pcgHash } from '../src/kernels/index.js';
import { openDataset } from '../src/node.js';
import { FAULTS, startFaultProxy, type Fault } from '../test/support/fault-proxy.js';
import { startNginx } from '../test/support/nginx.js';
import { deadline, fashionMnist, FMNIST_FULL, FMNIST_SUBSET } from './link.js';
import { benchArgs, median, report } from './report.js';

const { values } = benchArgs(import.meta.url, {
  options: {
    rate: { type: 'string', default: '0.2' }, epochs: { type: 'string', default: '10' }, workers: { type: 'string', default: '1' },
    'chunk-kib': { type: 'string', default: '256' }, 'timeout-ms': { type: 'string', default: '2000' }, 'stall-ms': { type: 'string', default: '4000' },
    data: { type: 'string', default: 'auto' }, 'random-reads': { type: 'string', default: '300' }, 'max-seconds': { type: 'string', default: '1200' },
  },
});
deadline(Number(values['max-seconds']), 'faults');
const data = await fashionMnist({ chunkKiB: Number(values['chunk-kib']), compression: 'deflate', data: values.data as 'auto' | 'full' | 'subset' });
const idxDir = data.description.includes('full') ? FMNIST_FULL : FMNIST_SUBSET;
const idx = (file: string) => parseIdx(readFileSync(join(idxDir, file)), file).data;
const images = Buffer.concat([idx('train-images-idx3-ubyte.gz'), idx('t10k-images-idx3-ubyte.gz')]);
const labels = Buffer.concat([idx('train-labels-idx1-ubyte.gz'), idx('t10k-labels-idx1-ubyte.gz')]);

// The same data in uncompressed chunks: View.get reads a chunk's header and one sample by range.
const flat = await fashionMnist({ chunkKiB: 64, compression: 'none', data: values.data as 'auto' | 'full' | 'subset' });
const www = mkdtempSync(join(tmpdir(), 'edgelake-bench-faults-'));
symlinkSync(data.root, join(www, 'stream'));
symlinkSync(flat.root, join(www, 'flat'));
const nginx = await startNginx(www, { accessLog: false, maxSeconds: Number(values['max-seconds']) });
const rate = Number(values.rate);
const epochs = Number(values.epochs);
const workers = Number(values.workers);

const RANDOM_READS = Number(values['random-reads']);
const wrongSample = (id: number, image: Uint8Array, label: number) =>
  Buffer.compare(image, images.subarray(id * 784, (id + 1) * 784)) !== 0 || label !== labels[id];

/**
 * One cold epoch of the train split through `url`, then RANDOM_READS samples read one by one by
 * range from the flat copy: seconds, samples, wrong samples, retries.
 */
async function epoch(url: string, seed: number) {
  const t0 = performance.now();
  const ds = await openDataset(`${url}/stream`, { http: { timeoutMs: Number(values['timeout-ms']) }, cache: new ChunkCache(new MemoryChunkStore(), { budgetBytes: 1 << 30 }) });
  const loader = new Loader(ds.view({ split: 'train' }), { batchSize: 256, tensors: ['image', 'label'], shuffle: { seed, windowChunks: 4 }, workers });
  let samples = 0;
  let wrong = 0;
  for await (const b of loader) {
    const image = b.tensors.image as Uint8Array;
    const label = b.tensors.label as Int32Array;
    b.ids.forEach((id, k) => void (wrongSample(id, image.subarray(k * 784, (k + 1) * 784), label[k]) && wrong++));
    samples += b.ids.length;
  }
  const streamed = loader.stats();
  const random = await openDataset(`${url}/flat`, { http: { timeoutMs: Number(values['timeout-ms']) } });
  const view = random.view({ split: 'train' });
  const picks = Array.from({ length: RANDOM_READS }, (_, k) => pcgHash(seed * 1_000_003 + k) % view.length);
  const got = await Promise.all(picks.map((i) => view.get(i, ['image', 'label'])));
  got.forEach((sample, k) => void (wrongSample(view.ids[picks[k]], sample.image as Uint8Array, (sample.label as Int32Array)[0]) && wrong++));
  return {
    seconds: (performance.now() - t0) / 1000, samples: samples + got.length, wrong,
    retries: streamed.retries + random.network.retries, refetched: streamed.refetched + random.network.refetched,
  };
}

const maxLifetimeMs = Number(values['max-seconds']) * 1000;
const clean = await startFaultProxy({ target: nginx.url, rate: 0, seed: 0, maxLifetimeMs });
const faulty = await startFaultProxy({ target: nginx.url, rate, seed: 16, stallMs: Number(values['stall-ms']), maxLifetimeMs });
try {
  const expected = data.manifest.splits.train!.reduce((a, [s, e]) => a + e - s, 0) + RANDOM_READS;
  const cleanRuns: Awaited<ReturnType<typeof epoch>>[] = [];
  const faultyRuns: (Awaited<ReturnType<typeof epoch>> | { failed: string })[] = [];
  await epoch(clean.url, 0); // warm-up: JIT, connections, nginx's page cache
  for (let seed = 1; seed <= epochs; seed++) {
    cleanRuns.push(await epoch(clean.url, seed));
    faultyRuns.push(await epoch(faulty.url, seed).catch((e: unknown) => ({ failed: String((e as Error).message ?? e) })));
    const last = faultyRuns[faultyRuns.length - 1];
    console.log(`epoch ${seed}: ${'failed' in last ? `FAILED: ${last.failed}` : `${last.seconds.toFixed(2)} s, ${last.samples} samples, ${last.wrong} wrong, ${last.retries} retries (${last.refetched} damaged transfers fetched again)`}; fault-free ${cleanRuns[cleanRuns.length - 1].seconds.toFixed(2)} s`);
  }
  const done = faultyRuns.filter((r): r is Awaited<ReturnType<typeof epoch>> => !('failed' in r));
  const completed = done.filter((r) => r.samples === expected).length;
  const T0 = median(cleanRuns.map((r) => r.seconds));
  const T = median(done.map((r) => r.seconds));
  const { requests, faults } = faulty.stats();
  report('faults', `Streaming through ${Math.round(rate * 100)} % faults of every kind`, [
    { measure: 'epochs completed, every sample present (target: all)', value: completed, unit: `of ${epochs}` },
    { measure: 'wrong samples against the IDX files (target 0)', value: done.reduce((a, r) => a + r.wrong, 0), unit: `of ${done.reduce((a, r) => a + r.samples, 0)}` },
    { measure: 'epoch through the faults (median)', value: T, unit: 's' },
    { measure: 'the same epoch with no faults (median)', value: T0, unit: 's' },
    { measure: 'time over a fault-free epoch', value: T / T0, unit: 'x' },
    { measure: 'retries per epoch (median)', value: median(done.map((r) => r.retries)), unit: '' },
    { measure: 'damaged transfers fetched again per epoch (median)', value: median(done.map((r) => r.refetched)), unit: '' },
    { measure: 'responses through the faulty proxy', value: requests, unit: '' },
  ], [
    `${data.description}; split train: ${expected - RANDOM_READS} samples streamed per epoch (cold memory cache each epoch, workers ${workers}), then ${RANDOM_READS} read at random by range from the same data in uncompressed 64 KiB chunks`,
    `faults injected: ${FAULTS.map((k: Fault) => `${k} ${faults[k]}`).join(', ')} (range faults hit the random reads: a loader reads whole chunks)`,
    `client: HttpSource timeout ${values['timeout-ms']} ms, the library's default retries; proxy stalls ${values['stall-ms']} ms, Retry-After 1 s`,
  ]);
  if (completed !== epochs || done.some((r) => r.wrong > 0)) process.exitCode = 1;
} finally {
  await faulty.stop();
  await clean.stop();
  await nginx.stop();
  rmSync(www, { recursive: true, force: true });
}
