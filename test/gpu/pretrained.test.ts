// The shipped base CNN (models/, scripts/pretrain-base.ts) on the GPU: it knows classes 0-4, and fine-tuning it keeps frozen layers as shipped.
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { gpuDescribe } from './gpu.js';
import { BASE_CNN, BASE_MODEL, batchesOf, fashionClasses, accuracyOn } from '../../scripts/pretrain-base.js';
import { SUBSET } from '../support/cli.js';
import { cnn, loadModel, loadWeights } from '../../src/index.js';

gpuDescribe('the shipped base CNN', ({ device }) => {
  const bytes = new Uint8Array(readFileSync(BASE_MODEL));

  test('classifies the bundled subset\'s test images of classes 0-4 (none of them in its training)', async () => {
    const model = loadModel(bytes, { device, name: BASE_MODEL });
    expect(model.classes).toBe(5);
    expect(model.optimizer).toBeUndefined(); // weights only
    const accuracy = await accuracyOn(model, fashionClasses(SUBSET, 't10k', [0, 1, 2, 3, 4]));
    expect(accuracy).toBeGreaterThan(0.85);
    model.dispose();
  });

  test('fine-tuned on classes 5-9 with its convolutions frozen: they stay as shipped, the new head learns', async () => {
    const model = cnn({ ...BASE_CNN, classes: 5, seed: 3, device });
    expect(loadWeights(model, bytes, { skip: ['dense_6'], name: BASE_MODEL })).toEqual({ loaded: ['conv2d_0', 'conv2d_2', 'dense_5'], fresh: ['dense_6'] });
    expect(model.freeze(2)).toEqual(['conv2d_0', 'conv2d_2']);
    const shipped = await Promise.all(model.params.map((p) => model.backend.read(p.value)));
    const task = fashionClasses(SUBSET, 'train', [5, 6, 7, 8, 9]);
    const rows = Uint32Array.from(task.y.keys()).slice(0, 500);
    await model.fit(async function* (epoch: number) { yield* batchesOf(task, rows, 32, 1, epoch); }, { epochs: 2, lr: 1e-3 });
    for (const [i, p] of model.params.entries()) {
      const same = Buffer.compare(Buffer.from((await model.backend.read(p.value)).buffer), Buffer.from(shipped[i].buffer)) === 0;
      expect(same, p.name).toBe(p.name.startsWith('conv2d_'));
    }
    expect(await accuracyOn(model, fashionClasses(SUBSET, 't10k', [5, 6, 7, 8, 9]))).toBeGreaterThan(0.8);
    model.dispose();
  });
});
