/**
 * Issue 7's must-holds, in one run, on Fashion-MNIST built with a PCA embedding probe and
 * whole-chunk DEFLATE (so a fetch is a whole chunk):
 * - labels: averaged over seeds, the labels margin (and hybrid) sampling needs to reach the test
 *   accuracy random sampling has at `--random-labels` (4000), as a ratio (target <= 0.5);
 * - bytes: cost-aware margin against cost-blind margin at equal labels: bytes fetched as a ratio
 *   (target <= 0.5) and the accuracy difference (target: within 1 point). Cost-aware margin's
 *   labels ratio too: there the proxy picks the chunks and the learner picks the samples in them.
 * Every run starts from an empty cache; bytes include the probe's. Curves go to
 * bench/results/active-learning.svg.
 *
 * `--learner tfjs` runs the same MLP built in TF.js layers and trained by TF.js on its WebGPU backend
 * on edgelake's device, through tfjsLearner (issue 18: a TF.js learner reaches random's accuracy
 * with at most 0.6x the labels).
 *
 *   npx tsx bench/active-learning.ts [--seeds 3] [--round 250] [--random-labels 4000] [--labels 4000] [--epochs 15] [--dims 64] [--device gpu|cpu] [--data full|subset] [--learner edgelake|tfjs] [--cost-aware yes|no]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fashionMnist } from './link.js';
import { benchArgs, report } from './report.js';
import { loadTfjs, useTfjsOn, type Tfjs } from '../test/support/tfjs.js';
import { ActiveLearner, ChunkCache, formatAdapter, MemoryChunkStore, mlp, type Learner, type RoundResult, type StrategyName as Strategy } from '../src/index.js';
import { getNodeDevice, learningCurvesSvg, openDataset } from '../src/node.js';
import { tfjsLearner } from '../src/tfjs.js';

const { values } = benchArgs(import.meta.url, {
  options: {
    seeds: { type: 'string', default: '3' }, round: { type: 'string', default: '250' }, 'random-labels': { type: 'string', default: '4000' },
    labels: { type: 'string', default: '4000' }, epochs: { type: 'string', default: '15' }, dims: { type: 'string', default: '64' },
    device: { type: 'string', default: 'gpu' }, data: { type: 'string', default: 'full' }, strategies: { type: 'string', default: 'margin,hybrid' },
    learner: { type: 'string', default: 'edgelake' }, 'cost-aware': { type: 'string', default: 'yes' },
  },
});
const seeds = Array.from({ length: Number(values.seeds) }, (_, i) => i);
const roundSize = Number(values.round);
const randomLabels = Number(values['random-labels']);
const gpu = values.device === 'cpu' ? null : await getNodeDevice({ required: true });
const tf = values.learner === 'tfjs' ? await tfjsOn(gpu?.device) : undefined;
const data = await fashionMnist({ chunkKiB: 256, compression: 'deflate', embeddingDims: Number(values.dims), data: values.data as 'full' | 'subset' });

async function run(strategy: Strategy, seed: number, costAware: boolean, maxLabels: number): Promise<RoundResult[]> {
  const ds = await openDataset(data.root, { cache: new ChunkCache(new MemoryChunkStore(), { budgetBytes: 2 ** 40 }) });
  const learner: Learner = tf ? tfjsLearner(tf, tfjsMlp(tf, seed), { classes: 10 }) : mlp({ layers: [784, 256, 128, 10], seed, device: gpu?.device });
  const al = new ActiveLearner({ dataset: ds, strategy, roundSize, maxLabels, learner, costAware, seed, epochs: Number(values.epochs), device: gpu?.device });
  try {
    const rounds = await al.run();
    console.error(`${strategy}${costAware ? ' cost-aware' : ''} seed ${seed}: ${rounds.map((r) => `${r.labels}:${r.accuracy.toFixed(3)}/${(r.bytesFetched / 1e6).toFixed(1)}MB`).join(' ')}`);
    return rounds;
  } finally {
    learner.dispose();
  }
}

/** Mean over seeds, round by round. */
function mean(runs: RoundResult[][]): { labels: number; bytesFetched: number; accuracy: number }[] {
  return runs[0].map((r, i) => ({
    labels: r.labels,
    bytesFetched: runs.reduce((a, run) => a + run[i].bytesFetched, 0) / runs.length,
    accuracy: runs.reduce((a, run) => a + run[i].accuracy, 0) / runs.length,
  }));
}

