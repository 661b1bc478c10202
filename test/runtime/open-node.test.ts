// openDataset(root, { cacheDir }): the one-liner of MosaicML's StreamingDataset(remote, local).
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { serveStatic } from '../../demo/web/serve.js';
import { buildSubsetArgs, cli } from '../support/cli.js';
import { Loader } from '../../src/index.js';
import { openDataset } from '../../src/node.js';

const root = mkdtempSync(join(tmpdir(), 'edgelake-cachedir-'));
let server: Server;
let url: string;
beforeAll(async () => {
  expect((await cli(...buildSubsetArgs(join(root, 'ds'), '--chunk-kib', '64'))).code).toBe(0);
  server = serveStatic({ '/ds': join(root, 'ds') });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ds/`;
}, 60_000);
afterAll(() => {
  server?.closeAllConnections();
  server?.close();
  rmSync(root, { recursive: true, force: true });
});

it('a cache folder by name: the first epoch fills it, a later process (here: a second open) reads every chunk from it', async () => {
  const epoch = async () => {
    const ds = await openDataset(url, { cacheDir: join(root, 'cache') });
    let n = 0;
    for await (const b of new Loader(ds.view({ split: 'train' }), { batchSize: 1000, tensors: ['image', 'label'] })) n += b.ids.length;
    return { n, fetched: ds.network.bytes, cache: ds.cache! };
  };
  const cold = await epoch();
  const warm = await epoch();
  expect(warm.n).toBe(cold.n);
  expect(cold.cache.budgetBytes).toBe(4 * 2 ** 30);
  expect(cold.fetched).toBeGreaterThan(1e6);
  expect(warm.fetched).toBeLessThan(2000); // edgelake.json (revalidated) and nothing else
});
