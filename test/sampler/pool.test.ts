import { describe, expect, it } from 'vitest';
import { isEdgelakeError, Pool } from '../../src/index.js';

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

describe('Pool', () => {
  it('starts with every candidate unlabelled, duplicates removed, in the order given', () => {
    const pool = new Pool([5, 3, 9, 3, 1, 5]);
    expect(pool.size).toBe(4);
    expect(pool.labelledCount).toBe(0);
    expect(pool.unlabelledCount).toBe(4);
    expect(Array.from(pool.unlabelled())).toEqual([5, 3, 9, 1]);
    expect(Array.from(pool.labelled())).toEqual([]);
    expect(pool.has(9)).toBe(true);
    expect(pool.has(2)).toBe(false);
  });

  it('accepts any iterable of ids', () => {
    const pool = new Pool(new Set([2, 0, 1]).values());
    expect(Array.from(pool.unlabelled())).toEqual([2, 0, 1]);
    expect(new Pool(Uint32Array.of(7, 8)).size).toBe(2);
  });

  it('labels move ids from unlabelled (constructor order) to labelled (labelling order)', () => {
    const pool = new Pool([10, 11, 12, 13, 14]);
    pool.label([13, 11], [2, 0]);
    pool.label(Uint32Array.of(10), Float32Array.of(1));
    expect(Array.from(pool.labelled())).toEqual([13, 11, 10]);
    expect(Array.from(pool.unlabelled())).toEqual([12, 14]);
    expect(pool.labelledCount).toBe(3);
    expect(pool.unlabelledCount).toBe(2);
    expect(pool.isLabelled(11)).toBe(true);
    expect(pool.isLabelled(12)).toBe(false);
    expect(pool.labelOf(13)).toBe(2);
    expect(pool.labelOf(10)).toBe(1);
    expect(pool.labelOf(12)).toBeUndefined();
    expect(pool.labelOf(99)).toBeUndefined();
  });

  it('rejects ids outside the pool, already labelled or repeated, mismatched lengths and bad labels', () => {
    const pool = new Pool([1, 2, 3]);
    pool.label([1], [0]);
    invalid(() => pool.label([4], [0]), /Pool\.label: sample 4 is not in the pool/);
    invalid(() => pool.label([1], [1]), /sample 1 is already labelled \(0\)/);
    invalid(() => pool.label([2, 2], [0, 1]), /sample 2 appears twice/);
    invalid(() => pool.label([2, 3], [0]), /2 ids but 1 labels/);
    invalid(() => pool.label([2], [NaN]), /sample 2 has label NaN/);
  });

  it('a failed label call changes nothing', () => {
    const pool = new Pool([1, 2, 3]);
    invalid(() => pool.label([2, 3, 7], [0, 1, 2]), /sample 7 is not in the pool/);
    expect(pool.labelledCount).toBe(0);
    expect(Array.from(pool.unlabelled())).toEqual([1, 2, 3]);
  });

  it('rejects ids that are not integers in [0, 2^32)', () => {
    invalid(() => new Pool([1, -1]), /sample id -1/);
    invalid(() => new Pool([1.5]), /sample id 1\.5/);
    invalid(() => new Pool([2 ** 32]), /sample id 4294967296/);
    invalid(() => new Pool([NaN]), /sample id NaN/);
  });

  it('survives a JSON round trip, orders included', () => {
    const pool = new Pool([40, 20, 30, 10]);
    pool.label([30, 40], [1, 0]);
    const saved = JSON.stringify(pool);
    expect(JSON.parse(saved)).toEqual({ ids: [40, 20, 30, 10], labelled: [[30, 1], [40, 0]] });
    const resumed = Pool.fromJSON(JSON.parse(saved));
    expect(Array.from(resumed.unlabelled())).toEqual([20, 10]);
    expect(Array.from(resumed.labelled())).toEqual([30, 40]);
    expect(resumed.labelOf(30)).toBe(1);
    resumed.label([10], [3]);
    expect(pool.isLabelled(10)).toBe(false);
  });

  it('fromJSON rejects malformed saves', () => {
    invalid(() => Pool.fromJSON(null), /expected \{ ids/);
    invalid(() => Pool.fromJSON({ ids: [1, 2] }), /expected \{ ids/);
    invalid(() => Pool.fromJSON({ ids: [1, 2], labelled: [[1]] }), /labelled entry \[1\] is not an \[id, label\] pair/);
    invalid(() => Pool.fromJSON({ ids: [1, 2], labelled: [[3, 0]] }), /sample 3 is not in the pool/);
    invalid(() => Pool.fromJSON({ ids: [1, 2], labelled: [[1, 0], [1, 1]] }), /sample 1 appears twice/);
    invalid(() => Pool.fromJSON({ ids: ['1'], labelled: [] }), /sample id 1 is not an integer/);
  });
});
