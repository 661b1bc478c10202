/**
 * Issue 18's fine-tuning must-hold: the shipped base CNN (scripts/pretrain-base.ts, trained on
 * Fashion-MNIST classes 0-4 only) fine-tuned on classes 5-9, a task it never saw, against the same
 * CNN trained from scratch, with the same labelled samples, epochs and optimizer. Test accuracy
 * on all 5,000 test images of classes 5-9, per label count and seed.
 *
 *   npx tsx bench/fine-tune.ts [--labels 50,250,1000] [--seeds 3] [--samples 12000] [--device gpu|cpu]
 *
 * Arms: scratch; fine-tuned with the two convolutions frozen (loadWeights, freeze(2)); fine-tuned
 * with every layer trainable; only the classifier trained (freeze(3), a linear probe). The
 * classifier starts fresh in every fine-tuned arm.
 */
import { readFileSync } from 'node:fs';
import { benchArgs, report, type BenchRow } from './report.js';
import { accuracyOn, BASE_CNN, BASE_MODEL, batchesOf, FASHION_DIR, fashionClasses } from '../scripts/pretrain-base.js';
import { cnn, formatAdapter, loadWeights, type Model } from '../src/index.js';
import { shuffleInPlace } from '../src/kernels/index.js';
import { getNodeDevice } from '../src/node.js';

const { values } = benchArgs(import.meta.url, {
  options: { labels: { type: 'string', default: '50,250,1000' }, seeds: { type: 'string', default: '3' }, samples: { type: 'string', default: '12000' }, device: { type: 'string', default: 'gpu' } },
});
const labelCounts = values.labels.split(',').map(Number);
const seeds = Array.from({ length: Number(values.seeds) }, (_, i) => i);
const gpu = values.device === 'cpu' ? null : await getNodeDevice({ required: true });
const device = gpu?.device;
const classes = [5, 6, 7, 8, 9];
const train = fashionClasses(FASHION_DIR, 'train', classes);
const test = fashionClasses(FASHION_DIR, 't10k', classes);
const base = new Uint8Array(readFileSync(BASE_MODEL));

interface Arm { name: string; make(seed: number): Model }
const arms: Arm[] = [
  { name: 'scratch', make: (seed) => cnn({ ...BASE_CNN, classes: 5, seed, device }) },
  { name: 'fine-tuned, convolutions frozen', make: (seed) => fineTuned(seed, 2) },
  { name: 'fine-tuned, all layers', make: (seed) => fineTuned(seed, 0) },
  { name: 'fine-tuned, classifier only', make: (seed) => fineTuned(seed, 3) },
];

function fineTuned(seed: number, frozen: number): Model {
  const model = cnn({ ...BASE_CNN, classes: 5, seed, device });
  loadWeights(model, base, { skip: ['dense_6'], name: BASE_MODEL });
  model.freeze(frozen);
  return model;
}

const rows: BenchRow[] = [];
const started = performance.now();
for (const labels of labelCounts) {
  // The same sample budget at every label count: more epochs over fewer labels.
  const epochs = Math.max(1, Math.round(Number(values.samples) / labels));
  const accuracy = new Map<string, number[]>(arms.map((a) => [a.name, []]));
  for (const seed of seeds) {
    const labelled = shuffleInPlace(Uint32Array.from(train.y.keys()), seed, 7, 0).slice(0, labels);
    for (const arm of arms) {
      const model = arm.make(seed);
      await model.fit(async function* (epoch: number) { yield* batchesOf(train, labelled, 32, seed, epoch); }, { epochs, lr: 1e-3, schedule: 'cosine' });
      const a = await accuracyOn(model, test);
      accuracy.get(arm.name)!.push(a);
      console.log(`${labels} labels, seed ${seed}, ${arm.name}: ${a.toFixed(4)}`);
      model.dispose();
    }
  }
  const mean = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;
  for (const arm of arms) {
    const xs = accuracy.get(arm.name)!;
    rows.push({ measure: `${labels} labels: ${arm.name} (mean of ${xs.length} seeds)`, value: mean(xs), unit: 'test accuracy' });
    rows.push({ measure: `${labels} labels: ${arm.name} (worst seed)`, value: Math.min(...xs), unit: 'test accuracy' });
  }
  for (const arm of arms.slice(1)) {
    const wins = seeds.filter((s) => accuracy.get(arm.name)![s] > accuracy.get('scratch')![s]).length;
    rows.push({ measure: `${labels} labels: ${arm.name} - scratch`, value: mean(accuracy.get(arm.name)!) - mean(accuracy.get('scratch')!), unit: `accuracy (beats scratch on ${wins} of ${seeds.length} seeds)` });
  }
}
report('fine-tune', 'Fine-tuning the shipped base CNN on a task it never saw, against training from scratch', rows, [
  `base: ${BASE_MODEL} (scripts/pretrain-base.ts: cnn ${BASE_CNN.input.join('x')}, 16/32 filters, dense 64, trained on Fashion-MNIST classes 0-4 only)`,
  `task: classes 5-9 (Sandal, Shirt, Sneaker, Bag, Ankle boot) renumbered 0-4; labelled samples drawn at random per seed from their 30,000 training images, the same for every arm; test: all ${test.y.length} test images of classes 5-9`,
  `training: ${values.samples} samples seen at every label count (epochs = samples / labels), batch 32, Adam 1e-3 with a cosine schedule; the classifier (dense_6) starts fresh in every fine-tuned arm`,
  `seeds ${seeds.join(', ')}; device: ${gpu ? formatAdapter(gpu.adapter) : 'cpu'}; ${((performance.now() - started) / 1000).toFixed(0)} s`,
]);
gpu?.device.destroy();
