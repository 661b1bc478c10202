import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { bufferPool } from '../../src/kernels/index.js';
import { buildSubsetArgs, cli } from '../support/cli.js';
import { gpuDescribe } from './gpu.js';
import { ActiveLearner, ChunkCache, cnn, type Dataset, Loader, loadModel, MemoryChunkStore, mlp, type Model, type ProgressDetail, saveModel } from '../../src/index.js';
import { openDataset } from '../../src/node.js';

const root = mkdtempSync(join(tmpdir(), 'edgelake-gpu-model-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

gpuDescribe('models on the GPU', ({ device }) => {
  let ds: Dataset;
  beforeAll(async () => {
    expect((await cli(...buildSubsetArgs(join(root, 'ds'), '--chunk-kib', '64', '--embedding-dims', '16'))).code).toBe(0);
    ds = await openDataset(join(root, 'ds'));
  });

  /** The same shuffled batches of images in [0, 1], as GPU buffers (device) or typed arrays. */
  const images = (split: string, onGpu: boolean, toCHW = false) => new Loader(ds.view({ split }), {
    batchSize: 64, tensors: ['image', 'label'], device: onGpu ? device : undefined,
    shuffle: split === 'train' ? { seed: 4, windowChunks: 4 } : undefined, transform: { image: { scale: 1 / 255, toCHW } },
  });

  /** Per-step losses of `steps` training steps. */
  async function lossCurve(model: Model, onGpu: boolean, steps: number, toCHW = false): Promise<number[]> {
    const losses: number[] = [];
    model.addEventListener('progress', (e) => losses.push((e as CustomEvent<ProgressDetail>).detail.loss!));
    const limited = async function* () {
      let i = 0;
      for await (const b of images('train', onGpu, toCHW)) if (i++ < steps) yield b;
    };
    await model.fit(() => limited(), { epochs: 1, lr: 2e-3, logEvery: 1 });
    return losses;
  }

  function release(...models: Model[]): void {
    for (const m of models) m.dispose();
    bufferPool(device).trim(0);
  }

  test('an MLP with dropout follows the same loss curve on the GPU and on the CPU for the same seed', async () => {
    const [onGpu, onCpu] = [mlp({ layers: [784, 64, 32, 10], dropout: 0.2, seed: 11, device }), mlp({ layers: [784, 64, 32, 10], dropout: 0.2, seed: 11 })];
    const [gpu, cpu] = [await lossCurve(onGpu, true, 30), await lossCurve(onCpu, false, 30)];
    expect(gpu).toHaveLength(30);
    const worst = Math.max(...gpu.map((l, i) => Math.abs(l - cpu[i]) / cpu[i]));
    console.log(`MLP: 30 steps, loss ${gpu[0].toFixed(4)} -> ${gpu[29].toFixed(4)}; max relative difference GPU vs CPU ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-3);
    expect(gpu[29]).toBeLessThan(gpu[0] * 0.6);
    release(onGpu, onCpu);
  });

  test('a CNN follows the same loss curve on the GPU and on the CPU for the same seed', async () => {
    const make = (d?: GPUDevice) => cnn({ input: [1, 28, 28], classes: 10, filters: [4, 8], hidden: 32, seed: 2, device: d });
    const [onGpu, onCpu] = [make(device), make()];
    const [gpu, cpu] = [await lossCurve(onGpu, true, 8, true), await lossCurve(onCpu, false, 8, true)];
    const worst = Math.max(...gpu.map((l, i) => Math.abs(l - cpu[i]) / cpu[i]));
    console.log(`CNN: 8 steps, loss ${gpu[0].toFixed(4)} -> ${gpu[7].toFixed(4)}; max relative difference GPU vs CPU ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-3);
    release(onGpu, onCpu);
  });

  test('active learning on the GPU: the default oracle gives the dataset labels, and the learner learns', async () => {
    const cached = await openDataset(join(root, 'ds'), { cache: new ChunkCache(new MemoryChunkStore(), { budgetBytes: 2 ** 30 }) });
    const learner = mlp({ layers: [784, 64, 10], seed: 3, device });
    const al = new ActiveLearner({ dataset: cached, strategy: 'margin', roundSize: 100, maxLabels: 200, learner, epochs: 3, device, costAware: true });
    const rounds = await al.run();
    const truth = new Map<number, number>();
    for await (const b of new Loader(cached.view({ indices: al.pool.labelled() }), { batchSize: 100, tensors: ['label'] })) b.ids.forEach((id, i) => truth.set(id, (b.tensors.label as Int32Array)[i]));
    expect(al.pool.labelled().every((id) => al.pool.labelOf(id) === truth.get(id))).toBe(true);
    expect(new Set(al.pool.labelled().map((id) => al.pool.labelOf(id)!)).size).toBeGreaterThan(5);
    expect(rounds[1].accuracy).toBeGreaterThan(0.4);
    release(learner);
  });

  test('an MLP trained on the GPU from streamed batches classifies the test split; saved weights predict the same on the CPU', async () => {
    const model = mlp({ layers: [784, 128, 10], seed: 1, device });
    const history = await model.fit(images('train', true), { epochs: 3, lr: 2e-3 });
    const test = await model.evaluate(images('test', true));
    console.log(`GPU MLP on the 5000-image subset: test accuracy ${test.accuracy.toFixed(4)} after 3 epochs, ${history.map((h) => h.samplesPerSecond.toFixed(0)).join(', ')} samples/s`);
    expect(test.accuracy).toBeGreaterThan(0.78);
    const onCpu = loadModel(await saveModel(model));
    const batch = (await images('test', false)[Symbol.asyncIterator]().next()).value!;
    const x = batch.tensors.image as Float32Array;
    const [a, b] = [await model.predictProba(x, 64), await onCpu.predictProba(x, 64)];
    expect(Math.max(...a.map((v, i) => Math.abs(v - b[i])))).toBeLessThan(1e-4);
    const scores = await model.uncertainty(x, 64, 'entropy');
    expect(scores).toHaveLength(64);
    release(model, onCpu);
  });
});
