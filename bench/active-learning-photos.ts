/**
 * Issue 17's must-hold, active learning where bytes matter: on the labelled photo set (2,100
 * JPEGs of any size in ~1 MB chunks, one class per folder so each chunk is mostly one class;
 * scripts/photo-dataset.ts), served by nginx on 127.0.0.1, the labels and the bytes fetched (the
 * thumbnail probe included) that cost-aware margin, cost-blind margin and random need to reach
 * random's final test accuracy (at --labels), averaged over seeds; the margin arms may label up
 * to --arm-labels to reach it, as what they save is bytes. Goal: cost-aware margin at most 0.5x
 * random's bytes. For scale: the same learner trained once (one round's epochs) on every
 * training label; warm-started rounds train for longer and can pass it. Every run starts from an
 * empty cache. Curves (accuracy against labels and bytes) go to
 * bench/results/active-learning-photos.svg.
 *
 *   npx tsx bench/active-learning-photos.ts [--seeds 3] [--round 80] [--labels 560] [--arm-labels 800] [--size 8] [--hidden 128] [--epochs 10] [--device cpu|gpu]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deadline, MB, photoDataset, startNginxBounded } from './link.js';
import { benchArgs, report } from './report.js';
import { STAMPS_PER_CLASS } from '../scripts/photo-dataset.js';
import { ActiveLearner, ChunkCache, formatAdapter, MemoryChunkStore, mlp, type RoundResult } from '../src/index.js';
import { getNodeDevice, learningCurvesSvg, openDataset } from '../src/node.js';

const { values } = benchArgs(import.meta.url, {
  options: {
    seeds: { type: 'string', default: '3' }, round: { type: 'string', default: '80' }, labels: { type: 'string', default: '560' }, 'arm-labels': { type: 'string', default: '800' },
    size: { type: 'string', default: '8' }, hidden: { type: 'string', default: '128' }, epochs: { type: 'string', default: '10' }, device: { type: 'string', default: 'cpu' },
    'max-seconds': { type: 'string', default: '3600' },
  },
});
const seeds = Array.from({ length: Number(values.seeds) }, (_, i) => i);
const [roundSize, maxLabels, size, hidden, epochs] = [Number(values.round), Number(values.labels), Number(values.size), Number(values.hidden), Number(values.epochs)];
// Random's labels set the goal; the margin arms may label more (labels cost no bytes) to reach it.
const armLabels = Math.max(maxLabels, Number(values['arm-labels']));
deadline(Number(values['max-seconds']), 'bench/active-learning-photos.ts');
const gpu = values.device === 'gpu' ? await getNodeDevice({ required: true }) : null;
const root = await photoDataset();
const nginx = await startNginxBounded(root, Number(values['max-seconds']));

interface Arm {
  name: string;
  strategy: 'random' | 'margin';
  costAware: boolean;
}
const arms: Arm[] = [
  { name: 'random', strategy: 'random', costAware: false },
  { name: 'cost-blind margin', strategy: 'margin', costAware: false },
  { name: 'cost-aware margin', strategy: 'margin', costAware: true },
];

/** An ActiveLearner over a fresh, empty-cached dataset with the bench's learner; `labels` a round. */
async function activeLearner(strategy: Arm['strategy'], costAware: boolean, seed: number, labels: { round: number; max: number }) {
  const ds = await openDataset(nginx.url, { cache: new ChunkCache(new MemoryChunkStore(), { budgetBytes: 2 ** 40 }) });
  const classes = ds.tensor('label').classNames!.length;
  // An MLP over the photo fitted to 8x8: on 2 software cores a CNN at 32x32 takes minutes a round.
  const learner = mlp({ layers: [3 * size * size, hidden, classes], seed, device: gpu?.device });
  const al = new ActiveLearner({
    dataset: ds, strategy, costAware, roundSize: labels.round, maxLabels: labels.max, learner, seed, epochs, batchSize: 16,
    probe: 'thumbnail', device: gpu?.device,
    // Photos of any size: a random-resized crop to train on, the centre to score and evaluate.
    inputTransform: { fit: { size: [size, size], crop: 'random', scale: [0.6, 1] }, scale: 1 / 255, mean: [0.5], std: [0.25] },
  });
  return { al, learner };
}

async function run(arm: Arm, seed: number): Promise<RoundResult[]> {
  const { al, learner } = await activeLearner(arm.strategy, arm.costAware, seed, { round: roundSize, max: arm.strategy === 'random' ? maxLabels : armLabels });
  try {
    const rounds = await al.run();
    console.error(`${arm.name} seed ${seed}: ${rounds.map((r) => `${r.labels}:${r.accuracy.toFixed(3)}/${(r.bytesFetched / MB).toFixed(1)}MB`).join(' ')} (${rounds.reduce((a, r) => a + r.seconds, 0).toFixed(0)} s)`);
    return rounds;
  } finally {
    learner.dispose();
  }
}

