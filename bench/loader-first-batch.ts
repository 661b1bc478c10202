/**
 * (a) Time to first batch on a cold cache, against one round trip plus one chunk's transfer.
 *
 * Fashion-MNIST served by nginx behind the throttle proxy (latency and a bandwidth cap), an
 * empty filesystem cache each round. Side by side in every round, on the same link:
 * - one round trip: a 1-byte Range read of the first image chunk (kept-alive connection);
 * - one chunk: a GET of the first image chunk (one round trip plus the chunk's transfer);
 * - by hand, the floor for any reader: edgelake.json, then the manifest, then the first image
 *   and label chunks in parallel, verified and decoded (three dependent round trips);
 * - the loader: openDataset (refs + manifest), then `new Loader(view, options)` until its first batch, without
 *   shuffling and with a shuffle window of `--window` chunks.
 * The headline ratio is loader-from-loader() (the manifest already open) / one chunk: ideally 1,
 * a round trip and a chunk. From openDataset, the floor is the by-hand time.
 *
 *   npx tsx bench/loader-first-batch.ts [--latency 20] [--cap 20] [--rounds 5] [--batch 256]
 *     [--window 4] [--workers 0] [--concurrency 4] [--chunk-kib 1024] [--compression deflate]
 *     [--data auto|full|subset] [--max-seconds 300]
 */
import { openDataset } from '../src/node.js';
import { deadline, fashionMnist, MB, startLink, tempCache, waitIdle } from './link.js';
import { benchArgs, median, report } from './report.js';
import { HttpSource, Loader, openVersion, readChunk } from '../src/index.js';
import { type ChunkCompression, chunkPath } from '../src/format/index.js';

const { values } = benchArgs(import.meta.url, {
  options: {
    latency: { type: 'string', default: '20' }, cap: { type: 'string', default: '20' }, rounds: { type: 'string', default: '5' },
    batch: { type: 'string', default: '256' }, window: { type: 'string', default: '4' }, workers: { type: 'string', default: '0' },
    concurrency: { type: 'string', default: '4' }, 'chunk-kib': { type: 'string', default: '1024' },
    compression: { type: 'string', default: 'deflate' }, data: { type: 'string', default: 'auto' }, 'max-seconds': { type: 'string', default: '300' },
  },
});
const latencyMs = Number(values.latency);
const bytesPerSecond = Number(values.cap) * MB;
const rounds = Number(values.rounds);
const batchSize = Number(values.batch);
const windowChunks = Number(values.window);
const maxSeconds = Number(values['max-seconds']);
deadline(maxSeconds, 'loader-first-batch');

const data = await fashionMnist({
  chunkKiB: Number(values['chunk-kib']), compression: values.compression as ChunkCompression, data: values.data as 'auto' | 'full' | 'subset',
});
const link = await startLink(data.root, { latencyMs, bytesPerSecond, maxSeconds });
const timed = async <T>(f: () => Promise<T>): Promise<[number, T]> => {
  const t0 = performance.now();
  const out = await f();
  return [performance.now() - t0, out];
};

