import { uniform } from '../../kernels/random/random.js';
import { checkCandidates, checkEmbeddings, checkK, checkLabelled, fail } from '../check.js';
import { byRank, required, type Strategy } from './strategy.js';

// The authors' constants (github.com/avihu111/TypiClust, deep-al/pycls/al/typiclust.py).
export const MIN_CLUSTER_SIZE = 5;
export const MAX_NUM_CLUSTERS = 500;
export const K_NN = 20;
/** Lloyd iterations: fixed, so the cost is too. */
const LLOYD_ITERATIONS = 10;
/** k-means fits on at most this many rows, a seeded sample (the authors' MiniBatchKMeans batch). */
const FIT_ROWS = 5000;
/** In a bigger cluster, typicality is measured on a seeded sample of this many members. */
const TYPICALITY_ROWS = 500;
const FIT_SALT = 0x7c1a;
const SEED_SALT = 0x7c1b;
const TYPICAL_SALT = 0x7c1c;

export interface TypiClustOptions {
  labelledEmbeddings?: Float32Array;
  seed: number;
  round?: number;
  /** Default MAX_NUM_CLUSTERS. */
  maxClusters?: number;
}

/**
 * TypiClust (Hacohen, Dekel & Weinshall, ICML 2022), for low budgets: cluster the whole pool
 * (labelled rows and candidates) into min(labelled + k, maxClusters) clusters by k-means
 * (k-means++ seeding and a fixed 10 Lloyd iterations, drawn from the counter RNG keyed by seed
 * and round), then k times take the cluster of at least MIN_CLUSTER_SIZE members with the fewest
 * labelled and already picked points (ties to the larger cluster, then the lower index) and pick
 * its most typical candidate: typicality = 1 / mean Euclidean distance to its
 * K = min(K_NN, size - 1) nearest neighbours in the cluster (ties to the lower position). When no
 * such cluster has a candidate left, smaller clusters are used. Row i of `embeddings` is candidates[i].
 *
 * Cost is bounded whatever the pool: k-means fits on at most FIT_ROWS rows (11 passes over
 * them, k-means++ included, against at most 500 centers), assigns every row once, and measures
 * typicality among at most TYPICALITY_ROWS members per cluster. On a 60,000 x 64 pool that is at
 * most about 5.6e9 multiply-adds (1.8e9 + 1.9e9 + 1.9e9): a few seconds on one core (about 3 s
 * with 500 clusters), and O(pool x dims) memory.
 */
export function typiClust(candidates: ArrayLike<number>, embeddings: Float32Array, dims: number, k: number, options: TypiClustOptions): Uint32Array {
  const fn = 'typiClust';
  const { labelledEmbeddings, seed, round = 0, maxClusters = MAX_NUM_CLUSTERS } = options;
  checkK(fn, k);
  checkCandidates(fn, candidates);
  checkEmbeddings(fn, candidates, embeddings, dims);
  checkLabelled(fn, labelledEmbeddings, dims);
  if (!Number.isInteger(seed)) fail(fn, `seed must be an integer, got ${seed}`);
  if (!Number.isInteger(round) || round < 0) fail(fn, `round must be a non-negative integer, got ${round}`);
  if (!Number.isInteger(maxClusters) || maxClusters < 1) fail(fn, `maxClusters must be a positive integer, got ${maxClusters}`);
  const labelled = labelledEmbeddings ? labelledEmbeddings.length / dims : 0;
  const m = candidates.length;
  const picks = Math.min(k, m);
  if (picks === 0) return new Uint32Array(0);
  // Rows 0..labelled-1 are the labelled samples, the rest the candidates in order.
  const n = labelled + m;
  const rows = new Float32Array(n * dims);
  if (labelledEmbeddings) rows.set(labelledEmbeddings);
  rows.set(embeddings, labelled * dims);
  const clusters = Math.min(labelled + picks, maxClusters, n);
  const assign = kMeans(rows, dims, n, clusters, seed, round);

  const members: number[][] = Array.from({ length: clusters }, () => []);
  for (let i = 0; i < n; i++) members[assign[i]].push(i);
  // taken[c]: labelled members plus picks so far; left[c]: candidates still pickable.
  const taken = new Int32Array(clusters);
  const left = new Int32Array(clusters);
  for (let i = 0; i < n; i++) i < labelled ? taken[assign[i]]++ : left[assign[i]]++;
  const queues = new Map<number, number[]>();
  const chosen = new Uint32Array(picks);
  for (let t = 0; t < picks; t++) {
    const c = bestCluster(members, taken, left, true) ?? bestCluster(members, taken, left, false)!;
    let queue = queues.get(c);
    if (!queue) queues.set(c, (queue = typicalOrder(rows, dims, members[c], labelled, seed, round, c)));
    chosen[t] = candidates[queue[queue.length - left[c]] - labelled];
    taken[c]++;
    left[c]--;
  }
  return chosen;
}