/** Labels at which a curve first reaches `accuracy` (linear between rounds), or Infinity. */
function labelsToReach(curve: { labels: number; accuracy: number }[], accuracy: number): number {
  for (const [i, p] of curve.entries()) {
    if (p.accuracy < accuracy) continue;
    if (i === 0) return p.labels;
    const q = curve[i - 1];
    return q.labels + ((accuracy - q.accuracy) / (p.accuracy - q.accuracy)) * (p.labels - q.labels);
  }
  return Infinity;
}

const random = mean(await sequential(seeds, (s) => run('random', s, false, randomLabels)));
const target = random.at(-1)!.accuracy;
const rows = [{ measure: `random: test accuracy at ${randomLabels} labels (mean of ${seeds.length} seeds)`, value: target, unit: '' }];
const series = [{ name: 'random', points: random }];
let blindMargin: ReturnType<typeof mean> | undefined;
for (const strategy of values.strategies!.split(',') as Strategy[]) {
  const curve = mean(await sequential(seeds, (s) => run(strategy, s, false, Number(values.labels))));
  if (strategy === 'margin') blindMargin = curve;
  series.push({ name: strategy, points: curve });
  const needed = labelsToReach(curve, target);
  rows.push(
    { measure: `${strategy}: labels to reach random's accuracy at ${randomLabels}`, value: needed, unit: 'labels' },
    { measure: `${strategy}: labels ratio vs random (target <= 0.5)`, value: needed / randomLabels, unit: '' },
  );
}
if (blindMargin && values['cost-aware'] !== 'no') {
  const aware = mean(await sequential(seeds, (s) => run('margin', s, true, Number(values.labels))));
  series.push({ name: 'margin (cost-aware)', points: aware });
  const [b, a] = [blindMargin.at(-1)!, aware.at(-1)!];
  const needed = labelsToReach(aware, target);
  rows.push(
    { measure: `cost-aware margin: labels to reach random's accuracy at ${randomLabels}`, value: needed, unit: 'labels' },
    { measure: 'cost-aware margin: labels ratio vs random (target <= 0.5)', value: needed / randomLabels, unit: '' },
    { measure: `cost-aware margin: bytes fetched / cost-blind margin's at ${a.labels} labels (target <= 0.5)`, value: a.bytesFetched / b.bytesFetched, unit: '' },
    { measure: `cost-aware margin: accuracy minus cost-blind margin's at ${a.labels} labels (target >= -0.01)`, value: a.accuracy - b.accuracy, unit: '' },
    { measure: 'cost-blind margin: bytes fetched', value: b.bytesFetched / 1e6, unit: 'MB' },
    { measure: 'cost-aware margin: bytes fetched', value: a.bytesFetched / 1e6, unit: 'MB' },
  );
}
mkdirSync(join('bench', 'results'), { recursive: true });
writeFileSync(join('bench', 'results', 'active-learning.svg'), learningCurvesSvg(series, 'Fashion-MNIST active learning'));
report('active-learning', 'Active learning: labels and bytes against random and cost-blind sampling', rows, [
  `${data.description}; learner MLP 784-256-128-10${tf ? ` in TF.js layers trained by TF.js (${tf.getBackend()} backend) through tfjsLearner` : ''} (${values.epochs} epochs per round, warm-started, cosine learning rate), scorer an MLP head over the probe; rounds of ${roundSize}`,
  `device: ${gpu ? formatAdapter(gpu.adapter) : 'cpu'}; seeds ${seeds.join(', ')}; every run from an empty cache, bytes include the probe`,
  'curves: bench/results/active-learning.svg',
]);

/** TF.js with its WebGPU backend on edgelake's device (or its CPU backend without one). */
async function tfjsOn(device: GPUDevice | undefined): Promise<Tfjs> {
  const tf = await loadTfjs();
  if (!device) await tf.setBackend('cpu');
  else {
    const webgpu = await useTfjsOn(tf, device);
    if (!webgpu.ok) throw new Error(webgpu.why);
  }
  return tf;
}

/** The learner's MLP in Keras layers, seeded per run. */
function tfjsMlp(tf: Tfjs, seed: number) {
  const init = (k: number) => tf.initializers.glorotUniform({ seed: seed * 3 + k });
  return tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [784], units: 256, activation: 'relu', kernelInitializer: init(1) }),
      tf.layers.dense({ units: 128, activation: 'relu', kernelInitializer: init(2) }),
      tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init(3) }),
    ],
  });
}

async function sequential<T>(items: number[], f: (item: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (const item of items) out.push(await f(item));
  return out;
}
