// What Model.fit checks of GPU batches, which it never reads back: mixup's soft labels, labels out
// of range, input buffers of another width, a loss gone NaN. The same answers as the CPU path.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { AugmentOp } from '../../src/kernels/augment/index.js';
import { bufferPool, uploadBuffer } from '../../src/kernels/index.js';
import { buildSubsetArgs, cli } from '../support/cli.js';
import { mulberry32 } from '../support/random.js';
import { gpuDescribe } from './gpu.js';
import { type Batch, type Dataset, Loader, mlp, type Model, type ProgressDetail } from '../../src/index.js';
import { openDataset } from '../../src/node.js';

const root = mkdtempSync(join(tmpdir(), 'edgelake-gpu-guards-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

gpuDescribe('Model.fit guards on the GPU', ({ device }) => {
  let ds: Dataset;
  beforeAll(async () => {
    expect((await cli(...buildSubsetArgs(join(root, 'ds'), '--chunk-kib', '64'))).code).toBe(0);
    ds = await openDataset(join(root, 'ds'));
  });

  const mixup: AugmentOp[] = [{ op: 'mixup', alpha: 0.4 }];
  const images = (onGpu: boolean, augment?: AugmentOp[]) => new Loader(ds.view({ split: 'test' }), {
    batchSize: 50, tensors: ['image', 'label'], shuffle: { seed: 1 }, device: onGpu ? device : undefined, transform: { image: { scale: 1 / 255, ...(augment && { augment }) } },
  });
  /** The first `steps` batches of a loader. */
  const first = (loader: Loader, steps: number) => async function* () {
    let i = 0;
    for await (const b of loader) if (i++ < steps) yield b;
  };
  const release = (...models: Model[]) => {
    for (const m of models) m.dispose();
    bufferPool(device).trim(0);
  };

  test("mixup's soft labels, a GPUBuffer, train as the CPU path's Float32Array rows do (not as class indices)", async () => {
    const curve = async (onGpu: boolean) => {
      const model = mlp({ layers: [784, 32, 10], seed: 1, device: onGpu ? device : undefined });
      const losses: number[] = [];
      model.addEventListener('progress', (e) => losses.push((e as CustomEvent<ProgressDetail>).detail.loss!));
      await model.fit(first(images(onGpu, mixup), 6), { epochs: 1, lr: 3e-3, logEvery: 1 });
      release(model);
      return losses;
    };
    const [gpu, cpu] = [await curve(true), await curve(false)];
    expect(gpu).toHaveLength(6);
    // Mixed rows have a loss of at least their labels' entropy: read as indices (class 0), it fell near 0.
    expect(Math.min(...cpu)).toBeGreaterThan(1);
    gpu.forEach((l, i) => expect(Math.abs(l - cpu[i]) / cpu[i], `step ${i + 1}: GPU ${l}, CPU ${cpu[i]}`).toBeLessThan(1e-3));
    const model = mlp({ layers: [784, 10], seed: 1, device });
    await expect(model.fit(first(images(true, mixup), 1), { epochs: 1, labels: 'index' })).rejects.toThrow("tensor label holds mixup's soft labels");
    release(model);
  });

  test('a GPU buffer of another width than the model takes is refused, as a Float32Array is', async () => {
    for (const onGpu of [true, false]) {
      const model = mlp({ layers: [392, 10], seed: 1, device: onGpu ? device : undefined });
      await expect(model.fit(first(images(onGpu), 1), { epochs: 1 })).rejects.toThrow('tensor image: the model needs 50 x 392 float32 values, the batch has 50 rows of 784 values a sample; give the model inputs of its width');
      release(model);
    }
  });

  const [D, C] = [8, 3];
  const random = mulberry32(5);
  /** `steps` GPU batches of 2 random rows; `label` and `image` may change step s (1-based). */
  const gpuBatches = (steps: number, change: (step: number, x: Float32Array, y: Int32Array) => void) => async function* () {
    const made: GPUBuffer[] = [];
    try {
      for (let s = 1; s <= steps; s++) {
        const [x, y] = [Float32Array.from({ length: 2 * D }, () => random() * 2 - 1), Int32Array.of(s % C, (s + 1) % C)];
        change(s, x, y);
        const tensors = { image: uploadBuffer(device, `guard image ${s}`, GPUBufferUsage.STORAGE, x), label: uploadBuffer(device, `guard label ${s}`, GPUBufferUsage.STORAGE, y) };
        made.push(tensors.image, tensors.label);
        yield { ids: Uint32Array.of(2 * s, 2 * s + 1), tensors } as Batch;
      }
    } finally {
      await device.queue.onSubmittedWorkDone();
      for (const b of made) b.destroy();
    }
  };

  test('labels out of range in a GPU buffer are refused when the sums are read, as the CPU path refuses them at once', async () => {
    const model = mlp({ layers: [D, C], seed: 1, device });
    const bad = gpuBatches(5, (s, _x, y) => s === 4 && y.set([7, -1]));
    await expect(model.fit(bad, { epochs: 1 })).rejects.toThrow('tensor label: 2 samples in epoch 0, steps 1 to 5, have labels outside [0, 3): the model has 3 classes');
    await expect(model.fit(bad, { epochs: 1, logEvery: 2 })).rejects.toThrow('tensor label: 2 samples in epoch 0, steps 3 to 4, have labels outside [0, 3)');
    await expect(model.evaluate(bad())).rejects.toThrow('tensor label: 2 samples in the batches have labels outside [0, 3)');
    release(model);
  });

  test('a loss gone NaN stops fit naming its step, past the first 64 steps kept apart', async () => {
    // No hidden layer: the GPU's relu, max(NaN, 0), gives 0 where the CPU's gives NaN.
    const model = mlp({ layers: [D, C], seed: 1, device });
    const poisoned = gpuBatches(80, (s, x) => s === 70 && x.fill(NaN, 3, 4));
    await expect(model.fit(poisoned, { epochs: 1, lr: 1e-2 })).rejects.toThrow(/^fit: the loss went NaN at epoch 0, step 70: training diverged/);
    release(model);
  });
});
