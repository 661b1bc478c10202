import { EdgelakeError } from '../errors.js';
import { randomSelect } from './select.js';
import type { ScoreMeasure } from './strategies/strategy.js';

/**
 * Selection via proxy (Coleman et al. 2020): a small model over the cheap probe embeddings,
 * trained on the labelled probes each round, scores the whole pool without fetching a sample.
 * The sampler owns the recipe; the caller supplies the model (e.g. the zoo's `head`).
 */

/** A batch of labelled probe rows, in the shape a loader gives. */
export interface ProxyBatch {
  ids: Uint32Array;
  tensors: { probe: Float32Array; label: Int32Array };
}

/** What the sampler asks of a proxy model (edgelake's Model has it). */
export interface ProxyModel {
  fit(batches: (epoch: number) => AsyncIterable<ProxyBatch>, options: { epochs: number; lr: number; input: 'probe'; target: 'label' }): Promise<unknown>;
  /** Uncertainty of n rows; `passes` > 1: MC-dropout. */
  uncertainty(x: Float32Array, n: number, measure: ScoreMeasure, options: { passes: number; batchSize: number }): Promise<Float32Array>;
  dispose(): void;
}

/** The proxy to build: an MLP from `dims` inputs through `hidden` to `classes`, dropout after each hidden layer. */
export interface ProxySpec {
  dims: number;
  classes: number;
  hidden: number[];
  dropout: number;
  seed: number;
}

export type ProxyFactory = (spec: ProxySpec) => ProxyModel;

/** The recipe: one hidden layer of 128 with dropout 0.3 (BALD's passes sample it), 30 epochs of Adam at 3e-3, batches of 64. */
export const PROXY_RECIPE = Object.freeze({ hidden: [128], dropout: 0.3, epochs: 30, lr: 3e-3, batchSize: 64 });

export interface ProxyScoreOptions {
  /** Builds a fresh proxy each call; it is disposed after scoring. */
  factory: ProxyFactory;
  dims: number;
  classes: number;
  /** Probe rows of the labelled samples and their labels. */
  labelled: Float32Array;
  labels: Int32Array;
  /** Probe rows to score. */
  pool: Float32Array;
  measure: ScoreMeasure;
  /** MC-dropout passes for 'bald' (default 10); other measures take one. */
  passes?: number;
  /** The run's seed and round: the proxy's weights and batch order come from them. */
  seed: number;
  round: number;
}

/** Uncertainty of each pool row under `measure`, from a proxy trained on the labelled rows. */
export async function proxyScores(o: ProxyScoreOptions): Promise<Float32Array> {
  const { dims, labels } = o;
  if (!(Number.isInteger(dims) && dims > 0)) throw new EdgelakeError('invalid-input', `proxyScores: dims must be a positive integer, got ${dims}`);
  if (o.labelled.length !== labels.length * dims) {
    throw new EdgelakeError('invalid-input', `proxyScores: ${o.labelled.length} labelled floats for ${labels.length} labels x ${dims} dims`);
  }
  if (o.pool.length % dims !== 0) throw new EdgelakeError('invalid-input', `proxyScores: ${o.pool.length} pool floats, not a multiple of dims ${dims}`);
  if (labels.length === 0) throw new EdgelakeError('invalid-input', 'proxyScores: nothing labelled to train the proxy on');
  const r = PROXY_RECIPE;
  // seed + round + 1: the proxy's seed since the first release, so saved runs reproduce.
  const proxy = o.factory({ dims, classes: o.classes, hidden: [...r.hidden], dropout: r.dropout, seed: o.seed + o.round + 1 });
  try {
    await proxy.fit((epoch) => rowBatches(o.labelled, labels, dims, r.batchSize, o.seed + epoch), { epochs: r.epochs, lr: r.lr, input: 'probe', target: 'label' });
    const passes = o.measure === 'bald' ? o.passes ?? 10 : 1;
    return await proxy.uncertainty(o.pool, o.pool.length / dims, o.measure, { passes, batchSize: 4096 });
  } finally {
    proxy.dispose();
  }
}

/** Shuffled batches over rows held in memory, as a loader would give them. */
async function* rowBatches(x: Float32Array, y: Int32Array, dims: number, batchSize: number, seed: number): AsyncGenerator<ProxyBatch> {
  const order = randomSelect(Uint32Array.from(y.keys()), y.length, seed);
  for (let start = 0; start < order.length; start += batchSize) {
    const ids = order.subarray(start, start + batchSize);
    const rows = new Float32Array(ids.length * dims);
    ids.forEach((i, r) => rows.set(x.subarray(i * dims, (i + 1) * dims), r * dims));
    yield { ids, tensors: { probe: rows, label: Int32Array.from(ids, (i) => y[i]) } };
  }
}