try {
  const image0 = data.manifest.tensors.image!.chunks[0]!;
  const raw = new HttpSource(link.url, { timeoutMs: 30_000 });
  await raw.read('edgelake.json'); // opens a kept-alive connection, as a running client has

  /** Cold cache; returns ms from openDataset to the first batch, from loader() to it, and the loader's own figure. */
  const loaderRun = async (shuffle: boolean) => {
    const cache = await tempCache(1 << 30);
    try {
      const t0 = performance.now();
      const ds = await openDataset(link.url, { cache: cache.cache, http: { timeoutMs: 30_000 }, concurrency: Number(values.concurrency) });
      const t1 = performance.now();
      const loader = new Loader(ds.view({ split: 'train' }), {
        batchSize, tensors: ['image', 'label'], shuffle: shuffle ? { seed: 1, windowChunks } : undefined,
        workers: Number(values.workers),
      });
      const it = loader[Symbol.asyncIterator]();
      const first = await it.next();
      const t2 = performance.now();
      if (first.done || first.value.ids.length !== Math.min(batchSize, ds.length)) throw new Error('the loader gave no full first batch');
      const own = loader.stats().timeToFirstBatchMs ?? NaN;
      const atFirst = (await link.proxy.stats()).responseBytes;
      await loader.close?.();
      await it.return?.(undefined);
      // Whatever the loader still fetches after close() must not slow the next measurement.
      await waitIdle(link);
      const after = (await link.proxy.stats()).responseBytes - atFirst;
      return { fromOpen: t2 - t0, fromLoader: t2 - t1, own, after };
    } finally {
      await cache.close();
    }
  };

  const r = { rtt: [] as number[], chunk: [] as number[], byHand: [] as number[], plain: [] as Awaited<ReturnType<typeof loaderRun>>[], shuffled: [] as Awaited<ReturnType<typeof loaderRun>>[] };
  await loaderRun(false); // warm-up: module loading, JIT, worker start-up code paths
  for (let round = 0; round < rounds; round++) {
    r.rtt.push((await timed(() => raw.readRange(chunkPath(image0.hash), 0, 1)))[0]);
    r.chunk.push((await timed(() => raw.read(chunkPath(image0.hash))))[0]);
    r.byHand.push((await timed(async () => {
      const v = await openVersion(new HttpSource(link.url, { timeoutMs: 30_000 }));
      await Promise.all([readChunk(v, 'image', 0), readChunk(v, 'label', 0)]);
    }))[0]);
    r.plain.push(await loaderRun(false));
    if (windowChunks > 0) r.shuffled.push(await loaderRun(true));
  }

  const rtt = median(r.rtt);
  const chunk = median(r.chunk);
  const byHand = median(r.byHand);
  const plainOpen = median(r.plain.map((x) => x.fromOpen));
  const plainLoader = median(r.plain.map((x) => x.fromLoader));
  const rows = [
    { measure: `one round trip (1-byte range read; 2 x ${latencyMs} ms added)`, value: rtt, unit: 'ms' },
    { measure: `one chunk: round trip + transfer of ${(image0.bytes / 1000).toFixed(0)} kB (at the cap alone: ${(2 * latencyMs + (image0.bytes / bytesPerSecond) * 1000).toFixed(1)} ms)`, value: chunk, unit: 'ms' },
    { measure: 'by hand: refs, manifest, first image + label chunks decoded', value: byHand, unit: 'ms' },
    { measure: 'loader, no shuffle: openDataset -> first batch', value: plainOpen, unit: 'ms' },
    { measure: 'loader, no shuffle: loader() -> first batch', value: plainLoader, unit: 'ms' },
    { measure: "loader, no shuffle: loader's own timeToFirstBatchMs", value: median(r.plain.map((x) => x.own)), unit: 'ms' },
  ];
  if (windowChunks > 0) {
    rows.push(
      { measure: `loader, shuffle window ${windowChunks}: openDataset -> first batch`, value: median(r.shuffled.map((x) => x.fromOpen)), unit: 'ms' },
      { measure: `loader, shuffle window ${windowChunks}: loader() -> first batch`, value: median(r.shuffled.map((x) => x.fromLoader)), unit: 'ms' },
    );
  }
  rows.push(
    { measure: 'ratio loader() -> first batch / one chunk (no shuffle; ideal 1)', value: plainLoader / chunk, unit: '' },
    { measure: 'ratio openDataset -> first batch / by hand (no shuffle; ideal 1)', value: plainOpen / byHand, unit: '' },
  );
  if (windowChunks > 0) rows.push({ measure: `ratio loader() -> first batch / one chunk (shuffle window ${windowChunks})`, value: median(r.shuffled.map((x) => x.fromLoader)) / chunk, unit: '' });
  rows.push({ measure: 'bytes fetched after the first batch and close() (no shuffle; ideally ~0)', value: median(r.plain.map((x) => x.after)) / MB, unit: 'MB' });
  report('loader-first-batch', 'Time to first batch, cold cache, over a slow link', rows, [
    `${data.description}; split train; batch ${batchSize}, workers ${values.workers}, concurrency ${values.concurrency}`,
    `link: nginx behind the throttle proxy, ${latencyMs} ms each way (round trip +${2 * latencyMs} ms), cap ${values.cap} MB/s shared; empty filesystem cache each round`,
    `median of ${rounds} rounds, each measuring every row in turn, after one warm-up loader run`,
  ]);
} finally {
  await link.stop();
}
