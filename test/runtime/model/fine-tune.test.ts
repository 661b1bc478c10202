// Starting from a pretrained base: weights loaded by layer name, early layers frozen, a new head trained.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSubsetArgs, cli } from '../../support/cli.js';
import { type Dataset, Loader, loadModel, loadWeights, mlp, saveModel, type Model } from '../../../src/index.js';
import { openDataset } from '../../../src/node.js';

const root = mkdtempSync(join(tmpdir(), 'edgelake-fine-tune-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let ds: Dataset;
beforeAll(async () => {
  expect((await cli(...buildSubsetArgs(join(root, 'ds'), '--chunk-kib', '64', '--embedding-dims', '32'))).code).toBe(0);
  ds = await openDataset(join(root, 'ds'));
});

const train = () => new Loader(ds.view({ split: 'train' }), { batchSize: 64, tensors: ['embedding', 'label'], shuffle: { seed: 1, windowChunks: 4 }, transform: { embedding: {} } });
const weights = async (m: Model) => Object.fromEntries(await Promise.all(m.params.map(async (p) => [p.name, await m.backend.read(p.value)] as const)));

describe('fine-tuning a pretrained model', () => {
  it('loadWeights copies the layers by name, leaving skipped and missing ones fresh; freeze keeps the first layers as loaded', async () => {
    const base = mlp({ layers: [32, 24, 16, 10], seed: 1 });
    await base.fit(train(), { epochs: 1, lr: 3e-3, input: 'embedding' });
    const saved = await saveModel(base);

    const tuned = mlp({ layers: [32, 24, 16, 10], seed: 2 });
    const fresh = await weights(tuned);
    expect(loadWeights(tuned, saved, { skip: ['dense_2'] })).toEqual({ loaded: ['dense_0', 'dense_1'], fresh: ['dense_2'] });
    const [from, loaded] = [await weights(base), await weights(tuned)];
    for (const name of ['dense_0.weight', 'dense_0.bias', 'dense_1.weight', 'dense_1.bias']) expect(Buffer.compare(Buffer.from(loaded[name].buffer), Buffer.from(from[name].buffer)), name).toBe(0);
    expect(Buffer.compare(Buffer.from(loaded['dense_2.weight'].buffer), Buffer.from(fresh['dense_2.weight'].buffer))).toBe(0);

    expect(tuned.freeze(1)).toEqual(['dense_0']);
    await tuned.fit(train(), { epochs: 1, lr: 3e-3, input: 'embedding' });
    const after = await weights(tuned);
    expect(Buffer.compare(Buffer.from(after['dense_0.weight'].buffer), Buffer.from(from['dense_0.weight'].buffer)), 'a frozen layer moved').toBe(0);
    expect(Buffer.compare(Buffer.from(after['dense_1.weight'].buffer), Buffer.from(from['dense_1.weight'].buffer)), 'a trainable layer stayed').not.toBe(0);
    expect(Buffer.compare(Buffer.from(after['dense_2.weight'].buffer), Buffer.from(fresh['dense_2.weight'].buffer))).not.toBe(0);

    // Frozen layers travel with a saved model, so training resumes the same way.
    const reloaded = loadModel(await saveModel(tuned));
    expect(reloaded.frozen).toEqual(['dense_0']);
    expect(tuned.freeze(['dense_1'])).toEqual(['dense_1']);
    expect(tuned.freeze(0)).toEqual([]);
    for (const m of [base, tuned, reloaded]) m.dispose();
  });

  it('a head of another shape must be skipped; bad names and counts are refused; nothing is written on an error', async () => {
    const base = mlp({ layers: [32, 16, 10], seed: 1 });
    const saved = await saveModel(base);
    const five = mlp({ layers: [32, 16, 5], seed: 3 });
    const before = await weights(five);
    expect(() => loadWeights(five, saved, { name: 'base.safetensors' })).toThrow('base.safetensors: tensor dense_1.weight is [16, 10], the model needs [16, 5]; skip layer dense_1 to start it afresh');
    const unchanged = await weights(five);
    for (const [name, v] of Object.entries(before)) expect(Buffer.compare(Buffer.from(unchanged[name].buffer), Buffer.from(v.buffer)), name).toBe(0);
    expect(loadWeights(five, saved, { skip: ['dense_1'] })).toEqual({ loaded: ['dense_0'], fresh: ['dense_1'] });
    expect(() => loadWeights(five, saved, { skip: ['head'] })).toThrow('weights: skip names no layer with weights of the model: head (it has dense_0, dense_1)');
    expect(() => loadWeights(mlp({ layers: [8, 3] }), saved, { skip: ['dense_0'] })).toThrow('weights: shares no layer with the model (the model has dense_0)');
    expect(() => five.freeze(3)).toThrow('freeze: the model has 2 layers with weights (dense_0, dense_1); cannot freeze 3');
    expect(() => five.freeze(['conv2d_0'])).toThrow('freeze: no layer with weights named conv2d_0 (the model has dense_0, dense_1)');
    five.freeze(2);
    await expect(five.fit(train(), { epochs: 1, input: 'embedding' })).rejects.toThrow('fit: every layer with weights is frozen (dense_0, dense_1); nothing would train');
    for (const m of [base, five]) m.dispose();
  });
});
