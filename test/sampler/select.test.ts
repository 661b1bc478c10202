import { describe, expect, it } from 'vitest';
import { coldStart, hybridSelect, isEdgelakeError, kCenterGreedy, randomSelect, topK } from '../../src/index.js';
import { uniform } from '../../src/kernels/index.js';

function invalid(f: () => unknown, message: RegExp): void {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(isEdgelakeError(caught, 'invalid-input'), String(caught)).toBe(true);
  expect((caught as Error).message).toMatch(message);
}

const ids = (a: Uint32Array): number[] => Array.from(a);
const f32 = (...rows: number[][]): Float32Array => Float32Array.from(rows.flat());

describe('randomSelect', () => {
  const pool = [3, 1, 4, 15, 9, 26, 5, 35, 8, 97];

  it('picks k distinct candidates, the same for a seed and round, others for another', () => {
    const a = randomSelect(pool, 4, 42);
    expect(a.length).toBe(4);
    expect(new Set(a).size).toBe(4);
    for (const id of a) expect(pool).toContain(id);
    expect(ids(randomSelect(pool, 4, 42))).toEqual(ids(a));
    expect(ids(randomSelect(pool, 4, 42, 0))).toEqual(ids(a));
    expect(ids(randomSelect(pool, 4, 43))).not.toEqual(ids(a));
    expect(ids(randomSelect(pool, 4, 42, 1))).not.toEqual(ids(a));
  });

  it('returns every candidate (a permutation) when k exceeds them, and nothing for k = 0', () => {
    expect(ids(randomSelect(pool, 50, 1)).sort((x, y) => x - y)).toEqual(pool.slice().sort((x, y) => x - y));
    expect(randomSelect(pool, 0, 1).length).toBe(0);
    expect(randomSelect([], 3, 1).length).toBe(0);
  });

  it('is uniform: chi-square of first picks and of inclusions stays below the 0.1% bound', () => {
    const n = pool.length;
    const rounds = 3000;
    const first = new Array<number>(n).fill(0);
    const included = new Array<number>(n).fill(0);
    for (let r = 0; r < rounds; r++) {
      const pick = randomSelect(pool, 3, 7, r);
      first[pool.indexOf(pick[0])]++;
      for (const id of pick) included[pool.indexOf(id)]++;
    }
    const chi2 = (counts: number[], expected: number): number => counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    // chi-square with 9 degrees of freedom exceeds 27.88 with probability 0.001. Inclusions are
    // drawn without replacement, so their statistic is smaller still; the same bound is conservative.
    expect(chi2(first, rounds / n)).toBeLessThan(27.88);
    expect(chi2(included, (rounds * 3) / n)).toBeLessThan(27.88);
  });

  it('rejects bad k, seed, round and candidates', () => {
    invalid(() => randomSelect(pool, -1, 1), /randomSelect: k must be a non-negative integer, got -1/);
    invalid(() => randomSelect(pool, 1.5, 1), /k must be a non-negative integer, got 1\.5/);
    invalid(() => randomSelect(pool, 1, 0.5), /seed must be an integer/);
    invalid(() => randomSelect(pool, 1, 1, -1), /round must be a non-negative integer/);
    invalid(() => randomSelect([1, 2, 1], 1, 1), /candidate 1 appears twice/);
    invalid(() => randomSelect([1, -2], 1, 1), /candidate 1 \(-2\) is not an integer/);
  });
});

describe('topK', () => {
  const candidates = [7, 8, 9, 10, 11];
  const scores = [0.5, NaN, 0.9, 0.5, 0.1];

  it('takes the highest scores first, ties to the lower position, NaN last', () => {
    expect(ids(topK(candidates, scores, 3))).toEqual([9, 7, 10]);
    expect(ids(topK(candidates, scores, 5))).toEqual([9, 7, 10, 11, 8]);
    expect(ids(topK(candidates, scores, 9))).toEqual([9, 7, 10, 11, 8]);
    expect(ids(topK(candidates, scores, 0))).toEqual([]);
  });

  it('ranks infinities by value and still puts NaN after -Infinity', () => {
    const s = Float32Array.of(-Infinity, NaN, Infinity, 0, NaN);
    expect(ids(topK([0, 1, 2, 3, 4], s, 5))).toEqual([2, 3, 0, 1, 4]);
  });

  it('rejects scores that do not match the candidates', () => {
    invalid(() => topK(candidates, [1, 2], 1), /topK: 2 scores for 5 candidates/);
  });
});

/**
 * k-center greedy written the slow, obvious way: each step scans every unchosen candidate
 * against every center. An independent check of the fast running-minimum version.
 */
