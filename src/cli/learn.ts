import { writeFile } from 'node:fs/promises';
import { MAX_SEED, parseFlags, positiveInt, wholeNumber, type Flags } from './flags.js';
import { ChunkCache } from '../cache/cache.js';
import { MemoryChunkStore } from '../cache/memory-store.js';
import { EdgelakeError } from '../errors.js';
import { DEFAULT_LIMITS } from '../format/limits.js';
import { REFS_PATH } from '../format/manifest.js';
import { parseJson, validateRefs } from '../format/validate.js';
import { openSinkNode } from '../runtime/sink.node.js';
import { ActiveLearner, type RoundResult } from '../runtime/learn/active-learner.js';
import { openDataset } from '../runtime/open.node.js';
import type { Dataset } from '../runtime/dataset/dataset.js';
import { formatAdapter } from '../kernels/device.js';
import { getNodeDevice } from '../kernels/device.node.js';
import { mlp } from '../runtime/model/zoo.js';
import { learningCurvesSvg, type CurveSeries } from './plot.js';
import { isStrategyName, STRATEGIES, type StrategyName } from '../sampler/strategies/index.js';
import { openCacheFolder, parseSize } from './cache.js';
import { formatBytes, progressBar, type CliIo } from './io.js';
import { classCount } from './classes.js';

export const learnUsage =
  `edgelake learn ROOT --strategy ${STRATEGIES.join('|')} --labels N --round K [--cost-aware [--byte-budget B]] [--cold-start k-center|random] [--input TENSOR] [--input-size N] [--label TENSOR] [--seed S] [--epochs E] [--device gpu|cpu] [--cache DIR] [--ref R] [--json] [--plot FILE.svg] [--commit]`;

export const learnFlags = {
  strategy: { type: 'string', default: 'margin', value: STRATEGIES.join('|'), help: 'how each round picks the samples to label' },
  labels: { type: 'string', value: 'N', help: 'stop at N labels (default 1000)' },
  round: { type: 'string', value: 'K', help: 'labels bought per round (default 100)' },
  'cost-aware': { type: 'boolean', help: 'pick by value per byte fetched: the chunks worth fetching, then the samples in them' },
  'byte-budget': { type: 'string', value: 'B', help: 'with --cost-aware: at most this many bytes fetched a round, e.g. 512K' },
  'cold-start': { type: 'string', value: 'k-center|random', help: 'the first round\'s pick, before any label (default: the strategy\'s own)' },
  input: { type: 'string', value: 'TENSOR', help: 'the tensor the model learns from, of one shape (default image)' },
  'input-size': { type: 'string', value: 'N', help: 'images of any size: random-resized crops to NxN to train on, centre crops to score and test' },
  label: { type: 'string', value: 'TENSOR', help: 'the class label tensor the oracle answers from (default label); without class names, its largest label + 1 classes' },
  seed: { type: 'string', value: 'S', help: 'the seed of every random choice (default 0)' },
  epochs: { type: 'string', value: 'E', help: 'training epochs a round (default 8)' },
  device: { type: 'string', value: 'gpu|cpu', help: 'gpu: WebGPU, required; cpu: the CPU references (default: the GPU when there is one)' },
  cache: { type: 'string', value: 'DIR', help: 'a persistent chunk cache folder (default: in memory, from empty)' },
  json: { type: 'boolean', help: 'print the rounds as JSON' },
  plot: { type: 'string', value: 'FILE.svg', help: 'draw the learning curves, against random sampling, into an SVG file' },
  ref: { type: 'string', value: 'R', help: 'the ref to read (and, with --commit, to move; default the head)' },
  commit: { type: 'boolean', help: 'write the labels bought into the dataset as a new version (label tensor and its mask)' },
} as const satisfies Flags;

