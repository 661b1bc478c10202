/**
 * What the loader benchmarks share: the Fashion-MNIST and photo datasets they stream (built once,
 * cached under os.tmpdir()), nginx serving it behind the throttle proxy (a slow link), empty or warm
 * chunk caches in temp folders, and a hard deadline so that no run, and no server it started,
 * outlives its time.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNginx } from '../test/support/nginx.js';
import { buildPhotoDataset, buildPhotoDatasetArgs } from '../scripts/photo-dataset.js';
import { startThrottleProxyProcess, type ThrottleProxyProcess } from './throttle-proxy.js';
import { ChunkCache, type Manifest } from '../src/index.js';
import { FolderSink, FsChunkStore, runCli } from '../src/node.js';
import { buildIdx, type ChunkCompression } from '../src/format/index.js';

export const MB = 1_000_000;
export const MiB = 1 << 20;

/** Exits the process (status 3) after `seconds`, whatever it is doing; children die with it. */
export function deadline(seconds: number, what: string): void {
  setTimeout(() => {
    console.error(`${what}: still running after ${seconds} s; giving up (raise --max-seconds)`);
    process.exit(3);
  }, seconds * 1000).unref();
}

export const FMNIST_FULL = '/usr/share/datasets/fashion-mnist';
export const FMNIST_SUBSET = 'data/fashion-mnist-subset';

export interface BenchDataset {
  /** Folder holding edgelake.json, versions/, chunks/. */
  root: string;
  /** For the report: which data, how chunked. */
  description: string;
  versionId: string;
  manifest: Manifest;
}

/**
 * Fashion-MNIST as an edgelake dataset (image + label, train and test splits), built with
 * buildIdx from the Debian package's files when installed, else from the bundled subset.
 * Built once per (data, chunk size, compression) under os.tmpdir()/edgelake-bench-fmnist/.
 */
export async function fashionMnist(options: { chunkKiB: number; compression: ChunkCompression; data?: 'auto' | 'full' | 'subset'; embeddingDims?: number }): Promise<BenchDataset> {
  const wantFull = options.data === 'full' || (options.data !== 'subset' && existsSync(join(FMNIST_FULL, 'train-images-idx3-ubyte.gz')));
  const dir = wantFull ? FMNIST_FULL : FMNIST_SUBSET;
  const label = wantFull ? 'full' : 'subset';
  const probe = options.embeddingDims ? `-pca${options.embeddingDims}` : '';
  const root = join(tmpdir(), 'edgelake-bench-fmnist', `${label}-${options.chunkKiB}k-${options.compression}${probe}`);
  if (!existsSync(join(root, 'edgelake.json'))) {
    const building = `${root}.${process.pid}.tmp`;
    rmSync(building, { recursive: true, force: true });
    const file = (name: string) => readFileSync(join(dir, name));
    await buildIdx(new FolderSink(building), {
      train: { images: file('train-images-idx3-ubyte.gz'), labels: file('train-labels-idx1-ubyte.gz') },
      test: { images: file('t10k-images-idx3-ubyte.gz'), labels: file('t10k-labels-idx1-ubyte.gz') },
      name: `fashion-mnist-${label}`,
      classNames: ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
      chunkBytes: options.chunkKiB * 1024,
      chunkCompression: options.compression,
      embeddingDims: options.embeddingDims,
      created: '2017-08-25T00:00:00Z',
    });
    rmSync(root, { recursive: true, force: true });
    renameSync(building, root);
  }
  const refs = JSON.parse(readFileSync(join(root, 'edgelake.json'), 'utf8')) as { head: string; refs: Record<string, string> };
  const versionId = refs.refs[refs.head]!;
  const manifest = JSON.parse(readFileSync(join(root, 'versions', `${versionId}.json`), 'utf8')) as Manifest;
  const image = manifest.tensors.image!;
  const stored = image.chunks.reduce((a, c) => a + c.bytes, 0);
  const description = `Fashion-MNIST ${label} (${manifest.length} samples; image: ${image.chunks.length} chunks of ~${options.chunkKiB} KiB raw, ` +
    `${options.compression}, ${(stored / MB).toFixed(1)} MB stored${options.embeddingDims ? `; int8 PCA probe of ${options.embeddingDims} dims` : ''})`;
  return { root, description, versionId, manifest };
}

/**
 * The labelled photo set (scripts/photo-dataset.ts: 2,100 JPEGs of any size, label, thumbnail
 * probe), built once per recipe under os.tmpdir()/edgelake-bench-photos-<scripts hash>/; returns the dataset's folder.
 */