function naiveKCenter(emb: Float32Array, dims: number, n: number, k: number, labelled: Float32Array): number[] {
  const d2 = (a: Float32Array, i: number, b: Float32Array, j: number): number => {
    let s = 0;
    for (let t = 0; t < dims; t++) s += (a[i * dims + t] - b[j * dims + t]) ** 2;
    return s;
  };
  const chosen: number[] = [];
  while (chosen.length < Math.min(k, n)) {
    let best = -1;
    let bestD = -1;
    for (let i = 0; i < n; i++) {
      if (chosen.includes(i)) continue;
      let m = Infinity;
      for (let c = 0; c < labelled.length / dims; c++) m = Math.min(m, d2(emb, i, labelled, c));
      for (const c of chosen) m = Math.min(m, d2(emb, i, emb, c));
      if (m > bestD) [best, bestD] = [i, m];
    }
    chosen.push(best);
  }
  return chosen;
}

describe('kCenterGreedy', () => {
  // 1-D points 0, 1, 2, 10 as ids 100..103.
  const line = [100, 101, 102, 103];
  const lineEmb = f32([0], [1], [2], [10]);

  it('with a labelled center at 0: 10 (distance 10), then 2 (distance 2), then 1, then 0', () => {
    expect(ids(kCenterGreedy(line, lineEmb, 1, 4, f32([0])))).toEqual([103, 102, 101, 100]);
    expect(ids(kCenterGreedy(line, lineEmb, 1, 2, f32([0])))).toEqual([103, 102]);
  });

  it('with no labelled rows: starts nearest the mean 3.25 (point 2), then 10, then 0 (distance 2 > 1), then 1', () => {
    expect(ids(kCenterGreedy(line, lineEmb, 1, 4))).toEqual([102, 103, 100, 101]);
    expect(ids(kCenterGreedy(line, lineEmb, 1, 9))).toEqual([102, 103, 100, 101]);
    expect(ids(kCenterGreedy(line, lineEmb, 1, 0))).toEqual([]);
  });

  it('in 2-D with two labelled centers: B (squared distance 25), then D (9)', () => {
    // A(0,0) B(3,4) C(6,8) D(-3,0); labelled at (0,0) and (6,8): B is 5 from both, D 3 from (0,0).
    const emb = f32([0, 0], [3, 4], [6, 8], [-3, 0]);
    const labelled = f32([0, 0], [6, 8]);
    expect(ids(kCenterGreedy([0, 1, 2, 3], emb, 2, 2, labelled))).toEqual([1, 3]);
    // A and C then tie at distance 0 from a labelled center: the lower position goes first.
    expect(ids(kCenterGreedy([0, 1, 2, 3], emb, 2, 4, labelled))).toEqual([1, 3, 0, 2]);
  });

  it('a square with its centre: the centre first, then corners in position order (all tie at distance^2 8)', () => {
    const emb = f32([0, 0], [4, 0], [0, 4], [4, 4], [2, 2]);
    expect(ids(kCenterGreedy([20, 21, 22, 23, 24], emb, 2, 5))).toEqual([24, 20, 21, 22, 23]);
  });

  it('still returns distinct ids when embeddings repeat', () => {
    const emb = f32([1, 1], [1, 1], [1, 1]);
    expect(ids(kCenterGreedy([5, 6, 7], emb, 2, 3))).toEqual([5, 6, 7]);
    expect(ids(kCenterGreedy([5, 6, 7], emb, 2, 3, f32([1, 1])))).toEqual([5, 6, 7]);
  });

  it('matches a naive implementation on seeded random points', () => {
    const n = 300;
    const dims = 5;
    const emb = Float32Array.from({ length: n * dims }, (_, i) => uniform(11, 0, 0, i) * 10 - 5);
    const labelled = Float32Array.from({ length: 4 * dims }, (_, i) => uniform(11, 1, 0, i) * 10 - 5);
    const candidates = Array.from({ length: n }, (_, i) => 1000 + i);
    const expected = naiveKCenter(emb, dims, n, 30, labelled).map((p) => 1000 + p);
    expect(ids(kCenterGreedy(candidates, emb, dims, 30, labelled))).toEqual(expected);
  });

  it('rejects embeddings of the wrong size or with NaN, bad dims and bad labelled rows', () => {
    invalid(() => kCenterGreedy(line, lineEmb, 2, 1), /kCenterGreedy: embeddings hold 4 floats, 4 candidates x 2 dims = 8 needed/);
    invalid(() => kCenterGreedy(line, lineEmb, 0, 1), /dims must be a positive integer, got 0/);
    invalid(() => kCenterGreedy(line, f32([0], [NaN], [2], [10]), 1, 1), /embedding of candidate 101 has a non-finite value/);
    invalid(() => kCenterGreedy([0, 1], f32([0, 0], [1, 1]), 2, 1, f32([0, 0, 1])), /labelledEmbeddings hold 3 floats, not a multiple of dims 2/);
    invalid(() => kCenterGreedy(line, lineEmb, 1, -2), /kCenterGreedy: k must be a non-negative integer/);
  });

  it('handles 60000 x 64 embeddings with k = 200', () => {
    const n = 60000;
    const dims = 64;
    const emb = new Float32Array(n * dims);
    for (let i = 0; i < emb.length; i++) emb[i] = uniform(3, 0, 1, i);
    const candidates = Uint32Array.from({ length: n }, (_, i) => i * 2);
    const picked = kCenterGreedy(candidates, emb, dims, 200);
    expect(picked.length).toBe(200);
    expect(new Set(picked).size).toBe(200);
    for (const id of picked) expect(id % 2).toBe(0);
  });
});

