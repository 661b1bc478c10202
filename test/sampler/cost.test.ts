import { describe, expect, it } from 'vitest';
import { costModel, REQUEST_OVERHEAD_BYTES, type SampleLayout } from '../../src/sampler/cost.js';
import { failure } from '../support/errors.js';
import { type CostModel, fetchBytes, planFetch } from '../../src/index.js';

/** Samples 0-9 in chunk A, 10-19 in B, 20-29 in C (C cached); every chunk 1000 bytes; labels in one 50-byte chunk L. */
const chunks: CostModel = {
  units: (id) => [
    { key: `image/${'ABC'[Math.floor(id / 10)]}`, bytes: 1000, cached: id >= 20 },
    { key: 'label/L', bytes: 50, cached: false },
  ],
};

describe('planFetch', () => {
  it('takes what is already cached first, then the chunk with the most value per byte', () => {
    // Values: B holds the single best sample, A two good ones: A's sum per byte wins for k = 3.
    const candidates = [1, 2, 15, 25];
    const values = [0.9, 0.8, 0.95, 0.3];
    const plan = planFetch(candidates, values, 3, chunks);
    // 25 (chunk C cached, only the label chunk missing: 50 bytes) first, then A's two: 1, 2.
    expect([...plan.ids]).toEqual([25, 1, 2]);
    expect(plan.units).toEqual(['label/L', 'image/A']);
    expect(plan.bytes).toBe(1050);
  });

  it('one sample each from many chunks is dear; many from one chunk are cheap', () => {
    const candidates = [0, 1, 2, 3, 10, 11];
    const values = [0.5, 0.5, 0.5, 0.5, 0.6, 0.6];
    // Cost-blind top-4 would take 10, 11 (B) and two of A: 2050 bytes. Per byte, all four from A: 1050.
    const plan = planFetch(candidates, values, 4, chunks);
    expect([...plan.ids].sort((a, b) => a - b)).toEqual([0, 1, 2, 3]);
    expect(plan.bytes).toBe(1050);
    expect(fetchBytes([10, 11, 0, 1], chunks)).toBe(2050);
  });

  it('a byte budget stops the plan before it overspends', () => {
    const plan = planFetch([1, 15], [0.9, 0.95], 2, chunks, { budgetBytes: 1100 });
    expect([...plan.ids]).toEqual([15]);
    expect(plan.bytes).toBe(1050);
    expect(planFetch([1], [1], 1, chunks, { budgetBytes: 10 }).ids).toHaveLength(0);
  });

  it('a NaN value (a diverged model) ranks last and is worth nothing, without upsetting the others', () => {
    // A holds the NaN and a 0.1, B a 0.9 and a 0.8: B is the better chunk, with or without the NaN.
    expect([...planFetch([0, 1, 10, 11], [NaN, 0.1, 0.9, 0.8], 2, chunks).ids]).toEqual([10, 11]);
    expect([...planFetch([0, 1], [NaN, 0.1], 1, chunks).ids]).toEqual([1]);
  });

  it('with range reads each sample is its own unit, and the request overhead counts', () => {
    const ranges: CostModel = { units: (id) => [{ key: `image/A#${id}`, bytes: id === 1 ? 10 : 100, cached: false }], requestOverheadBytes: 90 };
    // Value per byte: sample 1: 0.5 / (10 + 90) = 0.005; sample 2: 0.9 / 190 = 0.0047: 1 first.
    const plan = planFetch([1, 2], [0.5, 0.9], 1, ranges);
    expect([...plan.ids]).toEqual([1]);
    expect(plan.bytes).toBe(10);
  });

  it('does not spend the budget on a cheap, nearly worthless chunk when a dear one alone is worth far more', () => {
    // A: 1 byte for 0.02; B: 100 bytes for 1.0. By ratio A goes first and B no longer fits; B alone fits exactly.
    const two: CostModel = { units: (id) => [{ key: id === 1 ? 'A' : 'B', bytes: id === 1 ? 1 : 100, cached: false }] };
    const plan = planFetch([1, 2], [0.02, 1.0], 2, two, { budgetBytes: 100 });
    expect([...plan.ids]).toEqual([2]);
    expect(plan.bytes).toBe(100);
    expect(plan.units).toEqual(['B']);
  });

  it('is worth at least half the optimum, against brute force on small random instances', () => {
    let seed = 5;
    const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    for (let t = 0; t < 300; t++) {
      const bytes = [0, 1, 2].map(() => 1 + Math.floor(rnd() * 100));
      const chunkOf = Array.from({ length: 6 }, () => Math.floor(rnd() * 3));
      const values = chunkOf.map(() => rnd());
      const k = 1 + Math.floor(rnd() * 4);
      const budget = Math.floor(rnd() * 150);
      const model: CostModel = { units: (id) => [{ key: `c${chunkOf[id]}`, bytes: bytes[chunkOf[id]], cached: false }] };
      const ids = [0, 1, 2, 3, 4, 5];
      const plan = planFetch(ids, values, k, model, { budgetBytes: budget });
      expect(plan.bytes).toBeLessThanOrEqual(budget);
      expect(plan.bytes).toBe(fetchBytes(plan.ids, model));
      const got = [...plan.ids].reduce((a, i) => a + values[i], 0);
      let best = 0;
      for (let mask = 0; mask < 64; mask++) {
        const set = ids.filter((i) => (mask >> i) & 1);
        if (set.length <= k && fetchBytes(set, model) <= budget) best = Math.max(best, set.reduce((a, i) => a + values[i], 0));
      }
      expect(got).toBeGreaterThanOrEqual(0.5 * best);
    }
  });

  it('takes a free candidate before an infinite value that costs bytes', () => {
    const m: CostModel = { units: (id) => [{ key: id === 1 ? 'A' : 'B', bytes: id === 1 ? 1e6 : 10, cached: id === 2 }] };
    const plan = planFetch([1, 2], [Infinity, 0.5], 1, m);
    expect([...plan.ids]).toEqual([2]);
    expect(plan.bytes).toBe(0);
  });

  it('refuses bad arguments', () => {
    expect(failure(() => planFetch([1, 2], [1], 1, chunks))).toBe('invalid-input: planFetch: 1 values for 2 candidates');
    expect(failure(() => planFetch([1], [1], -1, chunks))).toBe('invalid-input: planFetch: k must be a non-negative integer, got -1');
    expect(failure(() => planFetch([1, 1], [1, 1], 2, chunks))).toBe('invalid-input: planFetch: candidate 1 appears twice');
    expect(failure(() => planFetch([1], [1], 1, chunks, { budgetBytes: NaN }))).toBe('invalid-input: planFetch: budgetBytes must be >= 0, got NaN');
    for (const bytes of [-5, NaN, Infinity]) {
      const bad: CostModel = { units: () => [{ key: 'image/A', bytes, cached: false }] };
      expect(failure(() => planFetch([1], [1], 1, bad, { budgetBytes: 10 }))).toBe(`invalid-input: planFetch: unit image/A of candidate 1 has ${bytes} bytes; a finite number >= 0 is needed`);
    }
  });
});

