import { EdgelakeError } from '../errors.js';
import { costModel, planFetch, type CostModel, type SampleLayout } from './cost.js';
import type { Pool } from './pool.js';
import { proxyScores, type ProxyFactory } from './proxy.js';
import { coldStart } from './select.js';
import { byRank, type ScoreMeasure, type SelectInput, type Selection, type Strategy } from './strategies/strategy.js';

/** Probe embeddings of the pool, held by the caller (who fetched them). */
export interface ProbeRows {
  dims: number;
  /** Row i (dims floats) is the probe of ids[i]. */
  rows(ids: ArrayLike<number>): Float32Array;
}

export interface AcquireOptions {
  strategy: Strategy;
  pool: Pool;
  /** Samples to select this round. */
  k: number;
  /** Without probes (a dataset read in place has none): a random first pick, then the learner's own uncertainty of a random sample of the pool. */
  probes?: ProbeRows;
  /** Probe-less: the learner scores this many candidates per label asked for (default 10). */
  candidatesPerPick?: number;
  seed: number;
  round: number;
  /** The proxy scoring the pool for strategies that need a measure, and the classes it predicts. */
  proxy: ProxyFactory;
  classes: number;
  /** MC-dropout passes for 'bald' (default 10). */
  passes?: number;
  /** The layout of the samples' bytes, and the tensors a selected sample's fetch reads. */
  layout: SampleLayout;
  tensors: readonly string[];
  /** Plan the fetch by value per byte from a shortlist of `shortlistFactor` x k (default 4). */
  costAware?: boolean;
  byteBudget?: number;
  shortlistFactor?: number;
  /** With nothing labelled: this first pick; default random for strategies that need a measure, else the strategy's own. */
  coldStart?: 'k-center' | 'random';
  /** The learner's own uncertainty of `ids` on their real inputs (for strategies that rerank). */
  learnerUncertainty(ids: Uint32Array, measure: ScoreMeasure): Promise<Float32Array>;
}

/**
 * One round's choice of samples to fetch and label. The strategy selects a shortlist from the
 * probes (and the proxy's scores when it needs a measure); a cost-aware plan takes the most value
 * per byte from it; then, for strategies that rerank, the learner's own uncertainty chooses again
 * among every unlabelled sample that the chosen fetch (or the cache) brings at no extra byte.
 * Returns the ids with the strategy's value of each.
 */
export async function acquire(o: AcquireOptions): Promise<Selection> {
  const { strategy, pool, k } = o;
  if (!(Number.isInteger(k) && k >= 0)) throw new EdgelakeError('invalid-input', `acquire: k must be a non-negative integer, got ${k}`);
  // Below 1 the shortlist is shorter than k, and the plan silently returns fewer ids.
  if (o.shortlistFactor !== undefined && !(Number.isFinite(o.shortlistFactor) && o.shortlistFactor >= 1)) {
    throw new EdgelakeError('invalid-input', `acquire: shortlistFactor must be a finite number >= 1, got ${o.shortlistFactor}`);
  }
  if (o.byteBudget !== undefined && !(Number.isFinite(o.byteBudget) && o.byteBudget >= 0)) {
    throw new EdgelakeError('invalid-input', `acquire: byteBudget must be a finite number >= 0, got ${o.byteBudget}`);
  }
  const unlabelled = pool.unlabelled();
  const measure = strategy.needs.measure;
  const wanted = o.costAware ? Math.min(unlabelled.length, k * (o.shortlistFactor ?? 4)) : k;
  // A measure needs a proxy trained on labels: with none yet, the first pick cannot use one.
  const first = pool.labelledCount === 0 ? o.coldStart ?? (measure || !o.probes ? 'random' : undefined) : undefined;
  if (!o.probes && (strategy.needs.embeddings || first === 'k-center')) {
    throw new EdgelakeError('invalid-input', `strategy ${first === 'k-center' ? 'k-center (cold start)' : strategy.name} needs probe embeddings, and this dataset has no probe tensor: use an uncertainty strategy or random`);
  }
  const shortlist = first
    ? byRank(coldStart(unlabelled, wanted, { method: first, embeddings: first === 'k-center' ? o.probes!.rows(unlabelled) : undefined, dims: o.probes?.dims, seed: o.seed }))
    : o.probes
      ? await select(o, unlabelled, measure && (await scoreByProxy(o, o.probes, unlabelled, measure)), wanted)
      : await selectByLearner(o, unlabelled, measure, wanted);
  const rerank = strategy.rerank === true && measure !== undefined && pool.labelledCount > 0;
  if (!o.costAware && !rerank) return { ids: shortlist.ids.slice(0, k), values: shortlist.values.slice(0, k) };
  // One cost model for the plan and the rerank: it asks the cache about every chunk once.
  const cost = await costModel(o.layout, o.tensors, rerank ? unlabelled : shortlist.ids);
  const chosen = o.costAware ? valuesOf(planFetch(shortlist.ids, shortlist.values, k, cost, { budgetBytes: o.byteBudget }).ids, shortlist) : { ids: shortlist.ids.slice(0, k), values: shortlist.values.slice(0, k) };
  return rerank ? rerankFree(o, chosen, unlabelled, cost, measure) : chosen;
}

