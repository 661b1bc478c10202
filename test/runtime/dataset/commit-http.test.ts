// A dataset served over HTTP: a warm cache of the parent streams the child fetching only what
// changed, and two committers racing over conditional PUTs get one version and one conflict.
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveStatic, type ServedRequest } from '../../../demo/web/serve.js';
import { buildSubsetArgs, cli } from '../../support/cli.js';
import { readDataset } from '../../spec-reader/reader.js';
import { ChunkCache, isEdgelakeError, Loader, MemoryChunkStore, openSink, type Dataset } from '../../../src/index.js';
import { openDataset } from '../../../src/node.js';

const root = mkdtempSync(join(tmpdir(), 'edgelake-commit-http-'));
const served: ServedRequest[] = [];
let server: Server;
let url: string;
beforeAll(async () => {
  server = serveStatic({ '/ds': join(root, 'ds') }, (r) => served.push(r), ['/ds/']);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ds/`;
  expect((await cli(...buildSubsetArgs(join(root, 'ds'), '--chunk-kib', '64', '--embedding-dims', '8'))).code).toBe(0);
}, 60_000);
afterAll(() => {
  server?.closeAllConnections();
  server?.close();
  rmSync(root, { recursive: true, force: true });
});

/** Reads every sample of every tensor once. */
async function readAll(dataset: Dataset): Promise<number> {
  let samples = 0;
  for await (const batch of new Loader(dataset.view(), { batchSize: 1000, workers: 0 })) samples += batch.ids.length;
  return samples;
}
const gets = () => served.filter((r) => r.method === 'GET').map((r) => r.path.slice('/ds/'.length));

describe('a child version over HTTP', () => {
  it('streams from a warm cache of its parent, fetching only the changed chunks, refs and its manifest', async () => {
    const cache = new ChunkCache(new MemoryChunkStore(), { budgetBytes: 2 ** 30 });
    const parent = await openDataset(url, { cache });
    expect(await readAll(parent)).toBe(6000);

    const committed = await parent.commit(openSink(url), {
      update: { image: { ids: [10, 4000], values: new Uint8Array(2 * 784).fill(200) }, label: { ids: [10], values: Int32Array.of(3) } },
    });
    served.length = 0;
    const child = await openDataset(url, { cache });
    expect(child.version).toBe(committed.versionId);
    expect(await readAll(child)).toBe(6000);

    const changed = Object.entries(child.tensors).flatMap(([name, t]) => t.chunks.filter((c, i) => c.hash !== parent.tensors[name].chunks[i].hash).map((c) => `chunks/${c.hash.slice(0, 2)}/${c.hash}`));
    expect(changed.length).toBe(3); // two image chunks, the one label chunk
    expect(gets().sort()).toEqual(['edgelake.json', `versions/${committed.versionId}.json`, ...changed].sort());
    expect(child.network.requests).toBe(2 + changed.length);
    expect((await child.view().get(4000, ['image'])).image).toEqual(new Uint8Array(784).fill(200));
  });

  it('two committers on one version: one lands, the other gets a conflict, nothing is lost', async () => {
    const [a, b] = [await openDataset(url), await openDataset(url)];
    const results = await Promise.allSettled([
      a.commit(openSink(url), { update: { label: { ids: [1], values: Int32Array.of(7) } } }),
      b.commit(openSink(url), { update: { label: { ids: [2], values: Int32Array.of(8) } } }),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect([won.length, lost.length]).toEqual([1, 1]);
    expect(isEdgelakeError(lost[0].reason, 'conflict'), String(lost[0].reason)).toBe(true);
    expect(served.some((r) => r.method === 'PUT' && r.path === '/ds/edgelake.json' && r.status === 412)).toBe(true);
    // The loser opens the version that won and commits again: both changes are there.
    const [loserId, loserLabel] = results[0].status === 'rejected' ? [1, 7] : [2, 8];
    await (await openDataset(url)).commit(openSink(url), { update: { label: { ids: [loserId], values: Int32Array.of(loserLabel) } } });
    const spec = readDataset(join(root, 'ds'));
    spec.verifyAll();
    const labels = new Int32Array(spec.readTensorBytes('label').slice().buffer);
    expect([labels[1], labels[2]]).toEqual([7, 8]);
  });
});
