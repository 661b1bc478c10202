import { describe, expect, it } from 'vitest';
import { acquire, type AcquireOptions } from '../../src/sampler/acquire.js';
import type { SampleLayout } from '../../src/sampler/cost.js';
import type { ProxyFactory } from '../../src/sampler/proxy.js';
import { kCenterGreedy, Pool, randomSelect, type Selection, type Strategy, strategyFor } from '../../src/index.js';

const ids = (a: Uint32Array | Selection): number[] => Array.from(a instanceof Uint32Array ? a : a.ids);

/** Samples 0-39 in chunks of 10 (1000 bytes each, fetched whole); chunk 3 (samples 30-39) is cached. */
const layout: SampleLayout = {
  chunkOf: (_, id) => ({ index: Math.floor(id / 10), hash: `h${Math.floor(id / 10)}`, bytes: 1000 }),
  rangeBytes: () => undefined,
  cached: async (hash) => hash === 'h3',
};

/** A proxy that finds higher ids more uncertain (the probe of sample i is the 1-D row [i]). */
const built: number[] = [];
const proxy: ProxyFactory = (spec) => (built.push(spec.seed), {
  fit: async () => undefined,
  uncertainty: async (x) => x.map((v) => v / 100),
  dispose: () => undefined,
});

function options(strategy: Strategy | string, labelled: number[], extra: Partial<AcquireOptions> = {}): AcquireOptions & { asked: Uint32Array[] } {
  const pool = new Pool(Array.from({ length: 40 }, (_, i) => i));
  pool.label(labelled, labelled.map(() => 0));
  const asked: Uint32Array[] = [];
  return {
    strategy: typeof strategy === 'string' ? strategyFor(strategy as never) : strategy, pool, k: 3, seed: 7, round: 1,
    probes: { dims: 1, rows: (list) => Float32Array.from(list) }, proxy, classes: 2, layout, tensors: ['image'],
    // The learner, unlike the proxy, finds lower ids more uncertain.
    learnerUncertainty: async (list) => (asked.push(list), Float32Array.from(list, (id) => 1 - id / 100)),
    asked, ...extra,
  };
}

describe('acquire', () => {
  it('with nothing labelled, a strategy that needs the proxy starts at random; others pick for themselves', async () => {
    built.length = 0;
    const all = Uint32Array.from({ length: 40 }, (_, i) => i);
    expect(ids(await acquire(options('margin', [])))).toEqual(ids(randomSelect(all, 3, 7, 0)));
    expect(built).toEqual([]); // no proxy trained on nothing
    const rows = Float32Array.from(all);
    expect(ids(await acquire(options('k-center', [])))).toEqual(ids(kCenterGreedy(all, rows, 1, 3)));
    expect(ids(await acquire(options('margin', [], { coldStart: 'k-center' })))).toEqual(ids(kCenterGreedy(all, rows, 1, 3)));
  });

  it('the proxy picks where to fetch; the learner then picks among every sample that fetch brings for free', async () => {
    built.length = 0;
    const o = options('margin', [0, 1, 2]);
    // The proxy's top 3 are 39, 38, 37, all in chunk 3: its 10 samples come free, and the learner wants the lowest ids.
    expect(ids(await acquire(o))).toEqual([30, 31, 32]);
    expect(o.asked.map(ids)).toEqual([[30, 31, 32, 33, 34, 35, 36, 37, 38, 39]]);
    expect(built).toEqual([7 + 1 + 1]);
  });

  it('BALD keeps the proxy\'s choice: the learner is not asked', async () => {
    const o = options('bald', [0, 1, 2]);
    expect(ids(await acquire(o))).toEqual([39, 38, 37]);
    expect(o.asked).toEqual([]);
  });

  it('a cost-aware plan trades the strategy\'s values against bytes; a byte budget caps it', async () => {
    // A user's strategy with fixed values: 5 (chunk 0) is worth most, 15, 16, 17 (chunk 1) less each.
    const fixed: Strategy = {
      name: 'fixed', needs: { embeddings: false },
      select: (_, k) => ({ ids: Uint32Array.of(5, 15, 16, 17).slice(0, k), values: Float64Array.of(0.9, 0.5, 0.5, 0.5).slice(0, k) }),
    };
    expect(ids(await acquire(options(fixed, [0])))).toEqual([5, 15, 16]);
    // Per byte (each chunk 1000 bytes + 4096 request overhead): chunk 1 gives 1.5, chunk 0 0.9.
    const planned = await acquire(options(fixed, [0], { costAware: true }));
    expect(ids(planned)).toEqual([15, 16, 17]);
    expect(Array.from(planned.values)).toEqual([0.5, 0.5, 0.5]); // each with the strategy's value of it
    expect(ids(await acquire(options(fixed, [0], { costAware: true, byteBudget: 999 })))).toEqual([]);
  });

  it('holds a user\'s strategy to the contract', async () => {
    const returning = (out: number[], values = out.map(() => 1)): Strategy => ({
      name: 'mine', needs: { embeddings: false }, select: () => ({ ids: Uint32Array.from(out), values: Float64Array.from(values) }),
    });
    await expect(acquire(options(returning([0, 5]), [0]))).rejects.toThrow('strategy mine: selected sample 0, which is not a candidate');
    await expect(acquire(options(returning([5, 5]), [0]))).rejects.toThrow('strategy mine: selected sample 5 twice');
    await expect(acquire(options(returning([5, 6, 7, 8]), [0]))).rejects.toThrow('strategy mine: selected 4 samples, more than the 3 asked for');
    await expect(acquire(options(returning([5], []), [0]))).rejects.toThrow('strategy mine: select must return { ids: Uint32Array, values } with one value per id');
    await expect(acquire(options('margin', [0], { k: -1 }))).rejects.toThrow('acquire: k must be a non-negative integer, got -1');
  });

  it('refuses a shortlist factor below 1 (fewer ids than asked) and a bad byte budget', async () => {
    for (const shortlistFactor of [0, 0.5, NaN, Infinity]) {
      await expect(acquire(options('margin', [0], { costAware: true, shortlistFactor }))).rejects.toThrow(`acquire: shortlistFactor must be a finite number >= 1, got ${shortlistFactor}`);
    }
    for (const byteBudget of [-1, NaN, Infinity]) {
      await expect(acquire(options('margin', [0], { costAware: true, byteBudget }))).rejects.toThrow(`acquire: byteBudget must be a finite number >= 0, got ${byteBudget}`);
    }
  });
});
