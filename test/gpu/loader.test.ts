import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { bufferPool, readBuffer, sizeClass } from '../../src/kernels/index.js';
import { openDataset } from '../../src/node.js';
import { buildSubsetArgs, cli, SUBSET } from '../support/cli.js';
import { gpuDescribe } from './gpu.js';
import { type Batch, type Dataset, type FitTransform, Loader, type LoaderOptions } from '../../src/index.js';
import { parseIdx } from '../../src/format/index.js';
import { jpegFolder, pngFolder } from '../support/image-folder.js';
import { noTools } from '../format/image/jpeg/tools.js';

const root = mkdtempSync(join(tmpdir(), 'edgelake-gpu-loader-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const idx = (file: string) => parseIdx(readFileSync(join(SUBSET, file)), file).data;
const images = Buffer.concat([idx('train-images-idx3-ubyte.gz'), idx('t10k-images-idx3-ubyte.gz')]);

gpuDescribe('the loader with a GPU device', ({ device }) => {
  beforeAll(async () => {
    expect((await cli(...buildSubsetArgs(join(root, 'ds'), '--chunk-kib', '64', '--embedding-dims', '8'))).code).toBe(0);
  });

  /** Every batch of the test split, with GPU tensors read back to typed arrays. */
  async function batches(options: Omit<LoaderOptions, 'batchSize'>) {
    const ds = await openDataset(join(root, 'ds'));
    const out: { ids: Uint32Array; tensors: Record<string, Float32Array | Int32Array | Int8Array | Uint8Array> }[] = [];
    for await (const b of new Loader(ds.view({ split: 'test' }), { batchSize: 96, tensors: ['image', 'label', 'embedding'], ...options })) {
      out.push({ ids: b.ids, tensors: await readBack(b, !!options.device, options.transform ?? {}) });
    }
    bufferPool(device).trim(0);
    return out;
  }
  async function readBack(b: Batch, onGpu: boolean, transform: object) {
    const n = b.ids.length;
    if (!onGpu) return b.tensors as Record<string, Float32Array>;
    const read = async (name: string, bytes: number) => new Uint8Array(await readBuffer(device, b.tensors[name] as GPUBuffer, bytes));
    const embedding = await read('embedding', n * 8 * ('embedding' in transform ? 4 : 1));
    return {
      image: new Float32Array((await read('image', n * 784 * 4)).buffer),
      label: new Int32Array((await read('label', n * 4)).buffer),
      embedding: 'embedding' in transform ? new Float32Array(embedding.buffer) : new Int8Array(embedding.buffer),
    };
  }

  const transform = { image: { scale: 1 / 255, mean: [0.286], std: [0.353], toCHW: true }, embedding: {} };

  test('batches are GPU buffers equal to what the CPU path computes, for the same seed', async () => {
    const options = { shuffle: { seed: 9 }, transform };
    const [onGpu, onCpu] = [await batches({ ...options, device }), await batches(options)];
    expect(onGpu.length).toBe(Math.ceil(1000 / 96));
    onGpu.forEach((g, i) => {
      expect(g.ids).toEqual(onCpu[i].ids);
      expect(g.tensors.image).toEqual(onCpu[i].tensors.image);
      expect(g.tensors.label).toEqual(onCpu[i].tensors.label);
      expect(g.tensors.embedding).toEqual(onCpu[i].tensors.embedding); // dequantized int8
    });
  });

  test('with augmentation off, the batch equals the source bytes scaled exactly', async () => {
    const scale = Math.fround(1 / 255);
    for (const b of await batches({ device, transform: { image: { scale: 1 / 255 } } })) {
      const image = b.tensors.image as Float32Array;
      b.ids.forEach((id, k) => {
        for (let p = 0; p < 784; p++) if (image[k * 784 + p] !== Math.fround(images[id * 784 + p] * scale)) throw new Error(`sample ${id} pixel ${p}`);
      });
    }
  });

  test('with augmentation on, the GPU loader and the CPU loader give the same batch for the same seed', async () => {
    const augment = [
      { op: 'randomResizedCrop', size: [24, 24], scale: [0.5, 1] }, { op: 'flip', p: 0.5 }, { op: 'rotate', degrees: [-10, 10] },
      { op: 'colorJitter', brightness: 0.3, contrast: 0.3 }, { op: 'noise', std: 0.05 }, { op: 'cutout', p: 0.5 }, { op: 'mixup', alpha: 0.4 },
    ] as const;
    const options = { shuffle: { seed: 21 }, epoch: 3, tensors: ['image', 'label'], transform: { image: { scale: 1 / 255, mean: [0.286], std: [0.353], augment: [...augment] } } };
    const read = async (onGpu: boolean) => {
      const ds = await openDataset(join(root, 'ds'));
      const out: [Uint32Array, Float32Array, Float32Array][] = [];
      for await (const b of new Loader(ds.view({ split: 'test' }), { batchSize: 100, ...options, ...(onGpu ? { device } : {}) })) {
        const n = b.ids.length;
        const get = async (name: string, floats: number) => (onGpu ? new Float32Array(await readBuffer(device, b.tensors[name] as GPUBuffer, floats * 4)) : (b.tensors[name] as Float32Array));
        out.push([b.ids, await get('image', n * 24 * 24), await get('label', n * 10)]);
      }
      bufferPool(device).trim(0);
      return out;
    };
    const [gpu, cpu] = [await read(true), await read(false)];
    let worst = 0;
    gpu.forEach(([ids, image, soft], i) => {
      expect(ids).toEqual(cpu[i][0]);
      image.forEach((v, k) => (worst = Math.max(worst, Math.abs(v - cpu[i][1][k]) / Math.max(1e-6, Math.abs(cpu[i][1][k])))));
      expect(soft).toEqual(cpu[i][2]);
      // Soft labels: each row sums to 1 over the 10 classes.
      for (let r = 0; r < ids.length; r++) expect(soft.subarray(r * 10, r * 10 + 10).reduce((a, x) => a + x, 0)).toBeCloseTo(1, 5);
    });
    console.info(`augmented loader: max relative error GPU vs CPU ${worst}`);
    expect(worst).toBeLessThan(1e-5);
  });

  test('after an epoch the shared buffer pool keeps one batch\'s buffers idle, not every size the batches came in', async () => {
    const ds = await openDataset(join(root, 'ds'));
    const view = ds.view({ split: 'test' });
    const pool = bufferPool(device);
    pool.trim(0);
    // Batch sizes in different size classes, as JPEG batches and last partial batches make them.
    for (const batchSize of [40, 100, 300]) {
      for await (const b of new Loader(view, { batchSize, tensors: ['image'], transform: { image: { scale: 1 / 255 } }, device })) expect(b.ids.length).toBeGreaterThan(0);
      expect(pool.stats().idleBytes).toBeLessThanOrEqual(sizeClass(batchSize * 784 * 4));
    }
    pool.trim(0);
  });
});


gpuDescribe('the loader fitting images of any size on a GPU device', ({ device }) => {
  /** Each batch's fitted images, [B, 3, H, W] float32, from a loader on the device and from one on the CPU. */
  async function bothPaths(ds: Dataset, fit: FitTransform, batchSize: number, seed: number, indices?: number[]): Promise<[Float32Array[], Float32Array[]]> {
    const options = { batchSize, tensors: ['image'], epoch: 2, transform: { image: { fit, scale: 1 / 255, toCHW: true, seed } } };
    const floats = 3 * fit.size[0] * fit.size[1];
    const onGpu: Float32Array[] = [];
    for await (const b of new Loader(ds.view({ indices }), { ...options, device })) onGpu.push(new Float32Array(await readBuffer(device, b.tensors.image as GPUBuffer, b.ids.length * floats * 4)));
    const onCpu: Float32Array[] = [];
    for await (const b of new Loader(ds.view({ indices }), options)) onCpu.push(b.tensors.image as Float32Array);
    bufferPool(device).trim(0);
    return [onGpu, onCpu];
  }

  test('gives the same [B, 3, H, W] batches as the CPU path, centred or randomly cropped', async () => {
    const { ds } = await pngFolder();
    for (const fit of [{ size: [6, 10] as const }, { size: [9, 4] as const, crop: 'random' as const, scale: [0.1, 1] as const }]) {
      const [onGpu, onCpu] = await bothPaths(ds, fit, 3, 3);
      expect(onGpu.map((b) => b.length)).toEqual([3, 3, 1].map((n) => n * 3 * fit.size[0] * fit.size[1]));
      expect(onGpu).toEqual(onCpu);
    }
  });

  // On a device the workers send entropy-decoded JPEGs; the transform reconstructs and fits them there.
  test.skipIf(noTools())('JPEGs of any size, CMYK and YCCK too, reconstructed on the device at the scale the fit needs (a PNG among them decoded by the CPU): the CPU path\'s batches', async () => {
    const { ds } = await jpegFolder();
    for (const fit of [{ size: [6, 10] as const }, { size: [20, 12] as const, crop: 'random' as const }]) {
      const [onGpu, onCpu] = await bothPaths(ds, fit, 4, 5);
      expect(onGpu.map((b) => b.length)).toEqual([4, 4, 2].map((n) => n * 3 * fit.size[0] * fit.size[1]));
      expect(onGpu).toEqual(onCpu);
      // A view of a few: only its JPEGs are entropy-decoded and sent; the rest of each chunk is skipped.
      const [someGpu, someCpu] = await bothPaths(ds, fit, 2, 5, [1, 4, 6]);
      expect(someGpu.map((b) => b.length)).toEqual([2, 1].map((n) => n * 3 * fit.size[0] * fit.size[1]));
      expect(someGpu).toEqual(someCpu);
      const floats = 3 * fit.size[0] * fit.size[1];
      const row = (batches: Float32Array[], b: number, r: number) => Array.from(batches[b].subarray(r * floats, (r + 1) * floats));
      expect([row(someCpu, 0, 0), row(someCpu, 0, 1), row(someCpu, 1, 0)]).toEqual([row(onCpu, 0, 1), row(onCpu, 1, 0), row(onCpu, 1, 2)]); // ids 1, 4, 6 as the whole view made them
    }
  });
});
