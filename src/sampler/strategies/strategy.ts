import { EdgelakeError } from '../../errors.js';
import type { UncertaintyMeasure } from '../../kernels/uncertainty/uncertainty.ref.js';

/** The uncertainty measures a strategy may ask the proxy model for ('bald' takes MC-dropout passes). */
export type ScoreMeasure = Extract<UncertaintyMeasure, 'least-confidence' | 'margin' | 'entropy' | 'bald'>;

/** What the caller computes before a strategy selects. */
export interface StrategyNeeds {
  /** Uncertainty of every candidate under this measure (higher = less sure); none when absent. */
  measure?: ScoreMeasure;
  /** Probe embeddings of the candidates and of the labelled samples. */
  embeddings: boolean;
}

/** What a strategy selects from: the candidates, and what its `needs` asked for. */
export interface SelectInput {
  /** Distinct sample ids (the unlabelled pool, or the part of it a fetch brings for free). */
  candidates: Uint32Array;
  /** scores[i] belongs to candidates[i]; given when `needs.measure` is. */
  scores?: Float32Array;
  /** Row i (dims floats) is candidates[i]; given when `needs.embeddings`. */
  embeddings?: Float32Array;
  /** One row per labelled sample; given when `needs.embeddings`. */
  labelledEmbeddings?: Float32Array;
  /** Floats per embedding row. */
  dims: number;
  /** The run's seed and round: random draws are keyed by them, so a run reproduces. */
  seed: number;
  round: number;
}

/** Up to k distinct candidates, most valuable first; values[i] (higher = better) belongs to ids[i]. */
export interface Selection {
  ids: Uint32Array;
  values: Float64Array;
}

/**
 * A query strategy: what it needs computed, and how it picks k of the candidates. The values let
 * a cost-aware plan take a longer selection as a shortlist and trade value against bytes.
 */
export interface Strategy {
  /** Its registry name (or the user's name for it), as the CLI and the plots show it. */
  readonly name: string;
  readonly needs: StrategyNeeds;
  /**
   * Whether the learner's own uncertainty (of `needs.measure`, on the samples' real inputs) may
   * select again, with this strategy, among the samples the chosen fetch brings at no extra byte.
   */
  readonly rerank?: boolean;
  select(input: SelectInput, k: number): Selection | Promise<Selection>;
}

/** Values for picks made in order: earlier picks are worth more (1 down to just above 1/2). */
export function byRank(ids: Uint32Array): Selection {
  return { ids, values: Float64Array.from(ids, (_, i) => 1 - i / (2 * ids.length)) };
}

/** Values for picks ranked by a score: each pick's own score. */
export function byScore(candidates: Uint32Array, scores: ArrayLike<number>, ids: Uint32Array): Selection {
  const score = new Map(Array.from(candidates, (id, i) => [id, scores[i]]));
  return { ids, values: Float64Array.from(ids, (id) => score.get(id)!) };
}

/** The input a strategy's `needs` promised, or an error naming the strategy and what is missing. */
export function required<T>(value: T | undefined, strategy: string, what: string): T {
  if (value === undefined) throw new EdgelakeError('invalid-input', `strategy ${strategy}: select needs ${what}`);
  return value;
}
