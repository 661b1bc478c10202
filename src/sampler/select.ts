import { uniform } from '../kernels/random/random.js';
import { checkCandidates, checkEmbeddings, checkK, checkLabelled, fail, toIds } from './check.js';

// The selection helpers the strategies are built from. Every selection returns min(k, candidates)
// distinct ids, in the order chosen; the position helpers work on candidate positions and the
// exported functions check arguments and map to ids.

/** Salt of randomSelect's RNG key, so its draws differ from other users of the same seed. */
const RANDOM_SELECT_SALT = 0x5e1ec7;

/** k ids uniformly at random (a partial Fisher-Yates), reproducible for (seed, round). */
export function randomSelect(candidates: ArrayLike<number>, k: number, seed: number, round = 0): Uint32Array {
  checkK('randomSelect', k);
  checkCandidates('randomSelect', candidates);
  if (!Number.isInteger(seed)) fail('randomSelect', `seed must be an integer, got ${seed}`);
  if (!Number.isInteger(round) || round < 0) fail('randomSelect', `round must be a non-negative integer, got ${round}`);
  const n = candidates.length;
  const m = Math.min(k, n);
  const positions = new Uint32Array(n);
  for (let i = 0; i < n; i++) positions[i] = i;
  for (let i = 0; i < m; i++) {
    const j = i + Math.floor(uniform(seed, round, RANDOM_SELECT_SALT, i) * (n - i));
    const t = positions[i];
    positions[i] = positions[j];
    positions[j] = t;
  }
  return toIds(candidates, positions.subarray(0, m));
}