/**
 * The proxy chose where to fetch; the learner chooses what to label there. Every unlabelled
 * sample whose units the choice fetches (or the cache holds) costs no extra byte, so the learner
 * scores them all and the strategy selects as many as were chosen from them.
 */
async function rerankFree(o: AcquireOptions, chosen: Selection, unlabelled: Uint32Array, cost: CostModel, measure: ScoreMeasure): Promise<Selection> {
  const fetched = new Set(Array.from(chosen.ids, (id) => cost.units(id).map((u) => u.key)).flat());
  const free = unlabelled.filter((id) => cost.units(id).every((u) => u.cached || fetched.has(u.key)));
  if (free.length <= chosen.ids.length) return chosen;
  const scores = await o.learnerUncertainty(free, measure);
  return select(o, free, scores, chosen.ids.length);
}

/** A selection's values for some of its ids. */
function valuesOf(ids: Uint32Array, from: Selection): Selection {
  const value = new Map(Array.from(from.ids, (id, i) => [id, from.values[i]]));
  return { ids, values: Float64Array.from(ids, (id) => value.get(id)!) };
}

/**
 * Probe-less: nothing cheap scores the whole pool, so the learner scores a random sample of it
 * (`candidatesPerPick` x k, fetched for real) and the strategy selects from those.
 */
async function selectByLearner(o: AcquireOptions, unlabelled: Uint32Array, measure: ScoreMeasure | undefined, k: number): Promise<Selection> {
  const n = Math.min(unlabelled.length, k * (o.candidatesPerPick ?? 10));
  const candidates = measure ? coldStart(unlabelled, n, { method: 'random', seed: o.seed * 7919 + o.round }).sort() : unlabelled;
  return select(o, candidates, measure && (await o.learnerUncertainty(candidates, measure)), k);
}

async function select(o: AcquireOptions, candidates: Uint32Array, scores: Float32Array | undefined, k: number): Promise<Selection> {
  const embeddings = o.strategy.needs.embeddings;
  const input: SelectInput = {
    candidates, scores, dims: o.probes?.dims ?? 0, seed: o.seed, round: o.round,
    embeddings: embeddings ? o.probes!.rows(candidates) : undefined,
    labelledEmbeddings: embeddings ? o.probes!.rows(o.pool.labelled()) : undefined,
  };
  const selection = await o.strategy.select(input, k);
  checkSelection(o.strategy.name, selection, candidates, k);
  return selection;
}

/** A user's strategy is checked like ours: at most k distinct candidates, one value each. */
function checkSelection(name: string, s: Selection, candidates: Uint32Array, k: number): void {
  const bad = (why: string) => new EdgelakeError('invalid-input', `strategy ${name}: ${why}`);
  if (!(s?.ids instanceof Uint32Array) || s.values?.length !== s.ids.length) throw bad('select must return { ids: Uint32Array, values } with one value per id');
  if (s.ids.length > k) throw bad(`selected ${s.ids.length} samples, more than the ${k} asked for`);
  const known = new Set(candidates);
  const seen = new Set<number>();
  for (const id of s.ids) {
    if (!known.has(id)) throw bad(`selected sample ${id}, which is not a candidate`);
    if (seen.has(id)) throw bad(`selected sample ${id} twice`);
    seen.add(id);
  }
}

async function scoreByProxy(o: AcquireOptions, probes: ProbeRows, unlabelled: Uint32Array, measure: ScoreMeasure): Promise<Float32Array> {
  const labelled = o.pool.labelled();
  return proxyScores({
    factory: o.proxy, dims: probes.dims, classes: o.classes, measure, passes: o.passes, seed: o.seed, round: o.round,
    labelled: probes.rows(labelled), labels: Int32Array.from(labelled, (id) => o.pool.labelOf(id)!), pool: probes.rows(unlabelled),
  });
}
