import { describe, expect, test } from 'vitest';
import { failure } from '../support/errors.js';
import { mulberry32 } from '../support/random.js';
import { type LabelKind, logOnePlus, softmaxCrossEntropyRef, softmaxRef } from '../../src/kernels/index.js';

const seed = Number(process.env.EDGELAKE_SEED ?? Date.now() % 2 ** 32);

function crossEntropy(logits: number[], labels: number[], labelKind: LabelKind, classes: number, gradScale = 1) {
  const n = logits.length / classes;
  const out = { gradLogits: new Float32Array(n * classes), loss: new Float32Array(n), correct: new Float32Array(n) };
  const typed = labelKind === 'index' ? Int32Array.from(labels) : Float32Array.from(labels);
  softmaxCrossEntropyRef({ logits: Float32Array.from(logits), n, classes, labels: typed, labelKind, gradScale, ...out });
  return { gradLogits: [...out.gradLogits], loss: [...out.loss], correct: [...out.correct] };
}

function softmax(logits: number[], classes: number): number[] {
  const probs = new Float32Array(logits.length);
  softmaxRef({ logits: Float32Array.from(logits), probs, n: logits.length / classes, classes });
  return [...probs];
}

const near = (values: number[], digits = 6) => values.map((v) => Number(v.toFixed(digits)));

describe('softmax and cross-entropy CPU reference, against values computed by hand', () => {
  test('logits [0, ln 3]: probabilities 1/4 and 3/4', () => {
    expect(near(softmax([0, Math.log(3)], 2))).toEqual([0.25, 0.75]);
    const { loss, gradLogits, correct } = crossEntropy([0, Math.log(3), 0, Math.log(3)], [1, 0], 'index', 2, 0.5);
    expect(loss[0]).toBeCloseTo(-Math.log(0.75), 6);
    expect(loss[1]).toBeCloseTo(-Math.log(0.25), 6);
    expect(near(gradLogits)).toEqual([0.125, -0.125, -0.375, 0.375]); // (p - onehot) / 2
    expect(correct).toEqual([1, 0]);
  });

  test('soft labels (mixup): -sum y log p; correct compares with the argmax of the label row', () => {
    const { loss, gradLogits, correct } = crossEntropy([0, Math.log(3), 0, Math.log(3)], [0.5, 0.5, 0.2, 0.8], 'soft', 2);
    expect(loss[0]).toBeCloseTo(-(0.5 * Math.log(0.25) + 0.5 * Math.log(0.75)), 6);
    expect(loss[1]).toBeCloseTo(-(0.2 * Math.log(0.25) + 0.8 * Math.log(0.75)), 6);
    expect(near(gradLogits)).toEqual([-0.25, 0.25, 0.05, -0.05]);
    expect(correct).toEqual([0, 1]); // a tie in the label row goes to its lowest index, 0
  });

  test('logits of +-80 neither overflow nor lose the loss', () => {
    const { loss, gradLogits, correct } = crossEntropy([80, -80, 0, 80, -80, 0], [1, 0], 'index', 3);
    expect(loss[0]).toBeCloseTo(160, 4); // log(1 + e^-80 + e^-160) + 160
    expect(loss[1]).toBeCloseTo(Math.exp(-80), 40); // tiny, yet relative to e^-80, not rounded to 0
    expect(loss[1] / Math.exp(-80)).toBeCloseTo(1, 5);
    expect(gradLogits.every(Number.isFinite)).toBe(true);
    expect(gradLogits[3] / -Math.exp(-80)).toBeCloseTo(1, 5); // 1 - p_top without cancellation
    expect(correct).toEqual([0, 1]);
    expect(near(softmax([80, -80, 0, -80, -80, -80], 3))).toEqual([1, 0, 0, 0.333333, 0.333333, 0.333333]);
  });

  test('ties in the logits go to the lowest index', () => {
    expect(crossEntropy([1, 3, 3, 2], [1], 'index', 4).correct).toEqual([1]);
    expect(crossEntropy([1, 3, 3, 2], [2], 'index', 4).correct).toEqual([0]);
    expect(near(softmax([5, 5, 5, 5], 4))).toEqual([0.25, 0.25, 0.25, 0.25]);
  });

  test('one class: probability 1, loss 0, gradient 0', () => {
    expect(softmax([7, -3], 1)).toEqual([1, 1]);
    expect(crossEntropy([7, -3], [0, 0], 'index', 1)).toEqual({ gradLogits: [0, 0], loss: [0, 0], correct: [1, 1] });
  });

  test('index labels outside [0, classes): no target, loss 0, gradient = softmax * gradScale, correct 0', () => {
    const logits = [0, Math.log(3), 2, 1];
    const { loss, gradLogits, correct } = crossEntropy(logits, [-1, 2], 'index', 2, 0.5);
    expect(loss).toEqual([0, 0]);
    expect(correct).toEqual([0, 0]);
    expect(gradLogits).toEqual(softmax(logits, 2).map((p) => Math.fround(p * 0.5)));
  });

  test('logOnePlus: series below 2^-5 and log above agree with Math.log1p', () => {
    for (const u of [0, 1e-30, 1e-8, 1e-4, 0.01, 0.03, 0.0312, 0.0313, 0.5, 1, 999]) {
      expect(Math.abs(logOnePlus(Math.fround(u)) - Math.log1p(Math.fround(u))), `u ${u}`).toBeLessThanOrEqual(3e-7 * Math.log1p(u));
    }
  });
});

