import { describe, expect, test } from 'vitest';
import { type UncertaintyMeasure, uncertaintyRef } from '../../src/kernels/index.js';

/** Scores `rows` (passes x n x classes, nested) with the CPU reference. */
function score(measure: UncertaintyMeasure, rows: number[][][]): number[] {
  const [passes, n, classes] = [rows.length, rows[0].length, rows[0][0].length];
  const probs = new Float32Array(rows.flat(2));
  const scores = new Float32Array(n);
  uncertaintyRef({ probs, scores, n, classes, passes, measure });
  return [...scores];
}

// float32 scores: equal to the hand value to about 7 digits.
function close(actual: number[], expected: number[]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((value, i) => expect(value, `sample ${i}`).toBeCloseTo(expected[i], 6));
}

describe('uncertainty CPU reference, against values computed by hand', () => {
  const uniform = [[[0.25, 0.25, 0.25, 0.25]]];
  const oneHot = [[[0, 0, 1, 0]]];

  test('uniform over 4 classes: entropy ln 4, least-confidence 0.75, margin 1', () => {
    close(score('entropy', uniform), [Math.log(4)]);
    close(score('least-confidence', uniform), [0.75]);
    close(score('margin', uniform), [1]);
  });

  test('one-hot: every measure is 0 (0 ln 0 = 0, not NaN)', () => {
    for (const measure of ['entropy', 'least-confidence', 'margin'] as const) expect(score(measure, oneHot), measure).toEqual([0]);
    for (const measure of ['bald', 'variation-ratio'] as const) expect(score(measure, [...oneHot, ...oneHot]), measure).toEqual([0]);
  });

  test("a diverged model's NaN probabilities score NaN under every measure of p̄, which selection ranks last (1 - max p̄ made them the most uncertain)", () => {
    const rows = [[[Number.NaN, Number.NaN], [0.34, 0.66]], [[Number.NaN, 0.3], [0.5, 0.5]]];
    for (const measure of ['least-confidence', 'margin', 'entropy', 'bald'] as const) {
      const [diverged, fine] = score(measure, rows);
      expect([Number.isNaN(diverged), Number.isFinite(fine)], measure).toEqual([true, true]);
    }
  });

  test('two passes that disagree confidently: bald ln 2, variation-ratio 0.5, p̄ uniform', () => {
    const disagree = [[[1, 0]], [[0, 1]]];
    close(score('bald', disagree), [Math.LN2]);
    expect(score('variation-ratio', disagree)).toEqual([0.5]);
    close(score('entropy', disagree), [Math.LN2]);
    close(score('least-confidence', disagree), [0.5]);
    close(score('margin', disagree), [1]);
  });

  test('two passes that agree on a uniform belief: entropy ln 2 but bald 0 (no model disagreement)', () => {
    const agree = [[[0.5, 0.5]], [[0.5, 0.5]]];
    close(score('entropy', agree), [Math.LN2]);
    expect(score('bald', agree)).toEqual([0]); // clamped: never a tiny negative
  });

  test('margin and least-confidence read the top two of p̄', () => {
    const p = [[[0.2, 0.5, 0.3]]];
    close(score('margin', p), [0.8]);
    close(score('least-confidence', p), [0.5]);
    // Mean of [0.6, 0.4, 0] and [0, 0.4, 0.6] is [0.3, 0.4, 0.3]: margin 1 - 0.1.
    close(score('margin', [[[0.6, 0.4, 0]], [[0, 0.4, 0.6]]]), [0.9]);
  });

  test('variation-ratio counts votes for the modal argmax; argmax ties go to the lowest class', () => {
    const threeWays = [[[0.9, 0.05, 0.05]], [[0.1, 0.8, 0.1]], [[0.2, 0.2, 0.6]]];
    close(score('variation-ratio', threeWays), [2 / 3]);
    const tied = [[[0.5, 0.5, 0]], [[0.9, 0.1, 0]], [[0.1, 0.1, 0.8]]]; // the tie votes 0: 2 of 3
    close(score('variation-ratio', tied), [1 / 3]);
  });

  test('samples are scored independently in the passes x n x classes layout', () => {
    // Sample 0 agrees across passes, sample 1 flips.
    const rows = [[[1, 0], [1, 0]], [[1, 0], [0, 1]]];
    expect(score('variation-ratio', rows)).toEqual([0, 0.5]);
    close(score('bald', rows), [0, Math.LN2]);
  });

  test('bald and variation-ratio refuse a single pass; short arrays are refused', () => {
    const probs = new Float32Array(8);
    const scores = new Float32Array(2);
    for (const measure of ['bald', 'variation-ratio'] as const) {
      expect(() => uncertaintyRef({ probs, scores, n: 2, classes: 4, passes: 1, measure }), measure)
        .toThrow(expect.objectContaining({ code: 'invalid-input', message: expect.stringMatching(/passes >= 2/) }));
    }
    expect(() => uncertaintyRef({ probs, scores, n: 2, classes: 4, passes: 2, measure: 'entropy' }))
      .toThrow(expect.objectContaining({ code: 'invalid-input', message: expect.stringMatching(/probs holds 8 floats/) }));
    expect(() => uncertaintyRef({ probs, scores, n: 2, classes: 1, passes: 1, measure: 'entropy' }))
      .toThrow(expect.objectContaining({ code: 'invalid-input', message: expect.stringMatching(/classes/) }));
  });
});