/** `edgelake learn`: active learning on the train split, evaluated on the test split after every round. */
export async function learnCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(learnFlags, args);
  if (positionals.length !== 1) throw new EdgelakeError('invalid-input', `usage: ${learnUsage}`);
  const strategy = values.strategy!;
  if (!isStrategyName(strategy)) throw new EdgelakeError('invalid-input', `--strategy must be one of ${STRATEGIES.join(', ')}, not "${values.strategy}"`);
  const coldStart = values['cold-start'] as 'k-center' | 'random' | undefined;
  if (coldStart !== undefined && !['k-center', 'random'].includes(coldStart)) throw new EdgelakeError('invalid-input', `--cold-start must be k-center or random, not "${coldStart}"`);
  if (values.device !== undefined && !['gpu', 'cpu'].includes(values.device)) throw new EdgelakeError('invalid-input', `--device must be gpu or cpu, not "${values.device}"`);
  if (values.plot !== undefined && !/\.svg$/i.test(values.plot)) throw new EdgelakeError('invalid-input', `--plot draws SVG: name the file .svg, not ${values.plot}`);
  const maxLabels = positiveInt(values.labels, '--labels', 1000);
  const roundSize = positiveInt(values.round, '--round', 100);
  const seed = wholeNumber(values.seed, '--seed', 0, MAX_SEED);
  if (values['byte-budget'] !== undefined && !values['cost-aware']) throw new EdgelakeError('invalid-input', '--byte-budget needs --cost-aware (only a cost-aware pick counts bytes)');
  const byteBudget = values['byte-budget'] === undefined ? undefined : parseSize(values['byte-budget'], '--byte-budget');
  if (values.commit && values.ref !== undefined) await checkCommitRef(positionals[0], values.ref);
  const gpu = values.device === 'cpu' ? null : await getNodeDevice({ required: values.device === 'gpu' ? true : undefined }); // no --device: EDGELAKE_REQUIRE_GPU decides
  const device = gpu?.device ?? null;
  const epochs = positiveInt(values.epochs, '--epochs', 8);
  const [input, target] = [values.input ?? 'image', values.label ?? 'label'];
  const inputSize = values['input-size'] === undefined ? undefined : positiveInt(values['input-size'], '--input-size', 0);

  /** One run from an empty cache (its own, unless --cache is given for the main run). */
  const runOne = async (which: StrategyName, costAware: boolean, cache: ChunkCache, label: string, first?: 'k-center' | 'random', after?: (al: ActiveLearner) => Promise<void>): Promise<RoundResult[]> => {
    const ds = await openDataset(positionals[0], { cache, ref: values.ref });
    if (costAware && byteBudget !== undefined) checkBudget(ds, input, byteBudget);
    const stored = ds.tensor(input).shape;
    if (inputSize === undefined && stored.some((d) => d === null)) throw new EdgelakeError('invalid-input', `tensor ${input} holds images of any size [${stored.map((d) => d ?? '*').join(', ')}]: give --input-size N to fit them to NxN (or --input a tensor of one shape, a thumbnail)`);
    // Images fitted to NxN, as train --input-size does: a random resized crop to train on, the centre to score and test.
    const fit = inputSize === undefined ? undefined : { fit: { size: [inputSize, inputSize] as const, crop: 'random' as const } };
    const shape = inputSize === undefined ? (stored as number[]) : [inputSize, inputSize, stored[2] ?? 3];
    const classes = await classCount(ds, target);
    const learner = mlp({ layers: [shape.reduce((a, b) => a * b, 1), 256, 128, classes], seed, device });
    const al = new ActiveLearner({ dataset: ds, input, target, inputTransform: fit, strategy: which, roundSize, maxLabels, learner, costAware, byteBudget, seed, epochs, device, coldStart: first });
    const show = progressBar(io, label);
    al.addEventListener('round', (e) => {
      const r = e.detail;
      show(r.labels, maxLabels, `accuracy ${r.accuracy.toFixed(4)}, ${formatBytes(r.bytesFetched)} fetched`);
    });
    try {
      const rounds = await al.run();
      await after?.(al);
      return rounds;
    } finally {
      learner.dispose();
    }
  };
  const memoryCache = () => new ChunkCache(new MemoryChunkStore(), { budgetBytes: 2 ** 40 });
  const mainCache = values.cache ? await openCacheFolder(values.cache, undefined, io) : memoryCache();
  try {
    const costAware = Boolean(values['cost-aware']);
    const name = `${strategy}${costAware ? ' (cost-aware)' : ''}`;
    // --commit: the labels bought become a version of the dataset (its labels, and the mask of which were bought).
    let committed: string | undefined;
    const commit = async (al: ActiveLearner) => {
      committed = (await al.commit({ sink: openSinkNode(positionals[0]), ref: values.ref, message: `edgelake learn --strategy ${strategy}: ${al.pool.labelledCount} labels` })).versionId;
    };
    const rounds = await runOne(strategy, costAware, mainCache, name, coldStart, values.commit ? commit : undefined);
    const series: CurveSeries[] = [{ name, points: rounds }];
    if (values.plot) {
      // The baseline is plain random sampling, whatever first pick --cold-start gives the main run.
      if (strategy !== 'random' || costAware) series.push({ name: 'random', points: await runOne('random', false, memoryCache(), 'random baseline') });
      await writeFile(values.plot, learningCurvesSvg(series, `edgelake learn ${strategy}`));
    }
    const result = {
      strategy, costAware, seed, device: device ? 'gpu' : 'cpu', adapter: gpu ? formatAdapter(gpu.adapter) : 'cpu', roundSize, maxLabels,
      rounds: rounds.map((r) => ({ round: r.round, labels: r.labels, bytesFetched: r.bytesFetched, probeBytes: r.probeBytes, accuracy: r.accuracy, seconds: r.seconds })),
      ...(committed && { committed }),
      ...(series.length > 1 ? { baseline: series[1].points.map((r) => ({ labels: r.labels, bytesFetched: r.bytesFetched, accuracy: r.accuracy })) } : {}),
    };
    const last = rounds.at(-1)!;
    io.stdout(values.json ? JSON.stringify(result) + '\n'
      : `${name}: test accuracy ${last.accuracy.toFixed(4)} with ${last.labels} labels and ${formatBytes(last.bytesFetched)} fetched (probe ${formatBytes(last.probeBytes)})${values.plot ? `; curves in ${values.plot}` : ''}${committed ? `; labels committed as version ${committed}` : ''}\n`);
    return 0;
  } finally {
    await mainCache.store.close();
  }
}

