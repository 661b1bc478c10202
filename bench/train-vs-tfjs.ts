/**
 * Training throughput: edgelake's MLP (784-256-128-10, ReLU, softmax cross-entropy, Adam lr 1e-3)
 * against the same network in TensorFlow.js, side by side in one run, on one fixed batch. Both
 * start from the same weights and take the same number of steps, so their final losses must agree:
 * the check that both did the same work. Issue 6 target: edgelake GPU >= 1.5x TF.js.
 *
 * TF.js runs its WebGPU backend on edgelake's own dawn-node device (same adapter, same queue),
 * else its pure-JS CPU backend. Its Node builds ship no gradients (those come with tfjs-layers'
 * ESM), so the ESM builds are bundled once with esbuild into a temporary file and imported.
 *
 *   npx tsx bench/train-vs-tfjs.ts [--batch 128] [--steps 20] [--warmup 5] [--rounds 3] [--cpu-steps 3] [--tfjs webgpu|cpu]
 */
import type * as TF from '@tensorflow/tfjs-core';
import { loadTfjs, useTfjsOn, type Tfjs } from '../test/support/tfjs.js';
import { benchArgs, median, report, type BenchRow } from './report.js';
import { type Batch, describeAdapter, formatAdapter, mlp, type Model, Optimizer } from '../src/index.js';
import { getNodeDevice } from '../src/node.js';

const { values } = benchArgs(import.meta.url, {
  options: {
    batch: { type: 'string', default: '128' }, steps: { type: 'string', default: '20' }, warmup: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' }, 'cpu-steps': { type: 'string', default: '3' }, tfjs: { type: 'string', default: 'webgpu' },
  },
});
const [batch, steps, warmup, rounds, cpuSteps] = [values.batch, values.steps, values.warmup, values.rounds, values['cpu-steps']].map(Number);
const widths = [784, 256, 128, 10];
const weightCount = 784 * 256 + 256 * 128 + 128 * 10;
// Forward and weight-gradient products for every layer, input gradients for every layer but the
// first: neither side computes the gradient of the data (nothing needs it).
const flopsPerStep = 2 * batch * (2 * weightCount + (weightCount - 784 * 256));

/** What each side does per step, how it waits for the work, and its loss on the batch. */
interface Trainer {
  step(): void;
  sync(): Promise<void>;
  loss(): Promise<number>;
}

const gpu = (await getNodeDevice({ required: true }))!;
const { device } = gpu;
let seed = 1;
const random = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
const xData = Float32Array.from({ length: batch * widths[0] }, random);
const yData = Int32Array.from({ length: batch }, () => Math.floor(random() * widths.at(-1)!));

function edgelakeTrainer(model: Model, sync: () => Promise<void>): Trainer {
  const b = model.backend;
  const [x, labels] = [b.create(xData.length, 'x', xData), b.create(batch, 'y', yData)];
  model.optimizer = new Optimizer({ type: 'adam', lr: 1e-3 }, b, model.params);
  const one = async function* (): AsyncIterable<Batch> {
    yield { ids: Uint32Array.from({ length: batch }, (_, i) => i), tensors: { image: xData, label: yData } };
  };
  return {
    step: () => {
      model.trainStep(x, labels, batch, 'index');
      b.flush();
    },
    sync,
    loss: async () => (await model.evaluate(one())).loss,
  };
}

/** Selects TF.js's WebGPU backend on our device, else its CPU one; says which and why. */
async function selectTfjsBackend(tf: Tfjs, wanted: string): Promise<{ name: string; why: string }> {
  if (wanted !== 'webgpu') return { name: await setOrThrow(tf, 'cpu'), why: `--tfjs ${wanted}` };
  const webgpu = await useTfjsOn(tf, device);
  if (webgpu.ok) return { name: 'webgpu', why: webgpu.why };
  return { name: await setOrThrow(tf, 'cpu'), why: `${webgpu.why}, so the pure-JS CPU backend ran` };
}

async function setOrThrow(tf: Tfjs, name: string): Promise<string> {
  if (!(await tf.setBackend(name))) throw new Error(`TF.js backend ${name} failed to start`);
  return name;
}

