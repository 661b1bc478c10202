import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasetLayout } from '../../../src/runtime/learn/layout.js';
import { costModel } from '../../../src/sampler/cost.js';
import { buildSubsetArgs, cli } from '../../support/cli.js';
import { ChunkCache, MemoryChunkStore } from '../../../src/index.js';
import { openDataset } from '../../../src/node.js';

// The subset twice: deflated 64 KiB chunks (fetched whole) and uncompressed ones (read by range).
const root = mkdtempSync(join(tmpdir(), 'edgelake-layout-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeAll(async () => {
  expect((await cli(...buildSubsetArgs(join(root, 'deflate'), '--chunk-kib', '64'))).code).toBe(0);
  expect((await cli(...buildSubsetArgs(join(root, 'none'), '--chunk-kib', '64', '--chunk-compression', 'none'))).code).toBe(0);
});

const open = (kind: string) => openDataset(join(root, kind), { cache: new ChunkCache(new MemoryChunkStore(), { budgetBytes: 2 ** 30 }) });

describe('datasetLayout', () => {
  it('places a sample in its chunk as the manifest counts them, and asks the cache', async () => {
    const ds = await open('deflate');
    const layout = datasetLayout(ds);
    const chunks = ds.tensor('image').chunks;
    // Sample id lies in chunk c where the samples of chunks 0..c-1 sum to at most id: counted by hand here.
    const id = chunks[0].samples + chunks[1].samples + 3;
    expect(layout.chunkOf('image', id)).toEqual({ index: 2, hash: chunks[2].hash, bytes: chunks[2].bytes });
    expect(layout.chunkOf('image', chunks[0].samples - 1).index).toBe(0);
    expect(layout.rangeBytes('image', 2)).toBeUndefined();
    expect(await layout.cached(chunks[2].hash)).toBe(false);
    await ds.view().get(id, ['image']);
    expect(await layout.cached(chunks[2].hash)).toBe(true);
  });

  it('prices an uncompressed sample as its own 784-byte range, so the cost model keys it by sample', async () => {
    const ds = await open('none');
    const layout = datasetLayout(ds);
    expect(layout.rangeBytes('image', 0)).toBe(28 * 28);
    const cost = await costModel(layout, ['image'], [4]);
    expect(cost.units(4)).toEqual([{ key: 'image/0#4', bytes: 784, cached: false }]);
  });
});