/**
 * --commit moves the ref --ref names, so it must be a branch: a tag or a version id is refused
 * before the run rather than after it (the rule of commitDataset's refToMove).
 */
async function checkCommitRef(root: string, ref: string): Promise<void> {
  const bytes = await openSinkNode(root).read(REFS_PATH);
  if (!bytes) return; // no dataset there: opening it says so
  const refs = validateRefs(parseJson(bytes, REFS_PATH, DEFAULT_LIMITS));
  if (Object.hasOwn(refs.refs, ref)) return;
  const branch = `edgelake branch ${root} NAME --from ${ref} makes one there`;
  if (refs.tags && Object.hasOwn(refs.tags, ref)) throw new EdgelakeError('invalid-input', `--ref ${ref} is a tag, and tags never move: --commit needs a branch (${branch})`);
  const { version } = await openDataset(root, { ref }); // no such name: its not-found
  throw new EdgelakeError('invalid-input', `--ref ${ref} is version ${version}, not a branch: --commit needs a branch to move (${branch})`);
}

/** A cost-aware round fetches whole chunks: a budget below the smallest input chunk buys none. */
function checkBudget(ds: Dataset, input: string, budget: number): void {
  const smallest = ds.tensor(input).chunks.reduce((a, c) => Math.min(a, c.bytes), Infinity);
  if (budget < smallest) throw new EdgelakeError('invalid-input', `--byte-budget ${formatBytes(budget)} is too small for one round: it fetches no sample (the smallest ${input} chunk is ${formatBytes(smallest)})`);
}
