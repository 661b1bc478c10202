/**
 * (b) Streaming an epoch from nginx over a link with added latency and a bandwidth cap, as a
 * share of the cap. Target: 0.9 or better.
 *
 * Fashion-MNIST served by nginx behind the throttle proxy. Side by side in every round, on the
 * same link: a plain parallel download of exactly the chunks the epoch needs (HttpSource, same
 * concurrency, nothing decoded: what the link gives a trivial client), and one loader epoch with
 * a cold filesystem cache (shuffled, decoded, batched). Bytes on the wire are counted by the
 * proxy. "Epoch" time runs from openDataset to the last batch; "while fetching" from the epoch's
 * first body byte on the link to its last. A third run streams the same epoch straight from nginx (no proxy): the loader's
 * own speed on this machine, which bounds what any link can give it.
 *
 * The default cap, 10 MB/s, keeps the link the bottleneck on a small (2-core) machine; at 20 MB/s
 * the loader's own decoding speed there is about the link's, and the run measures the CPU.
 * Workers default to the library's default, 0: with nothing training, a decode worker only adds
 * a thread that competes with the throttle proxy for the cores (on 2 cores: share 0.90 with 0
 * workers, 0.88 with 1, 0.83 with 2); loader-vs-download measures what workers give a loop
 * that trains.
 *
 *   npx tsx bench/loader-throughput.ts [--latency 20] [--cap 10] [--rounds 5] [--batch 256]
 *     [--window 4] [--workers 0] [--concurrency 4] [--prefetch-mib 64] [--chunk-kib 1024]
 *     [--compression deflate] [--data auto|full|subset] [--max-seconds 600]
 */
import { openDataset } from '../src/node.js';
import { chunksFor, deadline, fashionMnist, inParallel, MB, startLink, tempCache, waitIdle } from './link.js';
import { benchArgs, median, report } from './report.js';
import { HttpSource, Loader } from '../src/index.js';
import { type ChunkCompression, chunkPath } from '../src/format/index.js';

const { values } = benchArgs(import.meta.url, {
  options: {
    latency: { type: 'string', default: '20' }, cap: { type: 'string', default: '10' }, rounds: { type: 'string', default: '5' },
    batch: { type: 'string', default: '256' }, window: { type: 'string', default: '4' }, workers: { type: 'string', default: '0' },
    concurrency: { type: 'string', default: '4' }, 'prefetch-mib': { type: 'string', default: '64' },
    'chunk-kib': { type: 'string', default: '1024' }, compression: { type: 'string', default: 'deflate' },
    data: { type: 'string', default: 'auto' }, 'max-seconds': { type: 'string', default: '600' },
  },
});
const latencyMs = Number(values.latency);
const bytesPerSecond = Number(values.cap) * MB;
const rounds = Number(values.rounds);
const concurrency = Number(values.concurrency);
const maxSeconds = Number(values['max-seconds']);
deadline(maxSeconds, 'loader-throughput');

const data = await fashionMnist({
  chunkKiB: Number(values['chunk-kib']), compression: values.compression as ChunkCompression, data: values.data as 'auto' | 'full' | 'subset',
});
const split = data.manifest.splits.train!;
const needed = chunksFor(data.manifest, ['image', 'label'], split);
const neededBytes = needed.reduce((a, c) => a + c.bytes, 0);
const splitLength = split.reduce((a, [s, e]) => a + e - s, 0);
const link = await startLink(data.root, { latencyMs, bytesPerSecond, maxSeconds });

