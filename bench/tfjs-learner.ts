/**
 * Issue 18's TF.js must-hold: one TF.js model trained two ways on the same adapter, side by side
 * in one run. (a) edgelake: the loader streams Fashion-MNIST, scales it on the device, and
 * tfjsLearner hands each GPU batch to TF.js without a copy (tf.tensor({ buffer, zeroCopy })).
 * (b) TF.js alone: the same images as CPU arrays (decoded once, held in memory) fed by tf.data
 * (generator -> batch) to model.fitDataset, TF.js's own way. Both on TF.js's WebGPU backend built
 * on edgelake's dawn-node device. Target: (a) >= 1.3x (b) in training steps/s.
 *
 *   npx tsx bench/tfjs-learner.ts [--epochs 2] [--batch 64] [--rounds 3] [--data subset|full]
 */
import { fashionMnist } from './link.js';
import { benchArgs, median, report } from './report.js';
import { loadTfjs, useTfjsOn } from '../test/support/tfjs.js';
import { formatAdapter, Loader } from '../src/index.js';
import { getNodeDevice, openDataset } from '../src/node.js';
import { tfjsLearner } from '../src/tfjs.js';

const { values } = benchArgs(import.meta.url, { options: { epochs: { type: 'string', default: '2' }, batch: { type: 'string', default: '64' }, rounds: { type: 'string', default: '3' }, data: { type: 'string', default: 'subset' } } });
const [epochs, batchSize, rounds] = [Number(values.epochs), Number(values.batch), Number(values.rounds)];
const gpu = (await getNodeDevice({ required: true }))!;
const { device } = gpu;
const tf = await loadTfjs();
const webgpu = await useTfjsOn(tf, device);
if (!webgpu.ok) throw new Error(webgpu.why);

const { root } = await fashionMnist({ chunkKiB: 256, compression: 'deflate', data: values.data as 'full' | 'subset' });
const ds = await openDataset(root);
const view = ds.view({ split: 'train' });
const n = view.length;
const steps = epochs * Math.ceil(n / batchSize);

// TF.js alone: the images in memory as CPU arrays, as a tf.data user holds them.
const images = new Uint8Array(n * 784);
const labels = new Int32Array(n);
let at = 0;
for await (const b of new Loader(view, { batchSize: 4096, tensors: ['image', 'label'] })) {
  images.set(b.tensors.image as Uint8Array, at * 784);
  labels.set(b.tensors.label as Int32Array, at);
  at += b.ids.length;
}

/** The MLP of bench/train-vs-tfjs.ts, in Keras layers, seeded alike for both arms. */
const makeModel = () => tf.sequential({
  layers: [
    tf.layers.dense({ inputShape: [784], units: 256, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
    tf.layers.dense({ units: 128, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
  ],
});

async function edgelakeFed(): Promise<{ seconds: number; loss: number }> {
  const model = makeModel();
  const learner = tfjsLearner(tf, model, { classes: 10 });
  const loader = new Loader(view, { batchSize, device, shuffle: { seed: 1, windowChunks: 8 }, tensors: ['image', 'label'], transform: { image: { scale: 1 / 255 } } });
  const started = performance.now();
  const history = await learner.fit(loader, { epochs, lr: 1e-3 });
  const seconds = (performance.now() - started) / 1000;
  learner.dispose();
  model.dispose();
  return { seconds, loss: history.at(-1)!.loss };
}

async function tfDataFed(): Promise<{ seconds: number; loss: number }> {
  const model = makeModel();
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
  const order = Uint32Array.from({ length: n }, (_, i) => i);
  const dataset = tf.data.generator(function* () {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (const i of order) {
      const xs = new Float32Array(784);
      for (let p = 0; p < 784; p++) xs[p] = images[i * 784 + p] / 255;
      const ys = new Float32Array(10);
      ys[labels[i]] = 1;
      yield { xs: tf.tensor1d(xs), ys: tf.tensor1d(ys) };
    }
  }).batch(batchSize);
  const started = performance.now();
  const history = await model.fitDataset(dataset, { epochs, verbose: 0 });
  const seconds = (performance.now() - started) / 1000;
  model.dispose();
  return { seconds, loss: history.history.loss.at(-1) as number };
}

// A warm-up of each compiles TF.js's pipelines; then rounds alternate, so drift hits both alike.
await edgelakeFed();
await tfDataFed();
const [ours, theirs]: { seconds: number; loss: number }[][] = [[], []];
for (let r = 0; r < rounds; r++) {
  ours.push(await edgelakeFed());
  theirs.push(await tfDataFed());
}
const [oursRate, theirsRate] = [median(ours.map((o) => steps / o.seconds)), median(theirs.map((o) => steps / o.seconds))];
report('tfjs-learner', 'A TF.js model fed by edgelake\'s GPU batches vs by tf.data from CPU arrays (same adapter, one run)', [
  { measure: 'edgelake loader -> tfjsLearner (GPU batches, no copy)', value: oursRate, unit: 'steps/s' },
  { measure: 'tf.data from CPU arrays -> model.fitDataset', value: theirsRate, unit: 'steps/s' },
  { measure: 'ratio edgelake-fed / tf.data-fed', value: oursRate / theirsRate, unit: 'x (target >= 1.3)' },
], [
  `model: MLP 784-256-128-10 (ReLU, softmax) in tfjs-layers, Adam 1e-3, batch ${batchSize}; ${epochs} epoch(s) of the ${n} Fashion-MNIST training images per round (${steps} steps), median of ${rounds} alternating rounds after one warm-up each`,
  `TF.js ${tf.version_core}: ${webgpu.why}; adapter: ${formatAdapter(gpu.adapter)}`,
  `edgelake: Loader (folder dataset, 256 KiB deflate chunks, shuffled) with the device: pixels scaled on the GPU, each batch a GPUBuffer handed to TF.js; loss and accuracy read once per epoch`,
  `tf.data: the images decoded once into memory; generator (shuffle, /255, one-hot per sample) -> batch -> fitDataset, which reads the loss back every batch as TF.js does`,
  `last-epoch loss per round: edgelake ${ours.map((o) => o.loss.toFixed(3)).join(', ')}; tf.data ${theirs.map((o) => o.loss.toFixed(3)).join(', ')}`,
]);
tf.disposeVariables();
device.destroy();
