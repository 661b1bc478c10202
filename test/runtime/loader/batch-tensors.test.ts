import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { openDataset } from '../../../src/node.js';
import { type Batch, batchArray, batchBuffer, type EdgelakeError, Loader } from '../../../src/index.js';
import { parseIdx } from '../../../src/format/index.js';
import { buildSubsetArgs, cli, SUBSET } from '../../support/cli.js';

const root = mkdtempSync(join(tmpdir(), 'edgelake-batch-tensors-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const errorOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e as EdgelakeError;
  }
  throw new Error('no error');
};

describe('batchArray and batchBuffer narrow a batch tensor with a check', () => {
  let first: Batch;
  beforeAll(async () => {
    expect((await cli(...buildSubsetArgs(join(root, 'ds')))).code).toBe(0);
    const ds = await openDataset(join(root, 'ds'));
    for await (const batch of new Loader(ds.view({ split: 'train' }), { batchSize: 32 })) {
      first = batch;
      break;
    }
  });

  it('gives the typed arrays the README promises: Uint8Array pixels and Int32Array labels, as in the IDX files', () => {
    const images = batchArray(first, 'image', Uint8Array);
    const labels = batchArray(first, 'label', Int32Array);
    expectTypeOf(images).toExtend<Uint8Array>();
    expectTypeOf(labels).toExtend<Int32Array>();
    const idx = (file: string) => parseIdx(readFileSync(join(SUBSET, file)), file).data;
    expect(images).toEqual(new Uint8Array(idx('train-images-idx3-ubyte.gz').subarray(0, 32 * 784)));
    expect([...labels]).toEqual([...idx('train-labels-idx1-ubyte.gz').subarray(0, 32)]);
  });

  it('names the tensor when it is another type, absent, a list of samples or not a GPUBuffer', () => {
    const wrongType = errorOf(() => batchArray(first, 'image', Float32Array));
    expect([wrongType.code, wrongType.message]).toEqual(['invalid-input', "batch tensor 'image' is a Uint8Array, not a Float32Array"]);
    expect(errorOf(() => batchArray(first, 'mask', Uint8Array)).message).toMatch(/'mask' is absent/);
    const ragged: Batch = { ids: new Uint32Array([0, 1]), tensors: { jpeg: [new Uint8Array(3), new Uint8Array(5)] } };
    expect(errorOf(() => batchArray(ragged, 'jpeg', Uint8Array)).message).toMatch(/'jpeg' is a list of 2 samples of different sizes/);
    expect(errorOf(() => batchBuffer(first, 'image')).message).toMatch(/'image' is a Uint8Array, not a GPUBuffer \(give the loader a device\)/);
  });

  it('gives a GPUBuffer back as one', () => {
    const buffer = { label: 'batch image', size: 4 } as unknown as GPUBuffer; // what a device loader yields; no device needed to narrow
    expect(batchBuffer({ ids: new Uint32Array(1), tensors: { image: buffer } }, 'image')).toBe(buffer);
    expect(errorOf(() => batchArray({ ids: new Uint32Array(1), tensors: { image: buffer } }, 'image', Float32Array)).message).toMatch(/a GPUBuffer \(the loader has a device\)/);
  });
});
