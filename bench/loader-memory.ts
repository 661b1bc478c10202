/**
 * (d) Peak memory (RSS) while the loader streams one epoch of a synthetic 10 GB dataset.
 * Target: under 400 MB.
 *
 * The dataset (synthetic.ts) is generated on request by a server in its own process; this
 * script computes (or reads from its cache) the manifest, starts the server, and then runs the
 * epoch in a fresh child process (this same file with --measure), so that nothing but the loader
 * and what it needs counts in the measured RSS: not the 10 GB generated once for the manifest's
 * hashes, not the server, not the bench's own bookkeeping. The child samples
 * process.memoryUsage() every --interval-ms (default 50 ms) during the epoch and reads the
 * kernel's high-water mark (VmHWM, which catches peaks between samples) at the end.
 *
 *   npx tsx bench/loader-memory.ts [--gb 10] [--sample-kib 32] [--chunk-mib 8] [--batch 256]
 *     [--window 4] [--workers 2] [--concurrency 4] [--prefetch-mib 64]
 *     [--cache fs|memory|none] [--cache-mib 1024] [--seed 1] [--interval-ms 50] [--max-seconds 1800]
 *
 * --gb 1 gives a quick run; the cache (an FsChunkStore in a temp folder, with a byte budget, by
 * default) is emptied and removed afterwards.
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openDataset } from '../src/node.js';
import { deadline, MB, tempCache } from './link.js';
import { benchArgs, report } from './report.js';
import { startSyntheticServer, syntheticDataset } from './synthetic.js';
import { childChannel } from './throttle-proxy.js';
import { ChunkCache, Loader, MemoryChunkStore } from '../src/index.js';

const options = {
  gb: { type: 'string', default: '10' }, 'sample-kib': { type: 'string', default: '32' }, 'chunk-mib': { type: 'string', default: '8' },
  batch: { type: 'string', default: '256' }, window: { type: 'string', default: '4' }, workers: { type: 'string', default: '0' },
  concurrency: { type: 'string', default: '4' }, 'prefetch-mib': { type: 'string', default: '64' },
  cache: { type: 'string', default: 'fs' }, 'cache-mib': { type: 'string', default: '1024' }, seed: { type: 'string', default: '1' },
  'interval-ms': { type: 'string', default: '50' }, 'max-seconds': { type: 'string', default: '1800' },
  measure: { type: 'string' },
} as const;
const { values } = benchArgs(import.meta.url, { options });
const TARGET = 400 * MB;

interface Measured {
  samples: number;
  seconds: number;
  bytesFetched: number;
  baselineRss: number;
  peakRss: number;
  hwmBefore: number;
  hwmAfter: number;
  peakHeapUsed: number;
  peakArrayBuffers: number;
  peakExternal: number;
  medianRss: number;
  rssSamples: number;
  /** Peak RSS while the first half of the epoch's samples came, and while the second half did. */
  peakFirstHalf: number;
  peakSecondHalf: number;
}

