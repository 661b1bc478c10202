import { describe, expect, it } from 'vitest';
import { K_NN, MAX_NUM_CLUSTERS, MIN_CLUSTER_SIZE, typiClust, typiclust } from '../../src/sampler/strategies/typiclust.js';
import { failure } from '../support/errors.js';
import { strategyFor } from '../../src/index.js';
import { uniform } from '../../src/kernels/index.js';

const ids = (a: Uint32Array): number[] => Array.from(a);

/**
 * Four groups, far apart (100) against their spread (at most 9), so any k-means into four
 * clusters finds them:
 *   A on the x axis near the origin: the labelled point (3, 0) and candidates at x = 1, 2, -2, -3, 5, 6 (7 points);
 *   B around (100, 0): a plus of 5 points and (104, 0) (6 points);
 *   C around (0, 100): a plus of 5 points (5 points);
 *   D around (100, 100): 3 points, fewer than MIN_CLUSTER_SIZE.
 */
const pool: [number, number, number][] = [
  [20, 101, 0], [21, 1, 0], [22, 0, 101], [23, 100, 100], [24, 100, 0], [25, 2, 0], [26, 0, 100],
  [27, 99, 0], [28, -2, 0], [29, 1, 100], [30, 101, 100], [31, 100, 1], [32, -3, 0], [33, 0, 99],
  [34, 100, -1], [35, 5, 0], [36, -1, 100], [37, 100, 101], [38, 104, 0], [39, 6, 0],
];
const candidates = pool.map(([id]) => id);
const embeddings = Float32Array.from(pool.flatMap(([, x, y]) => [x, y]));
const labelledEmbeddings = Float32Array.of(3, 0);

