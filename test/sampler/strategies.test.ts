import { describe, expect, it } from 'vitest';
import { failure } from '../support/errors.js';
import { byRank, byScore, hybridSelect, kCenterGreedy, randomSelect, type SelectInput, STRATEGIES, type Strategy, STRATEGY_REGISTRY, strategyFor, strategyNeeds, topK } from '../../src/index.js';

const ids = (a: Uint32Array): number[] => Array.from(a);
const f32 = (...rows: number[][]): Float32Array => Float32Array.from(rows.flat());

// Six candidates in 2-D: a tight uncertain cluster (10, 11, 12), uncertain points apart (13, 15), a certain one far away (14).
const input: SelectInput = {
  candidates: Uint32Array.of(10, 11, 12, 13, 14, 15),
  scores: Float32Array.of(0.9, 0.85, 0.8, 0.7, 0.05, 0.6),
  embeddings: f32([0, 0], [0.1, 0], [0, 0.1], [5, 0], [50, 50], [0, 5]),
  labelledEmbeddings: f32([5, 0]),
  dims: 2,
  seed: 4,
  round: 1,
};

describe('the strategy registry', () => {
  it('lists every built-in strategy by its own name, read-only', () => {
    expect(STRATEGIES.slice(0, 7)).toEqual(['random', 'least-confidence', 'margin', 'entropy', 'bald', 'k-center', 'hybrid']);
    expect(STRATEGIES).toEqual(Object.keys(STRATEGY_REGISTRY));
    for (const name of STRATEGIES) expect(strategyFor(name).name).toBe(name);
    expect(Object.isFrozen(STRATEGY_REGISTRY)).toBe(true);
    expect(() => ((STRATEGY_REGISTRY as Record<string, Strategy>).mine = STRATEGY_REGISTRY.random)).toThrow(TypeError);
  });

  it('says what each strategy needs: a measure from the proxy, probe embeddings, or nothing', () => {
    expect(strategyNeeds('random')).toEqual({ embeddings: false });
    expect(strategyNeeds('entropy')).toEqual({ measure: 'entropy', embeddings: false });
    expect(strategyNeeds('bald')).toEqual({ measure: 'bald', embeddings: false });
    expect(strategyNeeds('k-center')).toEqual({ embeddings: true });
    expect(strategyNeeds('hybrid')).toEqual({ measure: 'margin', embeddings: true });
    // Only the single-pass measures let the learner rerank: BALD needs dropout the learner may lack.
    expect(STRATEGIES.filter((s) => strategyFor(s).rerank)).toEqual(['least-confidence', 'margin', 'entropy', 'hybrid']);
  });

  it('fails on an unknown name, naming the known ones, and on something that is no strategy', () => {
    expect(failure(() => strategyFor('coreset' as never))).toBe(`invalid-input: unknown strategy "coreset"; expected one of ${STRATEGIES.join(', ')}`);
    expect(failure(() => strategyNeeds('toString' as never))).toMatch(/unknown strategy "toString"/);
    expect(failure(() => strategyFor({ name: 'half-made' } as never))).toMatch(/or an object with name, needs and select, not { name }$/);
  });

  it('takes the user\'s own strategy object as it is', () => {
    const lowestIds: Strategy = { name: 'lowest ids', needs: { embeddings: false }, select: (i, k) => byRank(i.candidates.slice().sort().slice(0, k)) };
    expect(strategyFor(lowestIds)).toBe(lowestIds);
    expect(strategyNeeds(lowestIds)).toEqual({ embeddings: false });
  });
});

describe('the built-in strategies', () => {
  const select = async (name: (typeof STRATEGIES)[number], k: number) => strategyFor(name).select(input, k);

  it('uncertainty strategies take the top scores, valued by their scores', async () => {
    for (const name of ['least-confidence', 'margin', 'entropy', 'bald'] as const) {
      const s = await select(name, 3);
      expect(ids(s.ids)).toEqual([10, 11, 12]);
      expect(Array.from(s.values)).toEqual([0.9, 0.85, 0.8].map(Math.fround));
    }
  });

  it('random is randomSelect for the seed and round; k-center is kCenterGreedy from the labelled rows; both valued by rank', async () => {
    const r = await select('random', 4);
    expect(ids(r.ids)).toEqual(ids(randomSelect(input.candidates, 4, 4, 1)));
    expect(Array.from(r.values)).toEqual([1, 0.875, 0.75, 0.625]);
    // Farthest from the labelled (5, 0): 14 at (50, 50), then 12 at (0, 0.1)... as kCenterGreedy says.
    const c = await select('k-center', 2);
    expect(ids(c.ids)).toEqual(ids(kCenterGreedy(input.candidates, input.embeddings!, 2, 2, input.labelledEmbeddings)));
    expect(ids(c.ids)[0]).toBe(14);
  });

  it('hybrid is diverse among the uncertain: k-center over the 4k most uncertain, valued by margin', async () => {
    // Shortlist 10, 11, 12, 13 (k 1 x 4); farthest from the labelled (5, 0) is 12, at squared distance 25.01.
    const h = await select('hybrid', 1);
    expect(ids(h.ids)).toEqual([12]);
    expect(ids(h.ids)).toEqual(ids(hybridSelect(input.candidates, input.scores!, input.embeddings!, 2, 1, { labelledEmbeddings: input.labelledEmbeddings })));
    expect(Array.from(h.values)).toEqual([Math.fround(0.8)]);
  });

  it('fail with the strategy and the missing input named', async () => {
    const bare = { ...input, scores: undefined, embeddings: undefined };
    await expect(async () => strategyFor('margin').select(bare, 1)).rejects.toThrow('strategy margin: select needs margin scores');
    await expect(async () => strategyFor('k-center').select(bare, 1)).rejects.toThrow('strategy k-center: select needs embeddings');
    await expect(async () => strategyFor('hybrid').select({ ...bare, scores: input.scores }, 1)).rejects.toThrow('strategy hybrid: select needs embeddings');
  });
});

describe('byRank and byScore', () => {
  it('value picks made in order from 1 down, or by their own scores', () => {
    expect(Array.from(byRank(Uint32Array.of(7, 3)).values)).toEqual([1, 0.75]);
    expect(Array.from(byScore(Uint32Array.of(1, 2, 3), [0.5, 0.25, 0.75], Uint32Array.of(3, 1)).values)).toEqual([0.75, 0.5]);
    expect(ids(topK([1, 2, 3], [0.5, 0.25, 0.75], 2))).toEqual([3, 1]);
  });
});