export async function photoDataset(): Promise<string> {
  // Named by the scripts that make it: a changed recipe builds a new set rather than reusing the old one.
  const recipe = createHash('sha256');
  for (const script of ['photo-dataset.ts', 'photo-dataset-render.ts']) recipe.update(readFileSync(fileURLToPath(new URL(`../scripts/${script}`, import.meta.url))));
  const home = join(tmpdir(), `edgelake-bench-photos-${recipe.digest('hex').slice(0, 12)}`);
  if (!existsSync(join(home, 'images'))) {
    const building = `${home}.building`;
    await buildPhotoDataset(building);
    rmSync(home, { recursive: true, force: true });
    renameSync(building, home);
  }
  // The dataset is built again from the images whenever the code that writes datasets changed.
  const writer = createHash('sha256');
  const format = fileURLToPath(new URL('../src/format/', import.meta.url));
  for (const file of ['chunk.ts', 'header-index.ts', ...readdirSync(join(format, 'builders')).sort().map((f) => `builders/${f}`)]) writer.update(readFileSync(join(format, file)));
  const [stamp, writerId] = [join(home, 'dataset.writer'), writer.digest('hex')];
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== writerId || !existsSync(join(home, 'dataset', 'edgelake.json'))) {
    rmSync(join(home, 'dataset'), { recursive: true, force: true });
    if ((await runCli(buildPhotoDatasetArgs(home))) !== 0) throw new Error('building the photo dataset failed');
    writeFileSync(stamp, writerId);
  }
  return join(home, 'dataset');
}

/** Stored bytes of the chunks that hold samples [start, end) of each tensor. */
export function chunksFor(manifest: Manifest, tensors: string[], ranges: [number, number][]): { tensor: string; index: number; hash: string; bytes: number }[] {
  const out: { tensor: string; index: number; hash: string; bytes: number }[] = [];
  for (const tensor of tensors) {
    let first = 0;
    manifest.tensors[tensor]!.chunks.forEach((c, index) => {
      const last = first + c.samples;
      if (ranges.some(([s, e]) => s < last && e > first)) out.push({ tensor, index, hash: c.hash, bytes: c.bytes });
      first = last;
    });
  }
  return out;
}

/** nginx for benchmarks: the tests' starter, no access log, ending by itself after `maxSeconds`. */
export function startNginxBounded(root: string, maxSeconds: number) {
  return startNginx(root, { maxSeconds, accessLog: false });
}

export interface Link {
  /** The dataset root as the loader sees it: through the throttle proxy. */
  url: string;
  /** nginx itself, no throttling. */
  originUrl: string;
  proxy: ThrottleProxyProcess;
  latencyMs: number;
  bytesPerSecond: number;
  stop(): Promise<void>;
}

/**
 * Resolves once the link has carried no body bytes for `quietMs` and no response is in flight:
 * what a run leaves behind (prefetches still running after close) must not slow the next one.
 * Returns the body bytes that went over the link meanwhile.
 */
export async function waitIdle(link: Link, quietMs = 150, timeoutMs = 60_000): Promise<number> {
  const start = (await link.proxy.stats()).responseBytes;
  let last = start;
  let quietSince = performance.now();
  for (const t0 = performance.now(); performance.now() - t0 < timeoutMs;) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    const s = await link.proxy.stats();
    if (s.responseBytes !== last || s.activeResponses > 0) {
      last = s.responseBytes;
      quietSince = performance.now();
    } else if (performance.now() - quietSince >= quietMs) {
      return last - start;
    }
  }
  throw new Error(`the link was still busy after ${timeoutMs} ms`);
}

/** nginx serving `root`, behind the throttle proxy (in its own process). */
export async function startLink(root: string, options: { latencyMs: number; bytesPerSecond: number; maxSeconds: number }): Promise<Link> {
  const nginx = await startNginxBounded(root, options.maxSeconds);
  try {
    const proxy = await startThrottleProxyProcess({
      target: nginx.url, latencyMs: options.latencyMs, bytesPerSecond: options.bytesPerSecond, maxLifetimeMs: options.maxSeconds * 1000,
    });
    return {
      url: proxy.url, originUrl: nginx.url, proxy, latencyMs: options.latencyMs, bytesPerSecond: options.bytesPerSecond,
      async stop() {
        await proxy.stop();
        await nginx.stop();
      },
    };
  } catch (e) {
    await nginx.stop();
    throw e;
  }
}

/** A ChunkCache over an FsChunkStore in a fresh temp folder, removed by close(). */
export async function tempCache(budgetBytes: number): Promise<{ cache: ChunkCache; dir: string; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'edgelake-bench-cache-'));
  const store = await FsChunkStore.open(dir);
  return {
    cache: new ChunkCache(store, { budgetBytes }),
    dir,
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs `f` over `items` with at most `concurrency` in flight. */
export async function inParallel<T>(items: T[], concurrency: number, f: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) await f(items[next++]!);
  }));
}

/** The loader API the benchmarks use (src/runtime/loader.ts), structurally, for helpers. */
export interface LoaderStatsLike {
  samples: number;
  bytesFetched: number;
  chunksRead: number;
  cacheHits: number;
  cacheMisses: number;
  timeToFirstBatchMs: number | null;
}

export const fmt = (n: number, digits = 1) => n.toFixed(digits);
