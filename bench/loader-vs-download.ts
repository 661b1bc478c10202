/**
 * (c) A training loop fed by the loader, against download-everything-then-train, on the same data
 * and the same link. Target: total time 0.6 or less of the sequential time, when download and
 * compute take about the same time each (ideal: 0.5).
 *
 * The "training step" is real arithmetic on each batch: the images as float32 times a
 * 784 x `units` weight matrix, ReLU, a checksum (a dense layer's forward pass), on this thread,
 * as a CPU training loop would run. `units` is calibrated before the measured rounds so that the
 * steps of one epoch take `--compute-ratio` (default 1) times the time of downloading the epoch's
 * chunks over the link (a guess timed on a synthetic batch, then scaled by one epoch over the
 * warm cache): the work is then fixed, and it is the same in both runs.
 *
 * - sequential: refs + manifest, then every chunk the epoch needs through the same link with the
 *   same concurrency into an empty filesystem cache, then the loader over that warm cache feeding
 *   the training loop. Timed from the first request to the last step.
 * - streamed: the loader straight from the link with an empty cache feeding the same loop.
 *
 *   npx tsx bench/loader-vs-download.ts [--latency 20] [--cap 10] [--rounds 5] [--batch 256]
 *     [--window 4] [--workers 1] [--concurrency 4] [--prefetch-mib 64] [--compute-ratio 1]
 *     [--chunk-kib 1024] [--compression deflate] [--data auto|full|subset] [--max-seconds 900]
 */
import { openDataset } from '../src/node.js';
import { chunksFor, deadline, fashionMnist, inParallel, MB, startLink, tempCache, waitIdle } from './link.js';
import { benchArgs, median, report } from './report.js';
import { HttpSource, Loader, openVersion } from '../src/index.js';
import { type ChunkCompression, chunkPath } from '../src/format/index.js';

const { values } = benchArgs(import.meta.url, {
  options: {
    latency: { type: 'string', default: '20' }, cap: { type: 'string', default: '10' }, rounds: { type: 'string', default: '5' },
    batch: { type: 'string', default: '256' }, window: { type: 'string', default: '4' }, workers: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '4' }, 'prefetch-mib': { type: 'string', default: '64' },
    'compute-ratio': { type: 'string', default: '1' }, 'chunk-kib': { type: 'string', default: '1024' },
    compression: { type: 'string', default: 'deflate' }, data: { type: 'string', default: 'auto' }, 'max-seconds': { type: 'string', default: '900' },
  },
});
const latencyMs = Number(values.latency);
const bytesPerSecond = Number(values.cap) * MB;
const rounds = Number(values.rounds);
const batchSize = Number(values.batch);
const concurrency = Number(values.concurrency);
const maxSeconds = Number(values['max-seconds']);
deadline(maxSeconds, 'loader-vs-download');

const data = await fashionMnist({
  chunkKiB: Number(values['chunk-kib']), compression: values.compression as ChunkCompression, data: values.data as 'auto' | 'full' | 'subset',
});
const split = data.manifest.splits.train!;
const splitLength = split.reduce((a, [s, e]) => a + e - s, 0);
const batches = Math.ceil(splitLength / batchSize);
const needed = chunksFor(data.manifest, ['image', 'label'], split);
const pixels = 28 * 28;

/** One dense layer's forward pass over the batch: x (B x 784, float32 in [0, 1]) . W (784 x units), ReLU. */
class TrainingStep {
  private readonly w: Float32Array;
  private x = new Float32Array(0);
  checksum = 0;
  constructor(readonly units: number) {
    this.w = new Float32Array(pixels * units);
    let s = 12345;
    for (let i = 0; i < this.w.length; i++) this.w[i] = ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32 - 0.5) * 0.1;
  }

  run(images: Uint8Array, labels: Int32Array): void {
    const n = labels.length;
    if (this.x.length < n * pixels) this.x = new Float32Array(n * pixels);
    const { x, w, units } = this;
    for (let i = 0; i < n * pixels; i++) x[i] = images[i] / 255;
    let sum = 0;
    for (let b = 0; b < n; b++) {
      const row = b * pixels;
      for (let u = 0; u < units; u++) {
        let acc = 0;
        for (let p = 0, k = u; p < pixels; p++, k += units) acc += x[row + p] * w[k];
        if (acc > 0) sum += acc * (labels[b] + 1);
      }
    }
    this.checksum += sum;
  }
}

