import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChunkCache, HttpSource, Loader, MemoryChunkStore, remoteChain, type Batch, type Dataset } from '../../src/index.js';
import { chunkPath, parseIdx } from '../../src/format/index.js';
import { openDataset } from '../../src/node.js';
import { buildSubsetArgs, cli, SUBSET } from '../support/cli.js';
import { FAULTS, startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { hasCommand, missing } from '../support/system.js';
import { startNginx } from './servers.js';

const root = mkdtempSync(join(tmpdir(), 'edgelake-e2e-faults-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const idx = (file: string) => parseIdx(readFileSync(join(SUBSET, file)), file).data;
const images = Buffer.concat([idx('train-images-idx3-ubyte.gz'), idx('t10k-images-idx3-ubyte.gz')]);
const labels = Buffer.concat([idx('train-labels-idx1-ubyte.gz'), idx('t10k-labels-idx1-ubyte.gz')]);

/** Samples of a batch that differ from the IDX files. */
function wrongSamples(b: Batch): number {
  const image = b.tensors.image as Uint8Array;
  const label = b.tensors.label as Int32Array;
  let wrong = 0;
  b.ids.forEach((id, k) => {
    if (Buffer.compare(image.subarray(k * 784, (k + 1) * 784), images.subarray(id * 784, (id + 1) * 784)) !== 0 || label[k] !== labels[id]) wrong++;
  });
  return wrong;
}

// A client that gives up on a silent body after 1 s, and backs off briefly: the faults, not the waits, are under test.
const flaky = { http: { timeoutMs: 1000 }, retry: { baseDelayMs: 10, maxDelayMs: 200 } };

describe.skipIf(missing('nginx', 'apt-get install nginx', hasCommand('nginx')))('streaming through a link that damages one response in five', () => {
  let nginx: Awaited<ReturnType<typeof startNginx>>;
  let proxy: FaultProxy;
  beforeAll(async () => {
    expect((await cli(...buildSubsetArgs(join(root, 'www'), '--chunk-kib', '64', '--embedding-dims', '8'))).code).toBe(0);
    // Uncompressed chunks: View.get reads a chunk's header and one sample by range.
    expect((await cli(...buildSubsetArgs(join(root, 'www', 'flat'), '--chunk-kib', '64', '--chunk-compression', 'none'))).code).toBe(0);
    nginx = await startNginx(join(root, 'www'), { accessLog: false });
    proxy = await startFaultProxy({ target: nginx.url, rate: 0.2, seed: 16, retryAfterSeconds: 0, stallMs: 1500 });
  }, 60_000);
  afterAll(async () => {
    await proxy?.stop();
    await nginx?.stop();
  });

  it.each([
    { seed: 1, workers: 0 },
    { seed: 2, workers: 2 },
    { seed: 3, workers: 1 },
  ])('epoch $seed ($workers workers) completes with every sample right; damaged transfers are fetched again and counted', async ({ seed, workers }) => {
    const ds: Dataset = await openDataset(proxy.url, { ...flaky, cache: new ChunkCache(new MemoryChunkStore(), { budgetBytes: 64 << 20 }) });
    const loader = new Loader(ds.view({ split: 'train' }), { batchSize: 256, tensors: ['image', 'label'], shuffle: { seed, windowChunks: 4 }, workers });
    let samples = 0;
    let wrong = 0;
    for await (const b of loader) {
      samples += b.ids.length;
      wrong += wrongSamples(b);
    }
    expect({ samples, wrong }).toEqual({ samples: 5000, wrong: 0 });
    const stats = loader.stats();
    expect(stats.retries).toBeGreaterThan(0);
    expect(stats.retries).toBeGreaterThanOrEqual(stats.refetched);
    console.info(`epoch ${seed}, ${workers} workers: ${stats.chunksRead} chunks, ${stats.retries} retries, ${stats.refetched} fetched again after a damaged transfer`);
  }, 120_000);

  it('random access by range reads (chunk headers, single samples) returns exact samples through the same faults', async () => {
    const ds = await openDataset(`${proxy.url}/flat`, flaky);
    const view = ds.view({ split: 'train' });
    const picks = Array.from({ length: 200 }, (_, k) => (k * 2654435761) % view.length);
    const wrong = await Promise.all(picks.map(async (i) => {
      const id = view.ids[i];
      const sample = await view.get(i, ['image', 'label']);
      return Buffer.compare(sample.image as Uint8Array, images.subarray(id * 784, (id + 1) * 784)) !== 0 || (sample.label as Int32Array)[0] !== labels[id];
    }));
    expect(wrong.filter(Boolean)).toEqual([]);
    expect(ds.network.retries).toBeGreaterThan(0);
  }, 120_000);

  it('every kind of fault was injected, and damaged bodies were among the retries', async () => {
    const { requests, faults } = proxy.stats();
    for (const kind of FAULTS) expect(faults[kind], kind).toBeGreaterThan(0);
    console.info(`fault proxy: ${requests} requests, faults ${JSON.stringify(faults)}`);
  });

  it('a chunk damaged on the server itself (every attempt) is still an integrity error, named, after the bounded retries', async () => {
    const ds = await openDataset(proxy.url, flaky);
    const path = chunkPath(ds.tensor('image').chunks[0].hash);
    const broken = await startFaultProxy({ target: nginx.url, rate: 1, seed: 5, kinds: ['flip'] });
    try {
      const remote = remoteChain(new HttpSource(broken.url), { retry: { baseDelayMs: 1, retries: 3 } });
      await expect(remote.read(path)).rejects.toMatchObject({
        code: 'integrity', message: expect.stringMatching(new RegExp(`${path}: the bytes do not match the SHA-256 .*the same in every one of 4 attempts`)),
      });
      expect(broken.stats().faults.flip).toBe(4);
    } finally {
      await broken.stop();
    }
  });
});