/** The same MLP in tfjs-core ops, from `weights` (edgelake's initial params, same layout), trained with tf.train.adam. */
function tfjsTrainer(tf: Tfjs, weights: Float32Array[]): Trainer {
  const vars = weights.map((w, i) => {
    const [fanIn, fanOut] = [widths[i >> 1], widths[(i >> 1) + 1]];
    return tf.variable(i % 2 ? tf.tensor1d(w) : tf.tensor2d(w, [fanIn, fanOut]), true, `dense_${i >> 1}.${i % 2 ? 'bias' : 'weight'}`);
  });
  const x = tf.tensor2d(xData, [batch, widths[0]]);
  const y = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(yData, 'int32'), widths.at(-1)!), 'float32'));
  const optimizer = tf.train.adam(1e-3);
  const loss = (): TF.Scalar => {
    let h: TF.Tensor = x;
    for (let l = 0; l < vars.length / 2; l++) {
      h = tf.add(tf.matMul(h, vars[2 * l]), vars[2 * l + 1]);
      if (l < vars.length / 2 - 1) h = tf.relu(h);
    }
    return tf.losses.softmaxCrossEntropy(y, h);
  };
  let cost: TF.Scalar | null = null;
  return {
    step: () => {
      cost?.dispose();
      cost = optimizer.minimize(loss, true, vars);
    },
    sync: async () => void (await cost?.data()),
    loss: async () => {
      const l = tf.tidy(loss);
      const [value] = await l.data();
      l.dispose();
      return value;
    },
  };
}

/** Steps per second over `n` steps, waiting for the work to finish. */
async function rate(t: Trainer, n: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < n; i++) t.step();
  await t.sync();
  return n / ((performance.now() - started) / 1000);
}

const gpuModel = mlp({ layers: widths, seed: 1, device });
const weights = await Promise.all(gpuModel.params.map((p) => gpuModel.backend.read(p.value)));
const edgelake = edgelakeTrainer(gpuModel, () => device.queue.onSubmittedWorkDone());
const tf = await loadTfjs();
const tfBackend = await selectTfjsBackend(tf, values.tfjs!);
const tfjs = tfjsTrainer(tf, weights);

// Warm-up compiles both sides' pipelines; then rounds alternate, so drift hits both alike.
await rate(edgelake, warmup);
await rate(tfjs, warmup);
const [edgeRates, tfRates]: number[][] = [[], []];
for (let r = 0; r < rounds; r++) {
  edgeRates.push(await rate(edgelake, steps));
  tfRates.push(await rate(tfjs, steps));
}
const [edgeLoss, tfLoss] = [await edgelake.loss(), await tfjs.loss()];

const cpuModel = mlp({ layers: widths, seed: 1 });
const cpu = edgelakeTrainer(cpuModel, () => Promise.resolve());
const cpuRate = await rate(cpu, cpuSteps);

const edge = median(edgeRates);
const tfRate = median(tfRates);
const measures = (who: string, stepsPerSecond: number): BenchRow[] => [
  { measure: `${who}: steps`, value: stepsPerSecond, unit: 'steps/s' },
  { measure: `${who}: samples`, value: stepsPerSecond * batch, unit: 'samples/s' },
  { measure: `${who}: arithmetic`, value: (stepsPerSecond * flopsPerStep) / 1e9, unit: 'GFLOP/s' },
];
const tfName = `TF.js ${tfBackend.name}`;
report('train-vs-tfjs', `Training steps/s: edgelake vs TensorFlow.js (MLP ${widths.join('-')}, Adam, batch ${batch}, one run)`, [
  ...measures('edgelake GPU', edge),
  ...measures(tfName, tfRate),
  ...measures('edgelake CPU references', cpuRate),
  { measure: `ratio edgelake GPU / ${tfName}`, value: edge / tfRate, unit: `x (target >= 1.5)` },
  { measure: 'ratio edgelake GPU / edgelake CPU', value: edge / cpuRate, unit: 'x' },
], [
  `adapter: ${formatAdapter(describeAdapter(device))}`,
  `TF.js ${tf.version_core}: ${tfBackend.name} backend: ${tfBackend.why}`,
  `${warmup} warm-up steps each, then median of ${rounds} alternating rounds of ${steps} steps; edgelake CPU: ${cpuSteps} steps`,
  `rounds (steps/s): edgelake GPU ${edgeRates.map((r) => r.toFixed(1)).join(', ')}; ${tfName} ${tfRates.map((r) => r.toFixed(1)).join(', ')}`,
  `${(flopsPerStep / 1e6).toFixed(1)} MFLOP per step (forward and weight gradients of every layer, input gradients of all but the first, which neither side computes); one fixed random batch, the same for every side`,
  `loss on the batch after ${warmup + rounds * steps} steps from the same weights: edgelake ${edgeLoss.toFixed(5)}, TF.js ${tfLoss.toFixed(5)}`,
]);
gpuModel.dispose();
cpuModel.dispose();
tf.disposeVariables();
device.destroy();