describe('against an independent float64 computation and finite differences', () => {
  test.each(['index', 'soft'] as const)('%s labels: loss and probabilities as in float64', (labelKind) => {
    const random = mulberry32(seed ^ labelKind.length);
    const [n, classes] = [50, 13];
    const logits = Array.from({ length: n * classes }, () => Math.fround((random() - 0.5) * 40));
    const labels = labelKind === 'index' ? Array.from({ length: n }, () => Math.floor(random() * classes)) : randomSoftRows(random, n, classes);
    const { loss } = crossEntropy(logits, labels, labelKind, classes);
    const probs = softmax(logits, classes);
    for (let r = 0; r < n; r++) {
      const row = logits.slice(r * classes, (r + 1) * classes);
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
      const y = (j: number) => (labelKind === 'index' ? +(labels[r] === j) : labels[r * classes + j]);
      const expected = row.reduce((s, x, j) => s + y(j) * (lse - x), 0);
      expect(Math.abs(loss[r] - expected) / Math.max(expected, 1e-30), `row ${r}, seed ${seed}`).toBeLessThan(1e-5);
      // float32 x - max is off by up to 2^-24 |x - max|, so exp of it by as much, relatively.
      row.forEach((x, j) => expect(Math.abs(probs[r * classes + j] / Math.exp(x - lse) - 1)).toBeLessThan(1e-5));
    }
  });

  test.each(['index', 'soft'] as const)('%s labels: gradLogits is the gradient of the mean loss', (labelKind) => {
    const random = mulberry32(seed ^ 77);
    const [n, classes] = [4, 7];
    const logits = Array.from({ length: n * classes }, () => Math.fround((random() - 0.5) * 6));
    const labels = labelKind === 'index' ? [0, 3, 6, 2] : randomSoftRows(random, n, classes);
    const meanLoss = (x: number[]) => crossEntropy(x, labels, labelKind, classes).loss.reduce((a, b) => a + b, 0) / n;
    const { gradLogits } = crossEntropy(logits, labels, labelKind, classes, 1 / n);
    for (let i = 0; i < logits.length; i++) {
      const h = 1 / 64; // divided by the step taken: x +- h rounded to float32
      const [up, down] = [logits.slice(), logits.slice()];
      up[i] = Math.fround(logits[i] + h);
      down[i] = Math.fround(logits[i] - h);
      const slope = (meanLoss(up) - meanLoss(down)) / (up[i] - down[i]);
      expect(Math.abs(slope - gradLogits[i]), `logit ${i}, seed ${seed}`).toBeLessThan(5e-4);
    }
  });
});

test('labels outside [0, classes) are flagged in invalid; a row with a NaN logit (a diverged model) is never correct', () => {
  const out = { gradLogits: new Float32Array(9), loss: new Float32Array(3), correct: new Float32Array(3), invalid: new Float32Array(3) };
  const logits = Float32Array.of(NaN, 0, 0, 0, 1, 0, 2, 0, 0);
  softmaxCrossEntropyRef({ logits, n: 3, classes: 3, labels: Int32Array.of(0, 3, 0), labelKind: 'index', gradScale: 1, ...out });
  expect([...out.invalid]).toEqual([0, 1, 0]);
  expect([...out.correct]).toEqual([0, 0, 1]); // row 0's argmax is index 0 only because NaN compares false
  expect(Number.isNaN(out.loss[0])).toBe(true);
  softmaxCrossEntropyRef({ logits, n: 3, classes: 3, labels: Float32Array.of(1, 0, 0, 0, 1, 0, 1, 0, 0), labelKind: 'soft', gradScale: 1, ...out });
  expect([...out.invalid]).toEqual([0, 0, 0]);
  expect([...out.correct]).toEqual([0, 1, 1]);
});

test('bad arguments are EdgelakeErrors', () => {
  const f = (length: number) => new Float32Array(length);
  const ok = { logits: f(6), n: 2, classes: 3, labels: new Int32Array(2), labelKind: 'index' as LabelKind, gradLogits: f(6), gradScale: 0.5, loss: f(2), correct: f(2) };
  const cases: [Partial<typeof ok> | { labels: Float32Array }, RegExp][] = [
    [{ classes: 0 }, /classes must be a positive integer/],
    [{ n: -1 }, /n must be a non-negative integer/],
    [{ n: 3 }, /logits holds 6 values, 9 needed/],
    [{ labels: new Float32Array(2) }, /'index' labels must be an Int32Array/],
    [{ labelKind: 'soft', labels: new Float32Array(2) } as never, /labels holds 2 values, 6 needed/],
    [{ labelKind: 'hard' as LabelKind }, /labelKind must be 'index' or 'soft'/],
    [{ gradScale: NaN }, /gradScale must be finite/],
    [{ loss: f(1) }, /loss holds 1 values/],
  ];
  for (const [change, message] of cases) {
    expect(failure(() => softmaxCrossEntropyRef({ ...ok, ...change } as typeof ok))).toMatch(message);
  }
  expect(failure(() => softmaxRef({ logits: f(6), probs: f(5), n: 2, classes: 3 }))).toMatch(/^invalid-input: softmax: probs holds 5/);
});

/** Rows of random class probabilities: mixup-like pairs, and spread rows. */
function randomSoftRows(random: () => number, n: number, classes: number): number[] {
  const rows: number[] = [];
  for (let r = 0; r < n; r++) {
    const row = new Array<number>(classes).fill(0);
    if (random() < 0.5) {
      const lambda = random() < 0.2 ? 0.5 : random();
      row[Math.floor(random() * classes)] += lambda;
      row[Math.floor(random() * classes)] += 1 - lambda;
    } else {
      const weights = row.map(() => random());
      const total = weights.reduce((a, b) => a + b, 0);
      weights.forEach((w, j) => (row[j] = w / total));
    }
    rows.push(...row.map(Math.fround));
  }
  return rows;
}