/** The layer width whose step on a full batch takes `targetMs` (two rounds of timing and scaling). */
function calibrateUnits(targetMs: number): { units: number; unitMs: number } {
  const images = new Uint8Array(batchSize * pixels).map((_, i) => (i * 7) & 255);
  const labels = new Int32Array(batchSize).map((_, i) => i % 10);
  const msPerStep = (units: number) => {
    const probe = new TrainingStep(units);
    probe.run(images, labels); // JIT warm-up
    const times: number[] = [];
    for (let i = 0; i < 9; i++) {
      const t0 = performance.now();
      probe.run(images, labels);
      times.push(performance.now() - t0);
    }
    return median(times);
  };
  let units = Math.max(1, Math.round(targetMs / (msPerStep(32) / 32)));
  units = Math.max(1, Math.round((units * targetMs) / msPerStep(units)));
  return { units, unitMs: msPerStep(units) / units };
}

const link = await startLink(data.root, { latencyMs, bytesPerSecond, maxSeconds });
try {
  /** Refs, manifest and every chunk of the epoch into `cache`, through the link; returns seconds. */
  const downloadAll = async (cache: Awaited<ReturnType<typeof tempCache>>['cache']) => {
    const t0 = performance.now();
    const source = new HttpSource(link.url, { timeoutMs: 30_000 });
    await openVersion(source);
    await inParallel(needed, concurrency, async (c) => {
      await cache.get(c.hash, { fetch: () => source.read(chunkPath(c.hash), { maxBytes: c.bytes }) });
    });
    return (performance.now() - t0) / 1000;
  };

  /** The loader over `cache` (warm or empty) feeding the training loop; seconds and compute seconds. */
  const train = async (cache: Awaited<ReturnType<typeof tempCache>>['cache'], step: TrainingStep) => {
    const t0 = performance.now();
    const ds = await openDataset(link.url, { cache, http: { timeoutMs: 30_000 }, concurrency });
    const loader = new Loader(ds.view({ split: 'train' }), {
      batchSize, tensors: ['image', 'label'],
      shuffle: Number(values.window) > 0 ? { seed: 1, windowChunks: Number(values.window) } : undefined,
      prefetchBytes: Number(values['prefetch-mib']) * 2 ** 20, workers: Number(values.workers),
    });
    let computeMs = 0;
    let samples = 0;
    let firstBatchMs = 0;
    let waitedMs = 0; // for batches after the first: where the link or the loader held training up
    let stepEnd = 0;
    let bytes = 0;
    let lastByteMs = 0; // when a batch first saw the epoch's bytes all in (to a batch's time)
    for await (const batch of loader) {
      const s = performance.now();
      if (samples === 0) firstBatchMs = s - t0;
      else waitedMs += s - stepEnd;
      const fetchedNow = loader.stats().bytesFetched;
      if (fetchedNow > bytes) [bytes, lastByteMs] = [fetchedNow, s - t0];
      step.run(batch.tensors.image as Uint8Array, batch.tensors.label as Int32Array);
      stepEnd = performance.now();
      computeMs += stepEnd - s;
      samples += batch.ids.length;
    }
    await loader.close?.();
    if (samples !== splitLength) throw new Error(`the epoch gave ${samples} samples, the split has ${splitLength}`);
    return { seconds: (performance.now() - t0) / 1000, computeSeconds: computeMs / 1000, firstBatchSeconds: firstBatchMs / 1000, waitedSeconds: waitedMs / 1000, lastByteSeconds: lastByteMs / 1000 };
  };

  const sequential = async (step: TrainingStep) => {
    const cache = await tempCache(1 << 30);
    try {
      await waitIdle(link);
      const download = await downloadAll(cache.cache);
      const t = await train(cache.cache, step);
      return { download, train: t.seconds, compute: t.computeSeconds, total: download + t.seconds };
    } finally {
      await cache.close();
    }
  };
  const streamed = async (step: TrainingStep) => {
    const cache = await tempCache(1 << 30);
    try {
      await waitIdle(link);
      const t = await train(cache.cache, step);
      return { total: t.seconds, compute: t.computeSeconds, firstBatch: t.firstBatchSeconds, waited: t.waitedSeconds, lastByte: t.lastByteSeconds };
    } finally {
      await cache.close();
    }
  };

  // Calibration: the download time of the epoch, then the layer width whose steps take as long.
  // Two downloads, the faster counts: the first one also warms up connections and the JIT.
  const downloads: number[] = [];
  const warm = await tempCache(1 << 30);
  for (let i = 0; i < 2; i++) {
    const scratch = i === 0 ? await tempCache(1 << 30) : warm;
    await waitIdle(link);
    downloads.push(await downloadAll(scratch.cache));
    if (scratch !== warm) await scratch.close();
  }
  const downloadSeconds = Math.min(...downloads);
  const targetComputeSeconds = Number(values['compute-ratio']) * downloadSeconds;
  // A first guess from a synthetic batch, then epochs over the warm cache with the real batches
  // to scale it, twice: the JIT and the caches treat real data a little differently, and the
  // first epoch still runs partly unoptimized code.
  let units = calibrateUnits((targetComputeSeconds * 1000) / batches).units;
  let unitMs = 0;
  for (let i = 0; i < 2; i++) {
    const probe = await train(warm.cache, new TrainingStep(units));
    unitMs = (probe.computeSeconds * 1000) / batches / units;
    units = Math.max(1, Math.round((units * targetComputeSeconds) / probe.computeSeconds));
  }
  await warm.close();
  const step = new TrainingStep(units);
  const targetStepMs = (targetComputeSeconds * 1000) / batches;
  console.log(`calibrated: download ${downloadSeconds.toFixed(2)} s, ${batches} steps of ${step.units} units (~${targetStepMs.toFixed(1)} ms each)`);

  const seq: Awaited<ReturnType<typeof sequential>>[] = [];
  const str: Awaited<ReturnType<typeof streamed>>[] = [];
  for (let round = 0; round < rounds; round++) {
    // Alternate which goes first, so neither always runs on a warmer machine.
    if (round % 2 === 0) {
      seq.push(await sequential(step));
      str.push(await streamed(step));
    } else {
      str.push(await streamed(step));
      seq.push(await sequential(step));
    }
  }
  const D = median(seq.map((s) => s.download));
  const C = median(seq.map((s) => s.compute));
  const S = median(seq.map((s) => s.total));
  const T = median(str.map((s) => s.total));
  report('loader-vs-download', 'Training fed by the loader vs download-everything-then-train', [
    { measure: 'sequential: download every chunk of the epoch', value: D, unit: 's' },
    { measure: 'sequential: then train from the warm cache', value: median(seq.map((s) => s.train)), unit: 's' },
    { measure: 'compute alone (the training steps, in the sequential run)', value: C, unit: 's' },
    { measure: 'compute in the streamed run (same work, sharing the CPU with fetching)', value: median(str.map((s) => s.compute)), unit: 's' },
    { measure: 'streamed: time to the first batch (refs, manifest, the first window)', value: median(str.map((s) => s.firstBatch)), unit: 's' },
    { measure: 'streamed: training waiting for batches after the first', value: median(str.map((s) => s.waited)), unit: 's' },
    { measure: 'streamed: every byte of the epoch in (as the batches saw it)', value: median(str.map((s) => s.lastByte)), unit: 's' },
    { measure: 'sequential total', value: S, unit: 's' },
    { measure: 'streamed total (loader straight from the link, cold cache)', value: T, unit: 's' },
    { measure: 'compute / download (calibrated to ~1)', value: C / D, unit: '' },
    { measure: 'ratio streamed / sequential (target <= 0.6)', value: T / S, unit: '' },
    { measure: 'ideal ratio max(D, C) / (D + C)', value: Math.max(D, C) / (D + C), unit: '' },
  ], [
    `${data.description}; split train: ${splitLength} samples, ${batches} batches of ${batchSize}, ${needed.length} chunks, ` +
      `${(needed.reduce((a, c) => a + c.bytes, 0) / MB).toFixed(1)} MB stored`,
    `link: nginx behind the throttle proxy (its own process), ${latencyMs} ms each way, cap ${values.cap} MB/s shared; concurrency ${concurrency} for both`,
    `training step: float32 dense layer 784 x ${step.units} + ReLU per batch on the main thread (${unitMs.toFixed(3)} ms per unit per batch), ` +
      `calibrated to ${values['compute-ratio']} x the ${downloadSeconds.toFixed(2)} s calibration download`,
    `loader: shuffle window ${values.window} chunks, workers ${values.workers}, prefetch ${values['prefetch-mib']} MiB; ` +
      `median of ${rounds} rounds, the order of the two runs alternating`,
  ]);
} finally {
  await link.stop();
}