describe('hybridSelect', () => {
  // A tight uncertain cluster (10, 11, 12), an uncertain point apart (13), a certain point far away (14).
  const candidates = [10, 11, 12, 13, 14, 15];
  const scores = [0.9, 0.85, 0.8, 0.7, 0.05, 0.6];
  const emb = f32([0, 0], [0.1, 0], [0, 0.1], [5, 0], [50, 50], [0, 5]);

  it('is diverse among the uncertain, where topK takes near-duplicates and k-center the certain outlier', () => {
    expect(ids(topK(candidates, scores, 2))).toEqual([10, 11]);
    expect(ids(kCenterGreedy(candidates, emb, 2, 2))[1]).toBe(14);
    // Shortlist (factor 2): 10, 11, 12, 13; their mean (1.275, 0.025) is nearest 11; farthest from 11 is 13.
    expect(ids(hybridSelect(candidates, scores, emb, 2, 2, { factor: 2 }))).toEqual([11, 13]);
  });

  it('counts labelled rows as centers: with one at (5, 0), 12 is farthest (25.01), then 11', () => {
    expect(ids(hybridSelect(candidates, scores, emb, 2, 2, { factor: 2, labelledEmbeddings: f32([5, 0]) }))).toEqual([12, 11]);
  });

  it('with factor 1 is topK; the default factor 4 shortlists all but the least uncertain', () => {
    expect(ids(hybridSelect(candidates, scores, emb, 2, 3, { factor: 1 })).sort()).toEqual([10, 11, 12]);
    // k 1 x 4 = 10, 11, 12, 13: one pick, the one nearest their mean.
    expect(ids(hybridSelect(candidates, scores, emb, 2, 1))).toEqual([11]);
  });

  it('leaves NaN-scored candidates (a diverged model) off the shortlist, unless needed to make up k', () => {
    // The NaN-scored points lie far away, so k-center would take them if they were shortlisted.
    const nanScores = [0.9, 0.8, NaN, NaN, NaN, NaN];
    const far = f32([0, 0], [0.1, 0], [10, 10], [11, 11], [12, 12], [13, 13]);
    const lab = f32([0, 0.05]);
    expect(ids(hybridSelect([0, 1, 2, 3, 4, 5], nanScores, far, 2, 2, { labelledEmbeddings: lab })).sort()).toEqual([0, 1]);
    // k 3 with two scored: one NaN-scored candidate makes up the batch.
    expect(ids(hybridSelect([0, 1, 2, 3, 4, 5], nanScores, far, 2, 3, { labelledEmbeddings: lab }))).toHaveLength(3);
    expect(ids(hybridSelect([0, 1], [NaN, NaN], f32([0, 0], [1, 1]), 2, 2)).sort()).toEqual([0, 1]);
  });

  it('rejects a bad factor and mismatched scores', () => {
    invalid(() => hybridSelect(candidates, scores, emb, 2, 2, { factor: 0.5 }), /hybridSelect: factor must be a number >= 1/);
    invalid(() => hybridSelect(candidates, [1], emb, 2, 2), /hybridSelect: 1 scores for 6 candidates/);
  });
});

describe('coldStart', () => {
  const candidates = [4, 5, 6, 7];
  const emb = f32([0], [1], [2], [10]);

  it('k-center is kCenterGreedy with no labelled rows; random is randomSelect round 0', () => {
    expect(ids(coldStart(candidates, 2, { method: 'k-center', embeddings: emb, dims: 1, seed: 0 }))).toEqual([6, 7]);
    expect(ids(coldStart(candidates, 3, { method: 'random', seed: 9 }))).toEqual(ids(randomSelect(candidates, 3, 9, 0)));
  });

  it('k-center needs embeddings', () => {
    invalid(() => coldStart(candidates, 2, { method: 'k-center', seed: 0 }), /coldStart: method 'k-center' needs embeddings and dims/);
  });
});