/** The kernel's peak RSS of this process so far, in bytes (Linux), or NaN. */
function vmHwm(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** The child: one epoch from `url`, memory sampled throughout; sends a Measured. */
async function measure(url: string): Promise<Measured> {
  const cacheBudget = Number(values['cache-mib']) * 2 ** 20;
  const fsCache = values.cache === 'fs' ? await tempCache(cacheBudget) : undefined;
  const cache = fsCache?.cache ?? (values.cache === 'memory' ? new ChunkCache(new MemoryChunkStore(), { budgetBytes: cacheBudget }) : undefined);
  const hwmBefore = vmHwm();
  const baselineRss = process.memoryUsage.rss();
  const rss: number[] = [];
  const peak = { heapUsed: 0, arrayBuffers: 0, external: 0, firstHalf: 0, secondHalf: 0 };
  let secondHalf = false;
  const sample = () => {
    const m = process.memoryUsage();
    rss.push(m.rss);
    if (secondHalf) peak.secondHalf = Math.max(peak.secondHalf, m.rss);
    else peak.firstHalf = Math.max(peak.firstHalf, m.rss);
    peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
    peak.arrayBuffers = Math.max(peak.arrayBuffers, m.arrayBuffers);
    peak.external = Math.max(peak.external, m.external);
  };
  const timer = setInterval(sample, Number(values['interval-ms']));
  try {
    const t0 = performance.now();
    const ds = await openDataset(url, { cache, http: { timeoutMs: 60_000 }, concurrency: Number(values.concurrency) });
    const loader = new Loader(ds.view({ split: 'train' }), {
      batchSize: Number(values.batch), tensors: ['data', 'label'],
      shuffle: Number(values.window) > 0 ? { seed: 1, windowChunks: Number(values.window) } : undefined,
      prefetchBytes: Number(values['prefetch-mib']) * 2 ** 20, workers: Number(values.workers),
    });
    let samples = 0;
    let touched = 0;
    let nextReport = 0.1;
    for await (const batch of loader) {
      samples += batch.ids.length;
      secondHalf = samples * 2 > ds.length;
      touched ^= (batch.tensors.data as Uint8Array)[0]!; // use the batch, as training would
      if (samples / ds.length >= nextReport) {
        process.stderr.write(`  ${Math.round((samples / ds.length) * 100)}% of ${ds.length} samples, ` +
          `${((performance.now() - t0) / 1000).toFixed(0)} s, RSS ${(process.memoryUsage.rss() / MB).toFixed(0)} MB\n`);
        nextReport += 0.1;
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    sample();
    await loader.close?.();
    if (samples !== ds.length) throw new Error(`the epoch gave ${samples} samples, the dataset has ${ds.length}`);
    const sorted = [...rss].sort((a, b) => a - b);
    return {
      samples, seconds, bytesFetched: loader.stats().bytesFetched + (touched & 0), baselineRss, peakRss: sorted[sorted.length - 1]!,
      hwmBefore, hwmAfter: vmHwm(), peakHeapUsed: peak.heapUsed, peakArrayBuffers: peak.arrayBuffers, peakExternal: peak.external,
      medianRss: sorted[Math.floor(sorted.length / 2)]!, rssSamples: rss.length,
      peakFirstHalf: peak.firstHalf, peakSecondHalf: peak.secondHalf,
    };
  } finally {
    clearInterval(timer);
    await fsCache?.close();
  }
}

if (values.measure) {
  // The parent going away ends this run; the answer is sent, then the process exits.
  process.on('disconnect', () => process.exit(2));
  const send = (m: unknown) => process.send?.(m, () => process.exit(0));
  try {
    send({ type: 'ready', result: await measure(values.measure) });
  } catch (e) {
    send({ type: 'error', error: e instanceof Error ? e.stack ?? e.message : String(e) });
  }
} else {
  const maxSeconds = Number(values['max-seconds']);
  deadline(maxSeconds, 'loader-memory');
  const params = {
    totalBytes: Math.round(Number(values.gb) * 1e9), sampleBytes: Number(values['sample-kib']) * 1024,
    chunkBytes: Number(values['chunk-mib']) * 2 ** 20, seed: Number(values.seed),
  };
  let shown = -1;
  const t0 = performance.now();
  const dataset = await syntheticDataset(params, {
    onProgress: (done, total) => {
      const pct = Math.floor((done / total) * 10);
      if (pct !== shown) process.stderr.write(`computing the synthetic manifest: ${(shown = pct) * 10}%\n`);
    },
  });
  process.stderr.write(`synthetic dataset ${dataset.name}: ${dataset.layout.length} samples, ${dataset.manifest.tensors.data!.chunks.length} data chunks ` +
    `(${((performance.now() - t0) / 1000).toFixed(1)} s to compute or load the manifest)\n`);
  const server = await startSyntheticServer(dataset, { maxLifetimeMs: maxSeconds * 1000 });
  try {
    const args = process.argv.slice(2).filter((a) => !a.startsWith('--measure'));
    const child = fork(fileURLToPath(import.meta.url), [...args, '--measure', server.url], {
      execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const channel = childChannel(child, 'the measuring process', maxSeconds * 1000);
    const m = ((await channel.ready) as { result: Measured }).result;
    await channel.stop();
    const served = await server.stats();
    report('loader-memory', `Peak memory streaming a synthetic ${values.gb} GB dataset`, [
      { measure: 'dataset: stored bytes', value: dataset.storedBytes / 1e9, unit: 'GB' },
      { measure: 'samples in the epoch', value: m.samples, unit: '' },
      { measure: 'epoch time', value: m.seconds, unit: 's' },
      { measure: 'throughput', value: m.bytesFetched / MB / m.seconds, unit: 'MB/s' },
      { measure: 'RSS before openDataset (runtime, modules, cache opened)', value: m.baselineRss / MB, unit: 'MB' },
      { measure: `peak RSS, sampled every ${values['interval-ms']} ms during the epoch`, value: m.peakRss / MB, unit: 'MB' },
      { measure: 'median RSS during the epoch', value: m.medianRss / MB, unit: 'MB' },
      { measure: 'peak RSS, first half of the epoch / second half (no growth: about equal)', value: m.peakFirstHalf / MB, unit: `MB / ${(m.peakSecondHalf / MB).toFixed(1)} MB` },
      { measure: "peak RSS, kernel's high-water mark (VmHWM) over the process's life", value: m.hwmAfter / MB, unit: 'MB' },
      { measure: 'peak RSS above the baseline', value: (m.peakRss - m.baselineRss) / MB, unit: 'MB' },
      { measure: 'peak JS heap used / ArrayBuffers', value: m.peakHeapUsed / MB, unit: `MB / ${(m.peakArrayBuffers / MB).toFixed(0)} MB` },
      { measure: 'ratio peak RSS (the larger of sampled and VmHWM) / 400 MB (target < 1)', value: Math.max(m.peakRss, m.hwmAfter) / TARGET, unit: '' },
    ], [
      `synthetic dataset: ${dataset.layout.length} samples of ${values['sample-kib']} KiB (uint8) + an int32 label, ` +
        `${dataset.manifest.tensors.data!.chunks.length} chunks of ~${values['chunk-mib']} MiB, no compression; served from a child process on 127.0.0.1, ` +
        `${(served.bytesServed / 1e9).toFixed(2)} GB served in ${served.chunkRequests} chunk requests`,
      `loader: batch ${values.batch}, shuffle window ${values.window} chunks, workers ${values.workers}, concurrency ${values.concurrency}, ` +
        `prefetch ${values['prefetch-mib']} MiB; cache: ${values.cache}${values.cache === 'none' ? '' : ` (budget ${values['cache-mib']} MiB)`}`,
      `measured in a fresh child process (node --import tsx); ${m.rssSamples} RSS samples; VmHWM before openDataset was ${(m.hwmBefore / MB).toFixed(0)} MB; MB = 10^6 bytes`,
    ]);
  } finally {
    await server.stop();
  }
}