try {
  const wire = async () => (await link.proxy.stats()).responseBytes;

  const plainDownload = async () => {
    const source = new HttpSource(link.url, { timeoutMs: 30_000 });
    await waitIdle(link);
    const before = await wire();
    const t0 = performance.now();
    await inParallel(needed, concurrency, async (c) => void (await source.read(chunkPath(c.hash), { maxBytes: c.bytes })));
    const seconds = (performance.now() - t0) / 1000;
    return { seconds, bytes: (await wire()) - before };
  };

  const loaderEpoch = async (url = link.url) => {
    const cache = await tempCache(1 << 30);
    try {
      await waitIdle(link);
      await link.proxy.resetTimes();
      const before = await wire();
      const t0 = performance.now();
      const ds = await openDataset(url, { cache: cache.cache, http: { timeoutMs: 30_000 }, concurrency });
      const loader = new Loader(ds.view({ split: 'train' }), {
        batchSize: Number(values.batch), tensors: ['image', 'label'],
        shuffle: Number(values.window) > 0 ? { seed: 1, windowChunks: Number(values.window) } : undefined,
        prefetchBytes: Number(values['prefetch-mib']) * 2 ** 20, workers: Number(values.workers),
      });
      let samples = 0;
      for await (const batch of loader) samples += batch.ids.length;
      const t1 = performance.now();
      const after = await link.proxy.stats();
      const bytes = after.responseBytes - before;
      if (samples !== splitLength) throw new Error(`the epoch gave ${samples} samples, the split has ${splitLength}`);
      await loader.close?.();
      // While the loader was fetching: from the first body byte of this epoch to its last one.
      const busySeconds = after.firstByteAt === null ? NaN : (after.lastByteAt! - after.firstByteAt) / 1000;
      return { seconds: (t1 - t0) / 1000, bytes, fetched: loader.stats().bytesFetched, busyRate: bytes / busySeconds };
    } finally {
      await cache.close();
    }
  };

  await plainDownload(); // warm-up (connections, page cache, JIT)
  const plain: Awaited<ReturnType<typeof plainDownload>>[] = [];
  const epochs: Awaited<ReturnType<typeof loaderEpoch>>[] = [];
  const unthrottled: Awaited<ReturnType<typeof loaderEpoch>>[] = [];
  for (let round = 0; round < rounds; round++) {
    plain.push(await plainDownload());
    epochs.push(await loaderEpoch());
    unthrottled.push(await loaderEpoch(link.originUrl));
  }
  const plainRate = median(plain.map((p) => p.bytes / p.seconds));
  const epochRate = median(epochs.map((e) => e.bytes / e.seconds));
  const busyRate = median(epochs.map((e) => e.busyRate));
  report('loader-throughput', 'Streaming an epoch over a capped link, as a share of the cap', [
    { measure: 'link cap', value: bytesPerSecond / MB, unit: 'MB/s' },
    { measure: `plain parallel download of the epoch's chunks (concurrency ${concurrency})`, value: plainRate / MB, unit: 'MB/s' },
    { measure: 'loader epoch, cold cache (openDataset -> last batch)', value: epochRate / MB, unit: 'MB/s' },
    { measure: 'loader epoch time', value: median(epochs.map((e) => e.seconds)), unit: 's' },
    { measure: 'the same epoch straight from nginx, no throttling (the loader\'s own speed)', value: median(unthrottled.map((e) => e.seconds)), unit: 's' },
    { measure: 'plain download time', value: median(plain.map((p) => p.seconds)), unit: 's' },
    { measure: 'share of the cap: plain download', value: plainRate / bytesPerSecond, unit: '' },
    { measure: 'share of the cap: loader epoch (target >= 0.9)', value: epochRate / bytesPerSecond, unit: '' },
    { measure: "share of the cap: loader, while fetching (the epoch's first to last byte on the link)", value: busyRate / bytesPerSecond, unit: '' },
    { measure: 'ratio loader / plain download', value: epochRate / plainRate, unit: '' },
    { measure: "bytes on the wire / the epoch's chunks (1 = each fetched once)", value: median(epochs.map((e) => e.bytes)) / neededBytes, unit: '' },
  ], [
    `${data.description}; split train: ${splitLength} samples, ${needed.length} chunks (image + label), ${(neededBytes / MB).toFixed(1)} MB stored`,
    `link: nginx behind the throttle proxy (its own process), ${latencyMs} ms each way, cap ${values.cap} MB/s shared by all connections`,
    `loader: batch ${values.batch}, shuffle window ${values.window} chunks, workers ${values.workers}, concurrency ${concurrency}, prefetch ${values['prefetch-mib']} MiB; empty filesystem cache each round`,
    `median of ${rounds} rounds, plain download, loader epoch and unthrottled loader epoch in turn, after a warm-up download; wire bytes counted by the proxy ` +
      `(loader's own bytesFetched: ${(median(epochs.map((e) => e.fetched)) / MB).toFixed(2)} MB)`,
  ]);
} finally {
  await link.stop();
}