describe('typiClust', () => {
  it('uses the authors\' constants', () => {
    expect([MIN_CLUSTER_SIZE, MAX_NUM_CLUSTERS, K_NN]).toEqual([5, 500, 20]);
  });

  it('picks the most typical point of the least covered big cluster, k times (1 labelled + 3 = 4 clusters: the groups)', () => {
    // 1. B and C hold no labelled point; B is larger (6 > 5). Its K = 5 neighbours are all the
    //    others: the centre (100, 0) is at mean distance (1 + 1 + 1 + 1 + 4) / 5 = 1.6, less than
    //    (101, 0): (1 + 2 + 2 sqrt 2 + 3) / 5 = 1.77, or any other: 24.
    // 2. C now holds the fewest: its centre (0, 100) is 1 from all 4 others: 26.
    // 3. A (its labelled point), B and C hold one each; D holds none but is too small. A is the
    //    largest. Sums of distances to the 6 others (the labelled x = 3 included):
    //    x = 1: 2 + 1 + 3 + 4 + 4 + 5 = 19; x = 2: 1 + 1 + 4 + 5 + 3 + 4 = 18; x = -2: 28;
    //    x = -3: 33; x = 5: 25; x = 6: 30. So x = 2: 25. (Without the labelled point, x = 1 and 2 would tie.)
    for (const seed of [0, 1, 2, 7]) {
      expect(ids(typiClust(candidates, embeddings, 2, 3, { labelledEmbeddings, seed })), `seed ${seed}`).toEqual([24, 26, 25]);
    }
  });

  it('goes round the clusters again, taking each one\'s next most typical point (maxClusters caps the clusters at the 4 groups)', () => {
    // 4. A 2, B 1, C 1: B (larger). After its centre, (101, 0) at 1.77 beats (100, 1) and (100, -1)
    //    at (1 + 2 sqrt 2 + 2 + sqrt 17) / 5 = 1.99, and (99, 0) at (1 + 2 + 2 sqrt 2 + 5) / 5 = 2.17: 20.
    // 5. C (1): its four arms tie at (1 + 2 + 2 sqrt 2) / 4; the lowest position wins: (0, 101): 22.
    expect(ids(typiClust(candidates, embeddings, 2, 5, { labelledEmbeddings, seed: 3, maxClusters: 4 }))).toEqual([24, 26, 25, 20, 22]);
  });

  it('falls back to clusters smaller than MIN_CLUSTER_SIZE only when no big one has a candidate', () => {
    // Two groups of 2 and 3, nothing labelled: 2 clusters, both small. The larger first: (51, 0)
    // is 1 from both others (mean 1; the ends 1.5). Then the pair ties at 1: the lower position.
    const emb = Float32Array.of(0, 0, 1, 0, 50, 0, 51, 0, 52, 0);
    expect(ids(typiClust([5, 6, 7, 8, 9], emb, 2, 2, { seed: 0 }))).toEqual([8, 5]);
  });

  it('is reproducible for a seed and round, and picks distinct candidates', () => {
    const n = 400;
    const emb = Float32Array.from({ length: n * 4 }, (_, i) => uniform(5, 0, 0, i));
    const labelled = Float32Array.from({ length: 10 * 4 }, (_, i) => uniform(5, 1, 0, i));
    const cands = Array.from({ length: n }, (_, i) => 1000 + i);
    const a = typiClust(cands, emb, 4, 30, { labelledEmbeddings: labelled, seed: 9, round: 2 });
    expect(ids(typiClust(cands, emb, 4, 30, { labelledEmbeddings: labelled, seed: 9, round: 2 }))).toEqual(ids(a));
    expect(new Set(a).size).toBe(30);
    for (const id of a) expect(cands).toContain(id);
    expect(typiClust(cands, emb, 4, 0, { seed: 9 })).toHaveLength(0);
    expect(typiClust(cands.slice(0, 3), emb.subarray(0, 12), 4, 9, { seed: 9 })).toHaveLength(3);
  });

  it('handles a 60000 x 64 pool with 400 labelled rows and k = 100 (500 clusters)', () => {
    const n = 60000;
    const dims = 64;
    const emb = new Float32Array(n * dims);
    for (let i = 0; i < emb.length; i++) emb[i] = uniform(3, 0, 1, i);
    const labelled = emb.slice(0, 400 * dims);
    const picked = typiClust(Uint32Array.from({ length: n }, (_, i) => i), emb, dims, 100, { labelledEmbeddings: labelled, seed: 1 });
    expect(new Set(picked).size).toBe(100);
  }, 60_000);

  it('rejects bad arguments, naming them', () => {
    expect(failure(() => typiClust(candidates, embeddings, 2, -1, { seed: 0 }))).toBe('invalid-input: typiClust: k must be a non-negative integer, got -1');
    expect(failure(() => typiClust([1, 1], Float32Array.of(0, 0, 1, 1), 2, 1, { seed: 0 }))).toBe('invalid-input: typiClust: candidate 1 appears twice');
    expect(failure(() => typiClust(candidates, embeddings, 3, 1, { seed: 0 }))).toBe('invalid-input: typiClust: embeddings hold 40 floats, 20 candidates x 3 dims = 60 needed');
    expect(failure(() => typiClust([1], Float32Array.of(0, NaN), 2, 1, { seed: 0 }))).toBe('invalid-input: typiClust: embedding of candidate 1 has a non-finite value');
    expect(failure(() => typiClust(candidates, embeddings, 2, 1, { seed: 0, labelledEmbeddings: Float32Array.of(1) }))).toMatch(/labelledEmbeddings hold 1 floats, not a multiple of dims 2/);
    expect(failure(() => typiClust(candidates, embeddings, 2, 1, { seed: 0.5 }))).toBe('invalid-input: typiClust: seed must be an integer, got 0.5');
    expect(failure(() => typiClust(candidates, embeddings, 2, 1, { seed: 0, round: -1 }))).toBe('invalid-input: typiClust: round must be a non-negative integer, got -1');
    expect(failure(() => typiClust(candidates, embeddings, 2, 1, { seed: 0, maxClusters: 0 }))).toBe('invalid-input: typiClust: maxClusters must be a positive integer, got 0');
  });
});

describe('the typiclust strategy', () => {
  it('is registered, needs the probe embeddings, and selects as typiClust does, valued by rank', async () => {
    expect(strategyFor('typiclust')).toBe(typiclust);
    expect(typiclust.needs).toEqual({ embeddings: true });
    const s = await typiclust.select({ candidates: Uint32Array.from(candidates), embeddings, labelledEmbeddings, dims: 2, seed: 0, round: 0 }, 3);
    expect(ids(s.ids)).toEqual([24, 26, 25]);
    expect(Array.from(s.values)).toEqual([1, 1 - 1 / 6, 1 - 2 / 6]);
    await expect(async () => typiclust.select({ candidates: Uint32Array.of(1), dims: 2, seed: 0, round: 0 }, 1)).rejects.toThrow('strategy typiclust: select needs embeddings');
  });
});