/** Positions of the k highest scores; ties to the lower position; NaN after everything else. */
function topKPositions(scores: ArrayLike<number>, k: number): Uint32Array {
  const order = new Uint32Array(scores.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  order.sort((a, b) => {
    const sa = scores[a];
    const sb = scores[b];
    const na = Number.isNaN(sa);
    const nb = Number.isNaN(sb);
    if (na || nb) return na === nb ? a - b : na ? 1 : -1;
    return sa === sb ? a - b : sb > sa ? 1 : -1;
  });
  return order.subarray(0, Math.min(k, order.length));
}

/**
 * The k candidates with the highest scores (scores[i] belongs to candidates[i]; higher = more
 * uncertain), most uncertain first; ties go to the lower candidate position, NaN scores rank last.
 */
export function topK(candidates: ArrayLike<number>, scores: ArrayLike<number>, k: number): Uint32Array {
  checkK('topK', k);
  checkCandidates('topK', candidates);
  if (scores.length !== candidates.length) fail('topK', `${scores.length} scores for ${candidates.length} candidates`);
  return toIds(candidates, topKPositions(scores, k));
}

/**
 * Lowers minD[i] to the squared distance from candidate i to `center` where that is smaller, and
 * returns the farthest candidate not yet chosen (minD >= 0; ties to the lower position), or -1.
 * The hot loop of k-center: four accumulators let the CPU overlap the adds.
 */
function relax(emb: Float32Array, dims: number, n: number, center: Float64Array, minD: Float64Array): number {
  let far = -1;
  let farD = -1;
  const d4 = dims & ~3;
  for (let i = 0; i < n; i++) {
    let d = minD[i];
    if (d < 0) continue;
    const p = i * dims;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, j = 0;
    for (; j < d4; j += 4) {
      const a = emb[p + j] - center[j];
      const b = emb[p + j + 1] - center[j + 1];
      const c = emb[p + j + 2] - center[j + 2];
      const e = emb[p + j + 3] - center[j + 3];
      s0 += a * a;
      s1 += b * b;
      s2 += c * c;
      s3 += e * e;
    }
    for (; j < dims; j++) {
      const a = emb[p + j] - center[j];
      s0 += a * a;
    }
    const s = s0 + s1 + (s2 + s3);
    if (s < d) minD[i] = d = s;
    if (d > farD) {
      farD = d;
      far = i;
    }
  }
  return far;
}

/** The candidate nearest the mean of all (ties to the lower position): a seed-free first center. */
function nearestToMean(emb: Float32Array, dims: number, n: number): number {
  const mean = new Float64Array(dims);
  for (let i = 0; i < n; i++) for (let j = 0; j < dims; j++) mean[j] += emb[i * dims + j];
  for (let j = 0; j < dims; j++) mean[j] /= n;
  const minD = new Float64Array(n).fill(Infinity);
  relax(emb, dims, n, mean, minD);
  let best = 0;
  for (let i = 1; i < n; i++) if (minD[i] < minD[best]) best = i;
  return best;
}

/** k-center greedy over candidate positions; see kCenterGreedy. */
function kCenterPositions(emb: Float32Array, dims: number, n: number, k: number, labelled?: Float32Array): Uint32Array {
  const m = Math.min(k, n);
  const chosen = new Uint32Array(m);
  if (m === 0) return chosen;
  // minD[i]: squared distance from candidate i to its nearest center; -1 marks a chosen one.
  const minD = new Float64Array(n).fill(Infinity);
  const center = new Float64Array(dims);
  let next = -1;
  const centers = labelled ? labelled.length / dims : 0;
  for (let c = 0; c < centers; c++) {
    center.set(labelled!.subarray(c * dims, (c + 1) * dims));
    next = relax(emb, dims, n, center, minD);
  }
  if (centers === 0) next = nearestToMean(emb, dims, n);
  for (let t = 0; ; t++) {
    chosen[t] = next;
    minD[next] = -1;
    if (t + 1 === m) return chosen;
    center.set(emb.subarray(next * dims, (next + 1) * dims));
    next = relax(emb, dims, n, center, minD);
  }
}

/**
 * k-center greedy (Sener & Savarese 2018, core-set): repeatedly adds the candidate farthest
 * (Euclidean) from its nearest center, where the centers are the `labelledEmbeddings` rows plus
 * those chosen so far. Row i of `embeddings` (dims floats) is candidates[i]. With no labelled
 * rows, the first center is the candidate nearest the mean of all candidates. Ties go to the lower
 * candidate position. Cost O((labelled rows + k) * n * dims) time, O(n) extra memory.
 */
export function kCenterGreedy(candidates: ArrayLike<number>, embeddings: Float32Array, dims: number, k: number, labelledEmbeddings?: Float32Array): Uint32Array {
  checkK('kCenterGreedy', k);
  checkCandidates('kCenterGreedy', candidates);
  checkEmbeddings('kCenterGreedy', candidates, embeddings, dims);
  checkLabelled('kCenterGreedy', labelledEmbeddings, dims);
  return toIds(candidates, kCenterPositions(embeddings, dims, candidates.length, k, labelledEmbeddings));
}

export interface HybridOptions {
  /** The shortlist is the factor * k most uncertain candidates (default 4; >= 1). */
  factor?: number;
  labelledEmbeddings?: Float32Array;
}

/**
 * Diverse among the uncertain: shortlists the ceil(factor * k) most uncertain candidates (topK),
 * then picks k of them by k-center greedy, so near-duplicates of one confusing sample do not fill the batch.
 * NaN-scored candidates join the shortlist only to make up k.
 */
export function hybridSelect(
  candidates: ArrayLike<number>, scores: ArrayLike<number>, embeddings: Float32Array, dims: number, k: number, options: HybridOptions = {},
): Uint32Array {
  const { factor = 4, labelledEmbeddings } = options;
  checkK('hybridSelect', k);
  checkCandidates('hybridSelect', candidates);
  if (scores.length !== candidates.length) fail('hybridSelect', `${scores.length} scores for ${candidates.length} candidates`);
  if (!Number.isFinite(factor) || factor < 1) fail('hybridSelect', `factor must be a number >= 1, got ${factor}`);
  checkEmbeddings('hybridSelect', candidates, embeddings, dims);
  checkLabelled('hybridSelect', labelledEmbeddings, dims);
  const ranked = topKPositions(scores, Math.ceil(factor * k));
  // NaN scores rank last but would still pad the shortlist, and k-center favours them for being far
  // from the rest: keep them only where fewer than k candidates have a score.
  let scored = 0;
  while (scored < ranked.length && !Number.isNaN(scores[ranked[scored]])) scored++;
  const shortlist = ranked.subarray(0, Math.max(scored, Math.min(k, ranked.length)));
  const sub = new Float32Array(shortlist.length * dims);
  for (let i = 0; i < shortlist.length; i++) sub.set(embeddings.subarray(shortlist[i] * dims, (shortlist[i] + 1) * dims), i * dims);
  const picked = kCenterPositions(sub, dims, shortlist.length, k, labelledEmbeddings);
  return toIds(candidates, toIds(shortlist, picked));
}

export interface ColdStartOptions {
  method: 'k-center' | 'random';
  /** Required for 'k-center': row i (dims floats) is candidates[i]. */
  embeddings?: Float32Array;
  dims?: number;
  /** Used by 'random'; k-center is deterministic. */
  seed: number;
}

/** The first batch, when nothing is labelled yet: k-center greedy over the embeddings, or random. */
export function coldStart(candidates: ArrayLike<number>, k: number, options: ColdStartOptions): Uint32Array {
  if (options.method === 'random') return randomSelect(candidates, k, options.seed);
  if (options.method !== 'k-center') fail('coldStart', `method must be 'k-center' or 'random', got ${String(options.method)}`);
  if (!options.embeddings || options.dims === undefined) fail('coldStart', "method 'k-center' needs embeddings and dims");
  return kCenterGreedy(candidates, options.embeddings, options.dims, k);
}