/** The cluster with a candidate left and the fewest taken points; ties to the larger, then the lower index. */
function bestCluster(members: number[][], taken: Int32Array, left: Int32Array, bigOnly: boolean): number | undefined {
  let best: number | undefined;
  for (let c = 0; c < members.length; c++) {
    if (left[c] === 0 || (bigOnly && members[c].length < MIN_CLUSTER_SIZE)) continue;
    if (best === undefined || taken[c] < taken[best] || (taken[c] === taken[best] && members[c].length > members[best].length)) best = c;
  }
  return best;
}

/**
 * The cluster's candidate rows, most typical first. In a cluster of more than TYPICALITY_ROWS,
 * a seeded sample of that many candidates is ranked against a sample of as many members, and the
 * rest follow in position order (reached only when one cluster gives that many picks).
 */
function typicalOrder(rows: Float32Array, dims: number, cluster: number[], labelled: number, seed: number, round: number, c: number): number[] {
  const sample = (list: number[], salt: number) => (list.length <= TYPICALITY_ROWS ? list : draw(list, TYPICALITY_ROWS, seed, round, salt));
  const reference = sample(cluster, TYPICAL_SALT + 2 * c);
  const all = cluster.filter((i) => i >= labelled);
  const scored = sample(all, TYPICAL_SALT + 2 * c + 1);
  const kNN = Math.min(K_NN, reference.length - 1);
  const nearest = new Float64Array(kNN);
  const meanDistance = scored.map((i) => {
    if (kNN === 0) return 0; // a cluster of one: nothing to compare with
    let found = 0;
    for (const j of reference) {
      if (j === i) continue;
      const d = sqDistance(rows, i * dims, rows, j * dims, dims);
      if (found === kNN && d >= nearest[kNN - 1]) continue;
      // Insert into the kNN smallest squared distances so far, kept sorted.
      let p = found < kNN ? found++ : kNN - 1;
      for (; p > 0 && nearest[p - 1] > d; p--) nearest[p] = nearest[p - 1];
      nearest[p] = d;
    }
    let sum = 0;
    for (let q = 0; q < found; q++) sum += Math.sqrt(nearest[q]);
    return sum / found;
  });
  const order = scored.map((_, p) => p).sort((a, b) => meanDistance[a] - meanDistance[b] || a - b).map((p) => scored[p]);
  if (order.length === all.length) return order;
  const ranked = new Set(order);
  return [...order, ...all.filter((i) => !ranked.has(i))];
}

