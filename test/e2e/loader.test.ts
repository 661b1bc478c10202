import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsChunkStore, nodeWorkerPool, openDataset, openTransportNode } from '../../src/node.js';
import { buildSubsetArgs, cli, SUBSET } from '../support/cli.js';
import { hasCommand, missing } from '../support/system.js';
import { startNginx } from './servers.js';
import { ChunkCache, Loader, type OpenSourceOptions, type Source } from '../../src/index.js';
import { parseIdx } from '../../src/format/index.js';

const root = mkdtempSync(join(tmpdir(), 'edgelake-e2e-loader-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const idx = (file: string) => parseIdx(readFileSync(join(SUBSET, file)), file).data;
const images = Buffer.concat([idx('train-images-idx3-ubyte.gz'), idx('t10k-images-idx3-ubyte.gz')]);

describe.skipIf(missing('nginx', 'apt-get install nginx', hasCommand('nginx')))('the loader streaming from nginx on 127.0.0.1', () => {
  let nginx: Awaited<ReturnType<typeof startNginx>>;
  beforeAll(async () => {
    expect((await cli(...buildSubsetArgs(join(root, 'www'), '--chunk-kib', '64', '--embedding-dims', '8'))).code).toBe(0);
    nginx = await startNginx(join(root, 'www'));
  }, 60_000);
  afterAll(async () => nginx?.stop());

  it('an epoch over HTTP, decoded on worker threads, is exact; an interrupted one resumes exactly', async () => {
    const cache = new ChunkCache(await FsChunkStore.open(join(root, 'cache')), { budgetBytes: 1 << 20 });
    const ds = await openDataset(nginx.url, { cache });
    const options = { batchSize: 128, tensors: ['image', 'label'], shuffle: { seed: 42, windowChunks: 2 }, workers: 2 };
    const seen: number[] = [];
    const first = new Loader(ds.view({ split: 'train' }), options);
    for await (const b of first) {
      b.ids.forEach((id, k) => expect(Buffer.compare((b.tensors.image as Uint8Array).subarray(k * 784, (k + 1) * 784), images.subarray(id * 784, (id + 1) * 784))).toBe(0));
      seen.push(...b.ids);
      if (seen.length >= 2048) break;
    }
    // A new process would reopen everything; the state is plain JSON.
    const state = JSON.stringify(first.state());
    const again = await openDataset(nginx.url, { cache });
    const rest = new Loader(again.view({ split: 'train' }), { ...options, resume: JSON.parse(state) });
    for await (const b of rest) seen.push(...b.ids);
    expect(seen).toHaveLength(5000);
    expect(new Set(seen).size).toBe(5000);
    expect(first.stats().bytesFetched).toBeGreaterThan(0);
    await cache.store.close();
  });

  it('with workers, the chunks after the first window are fetched on the worker threads, and still enter the cache', async () => {
    const cache = new ChunkCache(await FsChunkStore.open(join(root, 'worker-fetch-cache')), { budgetBytes: 64 << 20 });
    // Counts the chunk reads made through this thread's transport (openTransport opens only this thread's).
    const here: string[] = [];
    const openTransport = (location: string, options: OpenSourceOptions): Source => {
      const source = openTransportNode(location, options);
      return { ...source, read: (path, o) => (path.startsWith('chunks/') && here.push(path), source.read(path, o)) };
    };
    const ds = await openDataset(nginx.url, { cache, openTransport });
    // Workers that have loaded (until they answer, the loader reads the next window here too).
    const pool = nodeWorkerPool(2);
    await pool.ready!();
    const loader = new Loader(ds.view({ split: 'train' }), { batchSize: 256, tensors: ['image', 'label'], shuffle: { seed: 3, windowChunks: 2 }, pool });
    let samples = 0;
    for await (const b of loader) {
      b.ids.forEach((id, k) => expect(Buffer.compare((b.tensors.image as Uint8Array).subarray(k * 784, (k + 1) * 784), images.subarray(id * 784, (id + 1) * 784))).toBe(0));
      samples += b.ids.length;
    }
    await pool.close();
    expect(samples).toBe(5000);
    const { chunksRead, cacheMisses, bytesFetched } = loader.stats();
    // The first window (2 image chunks and the label chunk) on this thread, every other chunk in a worker.
    expect(here).toHaveLength(3);
    expect(chunksRead).toBeGreaterThan(10);
    expect(cacheMisses).toBe(chunksRead);
    // Bytes are counted on both paths: every chunk holding a train sample, once.
    const [lo, hi] = ds.splits.train[0];
    let wanted = 0;
    for (const t of ['image', 'label']) {
      let start = 0;
      for (const c of ds.tensor(t).chunks) {
        if (start < hi && start + c.samples > lo) wanted += c.bytes;
        start += c.samples;
      }
    }
    expect(bytesFetched).toBe(wanted);
    const warm = new Loader((await openDataset(nginx.url, { cache })).view({ split: 'train' }), { batchSize: 256, tensors: ['image', 'label'], workers: 2 });
    for await (const _ of warm);
    expect(warm.stats()).toMatchObject({ cacheHitRatio: 1, bytesFetched: 0, samples: 5000 });
    await cache.store.close();
  });

  it('edgelake stream shows progress and reports samples/s, bytes, hit ratio and time to first batch', async () => {
    const cold = await cli('stream', nginx.url, '--split', 'test', '--cache', join(root, 'cli-cache'), '--seed', '1', '--json');
    expect(cold.code).toBe(0);
    expect(cold.stderr).toMatch(/streaming 100% 1000\/1000\s+\d+ samples\/s, .* fetched, cache hits 0%, first batch after \d+ ms/);
    const stats = JSON.parse(cold.stdout);
    expect(stats).toMatchObject({ samples: 1000, cacheHitRatio: 0 });
    expect(stats.bytesFetched).toBeGreaterThan(100_000);
    const warm = JSON.parse((await cli('stream', nginx.url, '--split', 'test', '--cache', join(root, 'cli-cache'), '--json')).stdout);
    expect(warm).toMatchObject({ samples: 1000, cacheHitRatio: 1 });
  });
});