/** For scale: the learner trained once (one round's epochs, seed 0) on every training label. */
async function allLabels(): Promise<RoundResult & { classes: number }> {
  const ds = await openDataset(root);
  const train = ds.view({ split: 'train' }).length;
  const { al, learner } = await activeLearner('random', false, 0, { round: train, max: train });
  try {
    return { ...(await al.run()).at(-1)!, classes: ds.tensor('label').classNames!.length };
  } finally {
    learner.dispose();
  }
}

type Point = { labels: number; bytesFetched: number; accuracy: number };

/** Mean over seeds, round by round. */
function mean(runs: RoundResult[][]): Point[] {
  return runs[0].map((r, i) => ({
    labels: r.labels,
    bytesFetched: runs.reduce((a, run) => a + run[i].bytesFetched, 0) / runs.length,
    accuracy: runs.reduce((a, run) => a + run[i].accuracy, 0) / runs.length,
  }));
}

/** The first round whose mean accuracy reaches `accuracy`: its labels and bytes (what was paid by then), or undefined. */
const reach = (curve: Point[], accuracy: number): Point | undefined => curve.find((p) => p.accuracy >= accuracy - 1e-9);

try {
  const curves = new Map<string, Point[]>();
  for (const arm of arms) {
    const runs: RoundResult[][] = [];
    for (const seed of seeds) runs.push(await run(arm, seed));
    curves.set(arm.name, mean(runs));
  }
  const all = await allLabels();
  const random = curves.get('random')!;
  const target = random.at(-1)!.accuracy;
  const atRandom = reach(random, target)!;
  const rows = [
    { measure: `the learner trained once (${epochs} epochs) on all ${all.labels} training labels (for scale; chance ${(1 / all.classes).toFixed(3)})`, value: all.accuracy, unit: '' },
    { measure: `random: test accuracy at ${maxLabels} labels (mean of ${seeds.length} seeds)`, value: target, unit: '' },
  ];
  for (const arm of arms) {
    const p = reach(curves.get(arm.name)!, target);
    rows.push(
      { measure: `${arm.name}: labels to reach it`, value: p?.labels ?? NaN, unit: p ? 'labels' : 'not reached' },
      { measure: `${arm.name}: bytes fetched to reach it (probe included)`, value: p ? p.bytesFetched / MB : NaN, unit: p ? 'MB' : 'not reached' },
    );
    if (arm.name !== 'random') {
      rows.push({ measure: `${arm.name}: bytes / random's${arm.costAware ? ' (target <= 0.5)' : ''}`, value: p ? p.bytesFetched / atRandom.bytesFetched : NaN, unit: p ? '' : 'not reached' });
    }
    const last = curves.get(arm.name)!.at(-1)!;
    rows.push({ measure: `${arm.name}: accuracy, MB at ${last.labels} labels`, value: last.accuracy, unit: `at ${(last.bytesFetched / MB).toFixed(1)} MB` });
  }
  const whole = await openDataset(root);
  const probe = whole.tensor('thumbnail');
  mkdirSync(join('bench', 'results'), { recursive: true });
  const series = [...curves].map(([name, points]) => ({ name, points }));
  writeFileSync(join('bench', 'results', 'active-learning-photos.svg'), learningCurvesSvg(series, 'Photo active learning'));
  report('active-learning-photos', 'Active learning on photos: labels and bytes to reach random\'s final accuracy', rows, [
    `tuxpaint-photos (scripts/photo-dataset.ts): ${all.labels} train / ${whole.length - all.labels} test JPEGs of 217-768 px, ${all.classes} classes of ${STAMPS_PER_CLASS} objects, ~1.1 MB chunks of 14-26 photos; probe: the 32x32 RGB thumbnail (${(probe.chunks.reduce((a, c) => a + c.bytes, 0) / MB).toFixed(1)} MB for all ${whole.length}), /255`,
    `learner: MLP ${3 * size * size}-${hidden}-6 over the photo fitted to ${size}x${size} (normalized), ${epochs} epochs per round (warm-started, cosine, Adam 1e-3), batch 16; random-resized crop (scale 0.6-1) to train, centre crop to score and evaluate; proxy: an MLP head over the thumbnails /255`,
    `rounds of ${roundSize} labels, random up to ${maxLabels}, the margin arms up to ${armLabels}; seeds ${seeds.join(', ')}; each run from an empty cache over HTTP (nginx on 127.0.0.1); bytes: everything fetched but the evaluation's, the probe included; "to reach": the first round whose mean accuracy reaches random's final mean`,
    `device: ${gpu ? formatAdapter(gpu.adapter) : 'cpu'}; curves (accuracy against labels and bytes): bench/results/active-learning-photos.svg`,
  ]);
} finally {
  await nginx.stop();
  gpu?.device.destroy();
}
