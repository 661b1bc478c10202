import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSubsetArgs, cli } from '../../support/cli.js';
import { failure } from '../../support/errors.js';
import { type Dataset, head, Loader, loadModel, mlp, saveModel } from '../../../src/index.js';
import { openDataset } from '../../../src/node.js';

// The CPU path (the kernels' references): what runs where there is no WebGPU adapter.
const root = mkdtempSync(join(tmpdir(), 'edgelake-model-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let ds: Dataset;
beforeAll(async () => {
  expect((await cli(...buildSubsetArgs(join(root, 'ds'), '--chunk-kib', '64', '--embedding-dims', '32'))).code).toBe(0);
  ds = await openDataset(join(root, 'ds'));
});

const loader = (split: string, input = 'embedding', seed = 1) =>
  new Loader(ds.view({ split }), { batchSize: 64, tensors: [input, 'label'], shuffle: split === 'train' ? { seed, windowChunks: 4 } : undefined, transform: { [input]: input === 'image' ? { scale: 1 / 255 } : {} } });

describe('a model on the CPU path', () => {
  it('an MLP head over the 32-dim PCA embedding learns Fashion-MNIST classes (fit, evaluate, epoch events)', async () => {
    const model = head({ dims: 32, classes: 10, hidden: [64], seed: 3 });
    const epochs: number[] = [];
    model.addEventListener('epoch', (e) => epochs.push((e as CustomEvent<{ accuracy: number }>).detail.accuracy));
    const before = await model.evaluate(loader('test'), { input: 'embedding' });
    const history = await model.fit(loader('train'), { epochs: 3, lr: 3e-3, input: 'embedding' });
    const after = await model.evaluate(loader('test'), { input: 'embedding' });
    expect(history.map((h) => h.samples)).toEqual([5000, 5000, 5000]);
    expect(epochs).toHaveLength(3);
    expect(history[2].loss).toBeLessThan(history[0].loss);
    expect(before.accuracy).toBeLessThan(0.3);
    expect(after.accuracy).toBeGreaterThan(0.7);
    expect(after.samples).toBe(1000);
    model.dispose();
  });

  it('probabilities sum to 1 per sample; uncertainty is higher where the model is less sure; MC-dropout passes differ', async () => {
    const model = mlp({ layers: [32, 32, 10], dropout: 0.5, seed: 5 });
    await model.fit(loader('train'), { epochs: 1, lr: 3e-3, input: 'embedding' });
    const batch = (await loader('test')[Symbol.asyncIterator]().next()).value!;
    const x = batch.tensors.embedding as Float32Array;
    const probs = await model.predictProba(x, 64);
    for (let i = 0; i < 64; i++) expect(probs.subarray(i * 10, i * 10 + 10).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    const least = await model.uncertainty(x, 64, 'least-confidence');
    for (let i = 0; i < 64; i++) expect(least[i]).toBeCloseTo(1 - Math.max(...probs.subarray(i * 10, i * 10 + 10)), 5);
    const mc = await model.predictProba(x, 64, { passes: 4 });
    expect(mc).toHaveLength(4 * 64 * 10);
    expect([...mc.subarray(0, 640)]).not.toEqual([...mc.subarray(640, 1280)]);
    const bald = await model.uncertainty(x, 64, 'bald', { passes: 8 });
    expect(bald.every((v) => v >= 0)).toBe(true);
    expect(Math.max(...bald)).toBeGreaterThan(0);
    model.dispose();
  });

  it("schedule 'cosine': epoch e of E trains at lr (1 + cos(pi (e + 1/2) / E)) / 2; by default every step at lr", async () => {
    const rates = async (schedule?: 'cosine') => {
      const model = head({ dims: 32, classes: 10, hidden: [16], seed: 1 });
      const seen: number[] = [];
      const step = model.trainStep.bind(model);
      model.trainStep = (x, labels, n, kind, lr) => (seen.push(lr!), step(x, labels, n, kind, lr));
      await model.fit(loader('train'), { epochs: 3, lr: 0.01, schedule, input: 'embedding' });
      model.dispose();
      return seen;
    };
    const steps = Math.ceil(5000 / 64);
    const cosine = await rates('cosine');
    expect(cosine).toHaveLength(3 * steps);
    [0.00933, 0.005, 0.00067].forEach((lr, e) => cosine.slice(e * steps, (e + 1) * steps).forEach((r) => expect(r).toBeCloseTo(lr, 5)));
    expect(new Set(await rates())).toEqual(new Set([0.01]));
  });

  it('save, load and go on training gives exactly the weights of training without the break', async () => {
    const straight = mlp({ layers: [32, 16, 10], seed: 9 });
    await straight.fit(loader('train'), { epochs: 2, lr: 2e-3, input: 'embedding' });
    const first = mlp({ layers: [32, 16, 10], seed: 9 });
    await first.fit(loader('train'), { epochs: 1, lr: 2e-3, input: 'embedding' });
    const saved = await saveModel(first);
    const resumed = loadModel(saved);
    expect(resumed.optimizer!.step).toBe(first.optimizer!.step);
    // The second epoch: the loader for epoch 1, as fit over two epochs makes it.
    await resumed.fit(loader('train').forEpoch(1), { epochs: 1, lr: 2e-3, input: 'embedding' });
    for (const [i, p] of straight.params.entries()) {
      expect([...(await resumed.backend.read(resumed.params[i].value))], p.name).toEqual([...(await straight.backend.read(p.value))]);
    }
    for (const m of [straight, first, resumed]) m.dispose();
  });

  it('bad input is refused with a clear error', async () => {
    const model = mlp({ layers: [784, 10] });
    const raw = new Loader(ds.view({ split: 'train' }), { batchSize: 8, tensors: ['image', 'label'] });
    await expect(model.fit(raw, { epochs: 1 })).rejects.toThrow(/tensor image: the model needs 8 x 784 float32 values, the batch has Uint8Array values; give the loader a transform/);
    await expect(model.fit(loader('train', 'image'), { epochs: 1, input: 'nope' })).rejects.toThrow(/the batch has no tensor "nope"/);
    // RGB rows into a gray model would be read as misaligned rows: more values than the model takes are refused too.
    const rgb = async function* () {
      yield { ids: Uint32Array.of(0, 1), tensors: { image: new Float32Array(2 * 3 * 784), label: Int32Array.of(0, 1) } };
    };
    await expect(model.fit(rgb, { epochs: 1 })).rejects.toThrow('tensor image: the model needs 2 x 784 float32 values, the batch has 2 rows of 2352 values a sample; give the model inputs of its width');
    // A label past the classes is refused, as PyTorch's "Target 7 is out of bounds", not trained on with loss 0.
    const small = mlp({ layers: [4, 3] });
    const batch = async function* (label: Int32Array | Uint8Array) {
      yield { ids: Uint32Array.of(5, 9), tensors: { image: new Float32Array(8), label } };
    };
    for (const [label, message] of [[Int32Array.of(0, -1), 'sample 9 has label -1'], [Uint8Array.of(3, 1), 'sample 5 has label 3']] as const) {
      await expect(small.fit(() => batch(label), { epochs: 1 })).rejects.toThrow(`tensor label: ${message}, and the model has 3 classes (0 to 2)`);
    }
    small.dispose();
    expect(failure(() => mlp({ layers: [784] }))).toMatch(/^invalid-input: mlp needs at least/);
    const truncated = (await saveModel(model)).slice(0, 100);
    expect(failure(() => loadModel(truncated, { name: 'weights.safetensors' }))).toMatch(/^invalid-input: .*weights\.safetensors/);
    model.dispose();
  });
});
