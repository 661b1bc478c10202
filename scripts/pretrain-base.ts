/**
 * Trains the base CNN that edgelake ships for fine-tuning (models/fashion-mnist-0-4.cnn.safetensors):
 * the zoo's cnn (16 and 32 3x3 filters, a 64-unit dense layer) on Fashion-MNIST's classes 0-4
 * (T-shirt/top, Trouser, Pullover, Dress, Coat: all 30,000 training images), so that classes 5-9
 * (Sandal, Shirt, Sneaker, Bag, Ankle boot) stay a task it never saw (bench/fine-tune.ts).
 * Weights only (no optimizer state). Deterministic for a device: the file records what made it.
 *
 *   npx tsx scripts/pretrain-base.ts [--data /usr/share/datasets/fashion-mnist] [--out models/fashion-mnist-0-4.cnn.safetensors] [--epochs 8] [--device gpu|cpu]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { parseIdx } from '../src/format/index.js';
import { shuffleInPlace } from '../src/kernels/index.js';
import { cnn, formatAdapter, saveModel, type Batch, type Model } from '../src/index.js';
import { getNodeDevice } from '../src/node.js';

export const FASHION_DIR = '/usr/share/datasets/fashion-mnist';
export const BASE_MODEL = 'models/fashion-mnist-0-4.cnn.safetensors';
/** The base model's architecture: cnn({ ...BASE_CNN, classes }) rebuilds it for another task. */
export const BASE_CNN = { input: [1, 28, 28] as [number, number, number], hidden: 64 };

/** Fashion-MNIST images of `classes` (pixels / 255, one channel) and their labels renumbered 0.. in that order. */
export function fashionClasses(dir: string, split: 'train' | 't10k', classes: readonly number[]): { x: Float32Array; y: Int32Array } {
  const images = parseIdx(readFileSync(join(dir, `${split}-images-idx3-ubyte.gz`)), `${split} images`);
  const labels = parseIdx(readFileSync(join(dir, `${split}-labels-idx1-ubyte.gz`)), `${split} labels`);
  const picked = Array.from(labels.data.keys()).filter((i) => classes.includes(labels.data[i]));
  const x = new Float32Array(picked.length * 784);
  picked.forEach((i, k) => {
    for (let p = 0; p < 784; p++) x[k * 784 + p] = images.data[i * 784 + p] / 255;
  });
  return { x, y: Int32Array.from(picked, (i) => classes.indexOf(labels.data[i])) };
}

/** Batches of rows `rows` of (x, y), shuffled by (seed, epoch). */
export function* batchesOf(data: { x: Float32Array; y: Int32Array }, rows: Uint32Array, batchSize: number, seed: number, epoch: number): Generator<Batch> {
  const order = shuffleInPlace(rows.slice(), seed, epoch, 0);
  for (let at = 0; at < order.length; at += batchSize) {
    const ids = order.subarray(at, at + batchSize);
    const x = new Float32Array(ids.length * 784);
    ids.forEach((r, k) => x.set(data.x.subarray(r * 784, (r + 1) * 784), k * 784));
    yield { ids, tensors: { image: x, label: Int32Array.from(ids, (r) => data.y[r]) } };
  }
}

/** Test accuracy of `model` on every row of `data`. */
export async function accuracyOn(model: Model, data: { x: Float32Array; y: Int32Array }): Promise<number> {
  const all = Uint32Array.from(data.y.keys());
  return (await model.evaluate((async function* () { yield* batchesOf(data, all, 500, 0, 0); })())).accuracy;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { data: { type: 'string', default: FASHION_DIR }, out: { type: 'string', default: BASE_MODEL }, epochs: { type: 'string', default: '8' }, device: { type: 'string', default: 'gpu' } },
  });
  const gpu = values.device === 'cpu' ? null : await getNodeDevice({ required: true });
  const classes = [0, 1, 2, 3, 4];
  const train = fashionClasses(values.data, 'train', classes);
  const test = fashionClasses(values.data, 't10k', classes);
  const model = cnn({ ...BASE_CNN, classes: classes.length, seed: 0, device: gpu?.device });
  const rows = Uint32Array.from(train.y.keys());
  const epochs = Number(values.epochs);
  await model.fit(async function* (epoch: number) { yield* batchesOf(train, rows, 64, 0, epoch); }, { epochs, lr: 1e-3, schedule: 'cosine' });
  const accuracy = await accuracyOn(model, test);
  writeFileSync(values.out, await saveModel(model, { optimizer: false }));
  console.log(`${values.out}: cnn on Fashion-MNIST classes 0-4 (${train.y.length} training images, ${epochs} epochs, Adam 1e-3 cosine, batch 64, seed 0) on ${gpu ? formatAdapter(gpu.adapter) : 'the CPU'}: test accuracy ${accuracy.toFixed(4)} on ${test.y.length} images`);
  model.dispose();
  gpu?.device.destroy();
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
