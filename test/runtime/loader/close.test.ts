import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileSource, nodeWorkerPool, openDataset } from '../../../src/node.js';
import { inlinePool } from '../../../src/runtime/loader/workers/pool.js';
import { buildSubsetArgs, cli } from '../../support/cli.js';
import { type DecodePool, Loader, type LoaderOptions, type Source, withConcurrency } from '../../../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'edgelake-close-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const options: LoaderOptions = { batchSize: 64, tensors: ['image', 'label'] };

describe('a Loader stopped by close() or its signal, or dropped', () => {
  let dir: string;
  beforeAll(async () => {
    dir = join(root, 'subset');
    expect((await cli(...buildSubsetArgs(dir, '--chunk-kib', '32'))).code).toBe(0);
  });

  /** The subset over a link where each chunk read takes `ms` unless aborted; `served` counts those that completed. */
  const slowly = async (ms: number) => {
    const files = new FileSource(dir);
    const link = { served: 0 };
    const slow: Source = {
      location: files.location,
      read: async (path, o) => {
        if (!path.startsWith('chunks/')) return files.read(path, o);
        await new Promise((resolve, reject) => {
          const timer = setTimeout(resolve, ms);
          o?.signal?.addEventListener('abort', () => (clearTimeout(timer), reject(o.signal!.reason)), { once: true });
        });
        link.served++;
        return files.read(path, o);
      },
      readRange: (path, offset, length, o) => files.read(path, o).then((b) => b.subarray(offset, offset + length)),
    };
    return { ds: await openDataset(withConcurrency(slow, 2)), link };
  };

  /** The subset, with each worker pool a loader makes counted when made and when closed. */
  const counted = async () => {
    const pools = { made: 0, closed: 0 };
    const createPool = (size: number) => {
      const pool = nodeWorkerPool(size);
      const close = pool.close.bind(pool);
      pools.made++;
      pool.close = () => (pools.closed++, close());
      return pool;
    };
    return { ds: await openDataset(dir, { createPool }), pools };
  };

  for (const how of ['close()', 'its signal'] as const) {
    it(`stopped by ${how} while next() awaits a batch, it answers done at once and aborts the reads in flight`, async () => {
      const { ds, link } = await slowly(1000);
      const stop = new AbortController();
      const loader = new Loader(ds.view({ split: 'train' }), { ...options, signal: stop.signal });
      const it = loader[Symbol.asyncIterator]();
      const next = it.next();
      await sleep(100);
      const started = performance.now();
      if (how === 'close()') await loader.close();
      else stop.abort();
      expect(await next).toEqual({ done: true, value: undefined });
      expect(performance.now() - started).toBeLessThan(800); // the read it awaited had 900 ms to go
      await sleep(1200);
      expect(link.served).toBe(0); // every read was aborted before it completed
    });
  }

  it('close() on an iterator left after one batch (a peek) stops its prefetch at once', async () => {
    const { ds, link } = await slowly(20);
    const loader = new Loader(ds.view({ split: 'train' }), options);
    const it = loader[Symbol.asyncIterator]();
    expect((await it.next()).done).toBe(false);
    await loader.close();
    const atClose = link.served;
    await sleep(300);
    expect(link.served - atClose).toBe(0);
    expect(atClose).toBeLessThan(ds.tensor('image').chunks.length);
    expect((await it.next()).done).toBe(true); // resumed, it ends; its teardown runs again, harmlessly
  });

  it('close() on a peeked iterator terminates the workers the loader made, not a pool it was given', async () => {
    const { ds, pools } = await counted();
    const loader = new Loader(ds.view({ split: 'train' }), { ...options, workers: 2 });
    await loader[Symbol.asyncIterator]().next();
    expect(pools).toEqual({ made: 1, closed: 0 });
    await loader.close();
    expect(pools).toEqual({ made: 1, closed: 1 });

    let given = 0;
    const pool: DecodePool = { ...inlinePool(), close: async () => void given++ };
    const sharing = new Loader(ds.view({ split: 'train' }), { ...options, pool });
    await sharing[Symbol.asyncIterator]().next();
    await sharing.close();
    expect(given).toBe(0);
  });

  it('an iterator dropped unfinished, without close(), has its workers terminated once it is collected', async () => {
    const { ds, pools } = await counted();
    await (async () => {
      const it = new Loader(ds.view({ split: 'train' }), { ...options, workers: 2 })[Symbol.asyncIterator]();
      expect((await it.next()).done).toBe(false);
    })();
    for (let i = 0; i < 100 && pools.closed === 0; i++) {
      gc();
      await sleep(20);
    }
    expect(pools).toEqual({ made: 1, closed: 1 });
  });

  it.skipIf(process.platform !== 'linux')('loops shorter than their workers take to load leave no file open (Node leaks those of a worker terminated mid-load)', async () => {
    const ds = await openDataset(dir);
    const short = async (ms: number) => {
      const loader = new Loader(ds.view({ split: 'train' }), { ...options, workers: 2 });
      for await (const _ of loader) {
        await sleep(ms);
        break;
      }
      await loader.close(); // resolves once its workers are terminated
    };
    await short(0); // files opened once for good (module caches) are opened now
    const before = readdirSync('/proc/self/fd').length;
    for (const ms of [100, 200, 300, 400, 600, 800]) await short(ms);
    expect(readdirSync('/proc/self/fd').length - before).toBeLessThan(3);
  });
});
