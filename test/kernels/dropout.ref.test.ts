import { describe, expect, test } from 'vitest';
import { failure } from '../support/errors.js';
import { mulberry32 } from '../support/random.js';
import { dropoutBackwardRef, type DropoutKey, dropoutRef, uniform24 } from '../../src/kernels/index.js';

// A new seed each run; EDGELAKE_SEED=<n> replays a failure.
const seed = Number(process.env.EDGELAKE_SEED ?? Date.now() % 2 ** 32);
const random = mulberry32(seed);
const values = (count: number) => Float32Array.from({ length: count }, () => (random() - 0.5) * 8 || 1); // no zeros: a zero is a dropped element
const key = (step = 7, stream = 3): DropoutKey => ({ seed: seed >>> 0, stream, step });

function dropout(input: Float32Array, rate: number, k = key()): Float32Array {
  const output = new Float32Array(input.length);
  dropoutRef({ ...k, input, output, count: input.length, rate });
  return output;
}

describe('dropout CPU reference', () => {
  test('keeps element i iff uniform24(seed, stream, step, i) >= rate, scaled by 1 / (1 - rate)', () => {
    const input = values(5000);
    const rate = 0.3;
    const output = dropout(input, rate);
    const k = key();
    for (let i = 0; i < input.length; i++) {
      const expected = uniform24(k.seed, k.stream, k.step, i) >= rate ? Math.fround(input[i] * Math.fround(1 / 0.7)) : 0;
      if (output[i] !== expected) expect(`${i}: ${output[i]}`, `seed ${seed}`).toBe(`${i}: ${expected}`);
      expect(Math.abs(output[i] - (expected === 0 ? 0 : input[i] / 0.7))).toBeLessThanOrEqual(Math.abs(input[i]) * 2 ** -22);
    }
  });

  test('the kept fraction is 1 - rate within 5 standard deviations over 1e6 elements', () => {
    const count = 1_000_000;
    for (const rate of [0.1, 0.5, 0.9]) {
      const output = dropout(new Float32Array(count).fill(1), rate);
      const kept = output.reduce((n, x) => n + (x !== 0 ? 1 : 0), 0);
      const sd = Math.sqrt(count * rate * (1 - rate));
      expect(Math.abs(kept - count * (1 - rate)), `rate ${rate}, seed ${seed}`).toBeLessThan(5 * sd);
    }
  });

  test('backward zeroes and scales the gradient exactly where forward did', () => {
    const input = values(3000);
    const forward = dropout(input, 0.4);
    const gradOutput = values(3000);
    const gradInput = new Float32Array(3000);
    dropoutBackwardRef({ ...key(), gradOutput, gradInput, count: 3000, rate: 0.4 });
    for (let i = 0; i < 3000; i++) expect(gradInput[i] === 0, `element ${i}, seed ${seed}`).toBe(forward[i] === 0);
    const scaled = gradOutput.map((g, i) => (forward[i] === 0 ? 0 : g * Math.fround(1 / 0.6)));
    expect(gradInput).toEqual(scaled);
  });

  test('rate 0 is the identity; another step or stream draws another mask', () => {
    const input = values(2000);
    expect(dropout(input, 0)).toEqual(input);
    const mask = (k: DropoutKey) => dropout(input, 0.5, k).map((x) => +(x !== 0));
    const base = mask(key(7, 3));
    for (const other of [mask(key(8, 3)), mask(key(7, 4))]) {
      const same = base.reduce((n, b, i) => n + (b === other[i] ? 1 : 0), 0);
      expect(same / 2000, `seed ${seed}`).toBeLessThan(0.6); // independent masks agree on half
    }
    expect(mask(key(7, 3))).toEqual(base);
  });

  test('only the first count elements are written; in place works', () => {
    const input = values(10);
    const output = new Float32Array(10).fill(-1);
    dropoutRef({ ...key(), input, output, count: 6, rate: 0.5 });
    expect([...output.subarray(6)]).toEqual([-1, -1, -1, -1]);
    const data = input.slice();
    dropoutRef({ ...key(), input: data, output: data, count: 10, rate: 0.5 });
    expect(data).toEqual(dropout(input, 0.5));
  });

  test('bad arguments are EdgelakeErrors', () => {
    const a = new Float32Array(4);
    const ok = { ...key(), input: a, output: a, count: 4, rate: 0.5 };
    expect(failure(() => dropoutRef({ ...ok, rate: 1 }))).toMatch(/^invalid-input: dropout: rate must be in \[0, 1\)/);
    expect(failure(() => dropoutRef({ ...ok, rate: -0.1 }))).toMatch(/rate/);
    expect(failure(() => dropoutRef({ ...ok, rate: NaN }))).toMatch(/rate/);
    expect(failure(() => dropoutRef({ ...ok, count: 5 }))).toMatch(/count 5 exceeds/);
    expect(failure(() => dropoutRef({ ...ok, step: -1 }))).toMatch(/step must be an integer/);
    expect(failure(() => dropoutRef({ ...ok, seed: 2 ** 32 }))).toMatch(/seed/);
    expect(failure(() => dropoutBackwardRef({ ...key(), gradOutput: a, gradInput: a, count: 4, rate: 2 }))).toMatch(/^invalid-input: dropoutBackward: rate/);
  });
});
