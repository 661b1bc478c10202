import { describe, expect, test } from 'vitest';
import { failure } from '../support/errors.js';
import { mulberry32 } from '../support/random.js';
import { SUM_WORKGROUP, sumRef, treeSum } from '../../src/kernels/index.js';

const seed = Number(process.env.EDGELAKE_SEED ?? Date.now() % 2 ** 32);

function sum(values: number[], options: { outputIndex?: number; accumulate?: boolean; output?: number[] } = {}): number[] {
  const output = Float32Array.from(options.output ?? [0]);
  sumRef({ input: Float32Array.from(values), count: values.length, output, outputIndex: options.outputIndex, accumulate: options.accumulate });
  return [...output];
}

describe('sum CPU reference', () => {
  test('treeSum: invocation t adds t, t + width... in sequence, then a halving tree', () => {
    // width 2: (1 + 3 + 5) + (2 + 4); width 4: ((1 + 5) + 3) + (2 + 4)
    const at = (i: number) => i + 1;
    expect(treeSum(5, at, 2)).toBe(15);
    expect(treeSum(5, at, 4)).toBe(15);
    // float32 rounding shows the order: 2^24 + 1 rounds back to 2^24 (ties to even) at every step.
    const big = [2 ** 24, 1, 1, 1];
    expect(treeSum(4, (i) => big[i], 1)).toBe(2 ** 24); // ((2^24 + 1) + 1) + 1, each rounded
    expect(treeSum(4, (i) => big[i], 2)).toBe(2 ** 24 + 2); // (2^24 + 1) + (1 + 1)
  });

  test('small sums are exact; outputIndex and accumulate', () => {
    expect(sum([1, 2, 3.5])).toEqual([6.5]);
    expect(sum([])).toEqual([0]);
    expect(sum([1, 2], { output: [5, 7, 9], outputIndex: 1 })).toEqual([5, 3, 9]);
    expect(sum([1, 2], { output: [5, 7, 9], outputIndex: 2, accumulate: true })).toEqual([5, 7, 12]);
    expect(sum([], { output: [5], accumulate: true })).toEqual([5]);
  });

  test.each([1, 255, 256, 257, 4096, 4097, 65537, 1_000_000])('%i random values: close to the exact sum', (count) => {
    const random = mulberry32(seed ^ count);
    const values = Array.from({ length: count }, () => Math.fround((random() - 0.3) * 2 ** Math.floor(random() * 10)));
    const exact = values.reduce((a, b) => a + b, 0); // float64: the float32 inputs add almost exactly
    const magnitude = values.reduce((a, b) => a + Math.abs(b), 0);
    const [got] = sum(values);
    // Pairwise-like orders keep the error near log2(count) roundings of the magnitude.
    expect(Math.abs(got - exact) / magnitude, `seed ${seed}`).toBeLessThan(2 ** -24 * Math.log2(count + 1) * 2);
  });

  test('ones across workgroups and levels count exactly, as correct flags must', () => {
    const count = SUM_WORKGROUP * 16 * 3 + 5;
    expect(sum(new Array(count).fill(1))).toEqual([count]);
  });

  test('bad arguments are EdgelakeErrors', () => {
    const input = new Float32Array(4);
    const output = new Float32Array(2);
    expect(failure(() => sumRef({ input, count: 5, output }))).toMatch(/^invalid-input: sum: input holds 4 values/);
    expect(failure(() => sumRef({ input, count: -1, output }))).toMatch(/^invalid-input: sum: count/);
    expect(failure(() => sumRef({ input, count: 1.5, output }))).toMatch(/^invalid-input: sum: count/);
    expect(failure(() => sumRef({ input, count: 4, output, outputIndex: 2 }))).toMatch(/^invalid-input: sum: output holds 2/);
    expect(failure(() => sumRef({ input, count: 4, output, outputIndex: -1 }))).toMatch(/^invalid-input: sum: outputIndex/);
  });
});
