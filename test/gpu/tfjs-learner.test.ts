// A TF.js LayersModel as edgelake's Learner, on TF.js's WebGPU backend built on edgelake's device: GPU batches go in without a copy.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSubsetArgs, cli } from '../support/cli.js';
import { loadTfjs, useTfjsOn, type Tfjs } from '../support/tfjs.js';
import { gpu } from './gpu.js';
import { ActiveLearner, ChunkCache, type Dataset, type Gpu, Loader, MemoryChunkStore } from '../../src/index.js';
import { tfjsLearner } from '../../src/tfjs.js';
import { getNodeDevice, openDataset } from '../../src/node.js';

const root = mkdtempSync(join(tmpdir(), 'edgelake-tfjs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// Its own device: TF.js keeps buffers of its own, which gpu.ts's per-test leak check would take for leaks.
describe.skipIf(!gpu)('tfjsLearner on the shared WebGPU device', () => {
  let ds: Dataset;
  let tf: Tfjs;
  let shared: Gpu;
  const reads = { count: 0 };
  beforeAll(async () => {
    expect((await cli(...buildSubsetArgs(join(root, 'ds'), '--chunk-kib', '64', '--embedding-dims', '32'))).code).toBe(0);
    ds = await openDataset(join(root, 'ds'), { cache: new ChunkCache(new MemoryChunkStore(), { budgetBytes: 2 ** 30 }) });
    shared = (await getNodeDevice({ required: true }))!;
    tf = await loadTfjs();
    const webgpu = await useTfjsOn(tf, shared.device);
    expect(webgpu.ok, webgpu.why).toBe(true);
    // Every read of GPU memory back to the CPU goes through mapAsync(READ): count them.
    const probe = shared.device.createBuffer({ size: 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const proto = Object.getPrototypeOf(probe) as GPUBuffer;
    probe.destroy();
    const mapAsync = proto.mapAsync;
    proto.mapAsync = function (this: GPUBuffer, mode: number, ...rest: [number?, number?]) {
      if (mode & GPUMapMode.READ) reads.count++;
      return mapAsync.call(this, mode, ...rest);
    };
  }, 60_000);
  afterAll(() => {
    tf?.disposeVariables();
    shared?.device.destroy();
  });

  /** A seeded 32-64-10 MLP ending in softmax, as Keras users write it. */
  const kerasModel = () => tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [32], units: 64, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
      tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
  const batches = (split: string, onDevice: boolean) => new Loader(ds.view({ split }), {
    batchSize: 50, tensors: ['embedding', 'label'], device: onDevice ? shared.device : undefined,
    shuffle: split === 'train' ? { seed: 3, windowChunks: 4 } : undefined, transform: { embedding: { scale: 1 / 255 } }, // the PCA of raw pixels, brought near 1
  });

  it('trains on GPU batches with no read of batch data back to the CPU: the same epochs as on CPU arrays', async () => {
    const [onGpu, onCpu] = [tfjsLearner(tf, kerasModel(), { classes: 10 }), tfjsLearner(tf, kerasModel(), { classes: 10 })];
    const before = reads.count;
    const gpuHistory = await onGpu.fit(batches('train', true), { epochs: 2, input: 'embedding' });
    const readsPerFit = reads.count - before;
    const steps = 2 * Math.ceil(ds.view({ split: 'train' }).length / 50);
    console.log(`tfjsLearner: ${steps} steps on GPU batches, ${readsPerFit} reads back to the CPU (the epochs' loss and accuracy)`);
    expect(readsPerFit).toBeLessThanOrEqual(2); // one per epoch, whatever the number of batches
    const cpuHistory = await onCpu.fit(batches('train', false), { epochs: 2, input: 'embedding' });
    gpuHistory.forEach((h, e) => {
      expect(h.samples).toBe(cpuHistory[e].samples);
      expect(h.loss).toBeCloseTo(cpuHistory[e].loss, 4); // the buffer was read as the array holds it
      expect(h.accuracy).toBeCloseTo(cpuHistory[e].accuracy, 4);
    });
    const test = await onGpu.evaluate(batches('test', true), { input: 'embedding' });
    expect(test.samples).toBe(ds.view({ split: 'test' }).length);
    expect(test.accuracy).toBeGreaterThan(0.6);
    const probs = await onGpu.predictProba(Float32Array.from({ length: 3 * 32 }, (_, i) => (i % 7) / 7), 3);
    for (let r = 0; r < 3; r++) expect(probs.subarray(r * 10, r * 10 + 10).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    onGpu.dispose();
    onCpu.dispose();
  });

  it("mixup's soft labels, a GPUBuffer, train as on CPU arrays; GPU labels out of range are refused", async () => {
    const imageModel = () => tf.sequential({
      layers: [tf.layers.flatten({ inputShape: [1, 28, 28] }), tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) })],
    });
    const mixed = (onDevice: boolean) => new Loader(ds.view({ split: 'test' }), {
      batchSize: 100, tensors: ['image', 'label'], device: onDevice ? shared.device : undefined, shuffle: { seed: 2 },
      transform: { image: { scale: 1 / 255, augment: [{ op: 'mixup', alpha: 0.4 }] } },
    });
    const [onGpu, onCpu] = [tfjsLearner(tf, imageModel(), { classes: 10 }), tfjsLearner(tf, imageModel(), { classes: 10 })];
    const [gpu, cpu] = [await onGpu.fit(mixed(true), { epochs: 1 }), await onCpu.fit(mixed(false), { epochs: 1 })];
    expect(cpu[0].loss).toBeGreaterThan(1); // mixed rows: at least their labels' entropy
    expect(gpu[0].loss).toBeCloseTo(cpu[0].loss, 4);
    const x = shared.device.createBuffer({ size: 2 * 784 * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    const y = shared.device.createBuffer({ size: 8, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    shared.device.queue.writeBuffer(y, 0, Int32Array.of(3, 12));
    const bad = async function* () {
      yield { ids: Uint32Array.of(0, 1), tensors: { image: x, label: y } };
    };
    await expect(onGpu.fit(bad, { epochs: 1 })).rejects.toThrow('tfjsLearner: 1 label of tensor label in epoch 0 is outside [0, 10)');
    x.destroy();
    y.destroy();
    onGpu.dispose();
    onCpu.dispose();
  });

  it('is the learner of an ActiveLearner, batches and scoring on the device', async () => {
    const learner = tfjsLearner(tf, kerasModel(), { classes: 10 });
    const al = new ActiveLearner({ dataset: ds, strategy: 'margin', roundSize: 100, maxLabels: 200, learner, epochs: 25, seed: 1, input: 'embedding', inputTransform: { scale: 1 / 255 }, device: shared.device });
    const rounds = await al.run();
    expect(rounds.map((r) => r.labels)).toEqual([100, 200]);
    expect(rounds[1].accuracy).toBeGreaterThan(0.5);
    learner.dispose();
  });
});