describe('costModel', () => {
  /**
   * Tensor 'image': samples 0-9 in chunk 0 (hash h0, 1000 bytes, cached), 10-19 in chunk 1 (h1,
   * 1000 bytes), chunk 1 read by 100-byte ranges. Tensor 'label': one 50-byte chunk (hl).
   */
  const asked: string[] = [];
  const layout: SampleLayout = {
    chunkOf: (tensor, id) => (tensor === 'label' ? { index: 0, hash: 'hl', bytes: 50 } : { index: Math.floor(id / 10), hash: `h${Math.floor(id / 10)}`, bytes: 1000 }),
    rangeBytes: (tensor, chunk) => (tensor === 'image' && chunk === 1 ? 100 : undefined),
    cached: async (hash) => (asked.push(hash), hash === 'h0'),
  };

  it('prices each tensor of a sample as its chunk or its range, cached or not, asking the cache once per chunk', async () => {
    const cost = await costModel(layout, ['image', 'label'], [3, 4, 12]);
    expect(cost.units(3)).toEqual([{ key: 'image/0', bytes: 1000, cached: true }, { key: 'label/0', bytes: 50, cached: false }]);
    expect(cost.units(12)).toEqual([{ key: 'image/1#12', bytes: 100, cached: false }, { key: 'label/0', bytes: 50, cached: false }]);
    expect(asked).toEqual(['h0', 'hl', 'h1']);
    expect(cost.requestOverheadBytes).toBe(REQUEST_OVERHEAD_BYTES);
    // Samples 3 and 4 share a cached chunk; 12 its own range; the label chunk once: 50 + 100 bytes.
    expect(fetchBytes([3, 4, 12], cost)).toBe(150);
  });

  it('refuses a sample it was not built for', async () => {
    const cost = await costModel(layout, ['image'], [1]);
    expect(failure(() => cost.units(2))).toBe('invalid-input: costModel: sample 2 was not among the 1 samples it was built for');
  });
});
