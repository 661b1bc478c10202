import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { readDataset } from '../spec-reader/reader.js';
import { FASHION_MNIST_DIR, missing } from '../support/system.js';
import { FolderSink } from '../../src/node.js';
import { buildIdx } from '../../src/format/index.js';

const file = (name: string) => join(FASHION_MNIST_DIR, name);
const available = existsSync(file('train-images-idx3-ubyte.gz'));
const out = mkdtempSync(join(tmpdir(), 'edgelake-fmnist-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const build = (dir: string) => buildIdx(new FolderSink(dir), {
  train: { images: readFileSync(file('train-images-idx3-ubyte.gz')), labels: readFileSync(file('train-labels-idx1-ubyte.gz')) },
  test: { images: readFileSync(file('t10k-images-idx3-ubyte.gz')), labels: readFileSync(file('t10k-labels-idx1-ubyte.gz')) },
  name: 'fashion-mnist', embeddingDims: 32, created: '2017-08-25T00:00:00Z',
});

describe.skipIf(missing('the Fashion-MNIST dataset', 'apt-get install dataset-fashion-mnist', available))('the full Fashion-MNIST, built from IDX', () => {
  it('reads back byte-identical through a reader written only from FORMAT.md, every hash verified', async () => {
    const { versionId } = await build(join(out, 'a'));
    const ds = readDataset(join(out, 'a'));
    expect(ds.versionId).toBe(versionId);
    expect(ds.manifest.length).toBe(70_000);
    expect(ds.manifest.splits).toEqual({ train: [[0, 60_000]], test: [[60_000, 70_000]] });
    ds.verifyAll();

    // IDX: images have a 16-byte header, labels an 8-byte one, then raw uint8.
    const idx = (name: string, header: number) => gunzipSync(readFileSync(file(name))).subarray(header);
    const images = Buffer.concat([idx('train-images-idx3-ubyte.gz', 16), idx('t10k-images-idx3-ubyte.gz', 16)]);
    const labels = Buffer.concat([idx('train-labels-idx1-ubyte.gz', 8), idx('t10k-labels-idx1-ubyte.gz', 8)]);
    expect(Buffer.compare(Buffer.from(ds.readTensorBytes('image')), images)).toBe(0);
    const stored = ds.readTensorBytes('label');
    const asInt32 = new Int32Array(stored.buffer, stored.byteOffset, stored.length / 4);
    expect(Buffer.from(Uint8Array.from(asInt32))).toEqual(labels);
    expect(ds.tensor('embedding').info.shape).toEqual([32]);
  });

  it('a rebuild into a fresh folder gives the same version id', async () => {
    const [a, b] = [await build(join(out, 'b')), readDataset(join(out, 'a')).versionId];
    expect(a.versionId).toBe(b);
  });
});