/** k-means: k-means++ seeding and Lloyd iterations on a seeded sample, then every row to its nearest center. */
function kMeans(rows: Float32Array, dims: number, n: number, k: number, seed: number, round: number): Int32Array {
  const fit = n <= FIT_ROWS ? Array.from({ length: n }, (_, i) => i) : draw(Array.from({ length: n }, (_, i) => i), FIT_ROWS, seed, round, FIT_SALT);
  const s = fit.length;
  const centers = new Float32Array(k * dims);
  const setCenter = (c: number, row: number) => {
    for (let j = 0; j < dims; j++) centers[c * dims + j] = rows[row * dims + j];
  };
  // k-means++: each next center drawn with probability proportional to the squared distance to the nearest one so far.
  const minD = new Float64Array(s).fill(Infinity);
  let next = fit[Math.floor(uniform(seed, round, SEED_SALT, 0) * s)];
  for (let c = 0; c < k; c++) {
    setCenter(c, next);
    if (c + 1 === k) break;
    let total = 0;
    for (let i = 0; i < s; i++) {
      const d = sqDistance(rows, fit[i] * dims, centers, c * dims, dims);
      if (d < minD[i]) minD[i] = d;
      total += minD[i];
    }
    const u = uniform(seed, round, SEED_SALT, c + 1);
    next = fit[total > 0 ? weightedPick(minD, u * total) : Math.floor(u * s)];
  }
  const assign = new Int32Array(s);
  const sums = new Float64Array(k * dims);
  const counts = new Int32Array(k);
  for (let it = 0; it < LLOYD_ITERATIONS; it++) {
    for (let i = 0; i < s; i++) assign[i] = nearestCenter(rows, fit[i] * dims, centers, k, dims);
    sums.fill(0);
    counts.fill(0);
    for (let i = 0; i < s; i++) {
      counts[assign[i]]++;
      for (let j = 0; j < dims; j++) sums[assign[i] * dims + j] += rows[fit[i] * dims + j];
    }
    // An empty cluster keeps its center.
    for (let c = 0; c < k; c++) if (counts[c] > 0) for (let j = 0; j < dims; j++) centers[c * dims + j] = sums[c * dims + j] / counts[c];
  }
  const all = new Int32Array(n);
  for (let i = 0; i < n; i++) all[i] = nearestCenter(rows, i * dims, centers, k, dims);
  return all;
}

/** The nearest center (ties to the lower index). */
function nearestCenter(rows: Float32Array, at: number, centers: Float32Array, k: number, dims: number): number {
  let best = 0;
  let bestD = Infinity;
  for (let c = 0; c < k; c++) {
    const d = sqDistance(rows, at, centers, c * dims, dims);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best;
}

/** Squared distance of two rows; Float32Arrays only, so the hot loop stays monomorphic; four accumulators overlap the adds. */
function sqDistance(a: Float32Array, ai: number, b: Float32Array, bi: number, dims: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, j = 0;
  for (; j + 3 < dims; j += 4) {
    const x = a[ai + j] - b[bi + j];
    const y = a[ai + j + 1] - b[bi + j + 1];
    const z = a[ai + j + 2] - b[bi + j + 2];
    const w = a[ai + j + 3] - b[bi + j + 3];
    s0 += x * x;
    s1 += y * y;
    s2 += z * z;
    s3 += w * w;
  }
  for (; j < dims; j++) s0 += (a[ai + j] - b[bi + j]) ** 2;
  return s0 + s1 + (s2 + s3);
}

/** The row where the running sum of the weights passes r (the last weighted row if rounding leaves r over). */
function weightedPick(weights: Float64Array, r: number): number {
  let last = 0;
  for (let i = 0; i < weights.length; i++) {
    if (weights[i] === 0) continue;
    last = i;
    if ((r -= weights[i]) < 0) return i;
  }
  return last;
}

/** `count` of `list` by a seeded partial Fisher-Yates. */
function draw(list: number[], count: number, seed: number, round: number, salt: number): number[] {
  const out = list.slice();
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(uniform(seed, round, salt, i) * (out.length - i));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out.slice(0, count);
}

/** TypiClust over the probe embeddings of the candidates and the labelled samples. */
export const typiclust: Strategy = Object.freeze({
  name: 'typiclust',
  needs: Object.freeze({ embeddings: true }),
  select: (input, k) => byRank(typiClust(input.candidates, required(input.embeddings, 'typiclust', 'embeddings'), input.dims, k, {
    labelledEmbeddings: input.labelledEmbeddings, seed: input.seed, round: input.round,
  })),
} satisfies Strategy);
