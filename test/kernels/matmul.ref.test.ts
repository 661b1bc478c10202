import { describe, expect, test } from 'vitest';
import { type MatmulArgs, matmulRef } from '../../src/kernels/index.js';

const f32 = (...values: number[]) => new Float32Array(values);
function run(args: Omit<MatmulArgs<Float32Array>, 'out'> & { out?: Float32Array }): number[] {
  const out = args.out ?? new Float32Array(args.m * args.n);
  matmulRef({ ...args, out });
  return [...out];
}

describe('matmul CPU reference, against products computed by hand', () => {
  // A = [[1, 2, 3], [4, 5, 6]] (2 x 3), B = [[1, 0], [0, 1], [2, -1]] (3 x 2).
  const a = f32(1, 2, 3, 4, 5, 6);
  const b = f32(1, 0, 0, 1, 2, -1);
  const shape = { m: 2, n: 2, k: 3 };

  test('A B, row-major', () => {
    // [1 + 6, 2 - 3], [4 + 12, 5 - 6]
    expect(run({ a, b, ...shape })).toEqual([7, -1, 16, -1]);
  });

  test('transA reads a stored k x m, transB reads b stored n x k: same product', () => {
    const aT = f32(1, 4, 2, 5, 3, 6);
    const bT = f32(1, 0, 2, 0, 1, -1);
    expect(run({ a: aT, b, ...shape, transA: true })).toEqual([7, -1, 16, -1]);
    expect(run({ a, b: bT, ...shape, transB: true })).toEqual([7, -1, 16, -1]);
    expect(run({ a: aT, b: bT, ...shape, transA: true, transB: true })).toEqual([7, -1, 16, -1]);
  });

  test('bias is added to every row, then ReLU clamps negatives', () => {
    expect(run({ a, b, ...shape, bias: f32(0.5, 2) })).toEqual([7.5, 1, 16.5, 1]);
    expect(run({ a, b, ...shape, bias: f32(-10, 0.5), activation: 'relu' })).toEqual([0, 0, 6, 0]);
  });

  test('accumulate adds the product to out (gradient accumulation)', () => {
    expect(run({ a, b, ...shape, out: f32(1, 1, 1, 1), accumulate: true })).toEqual([8, 0, 17, 0]);
  });

  test('dW = X^T dY and dX = dY W^T, the products of a dense layer backward pass', () => {
    // X: batch 2 x 2 inputs, dY: batch 2 x 1 output; dW[i][o] = sum_b X[b][i] dY[b][o].
    const x = f32(1, 2, 3, 4);
    const dy = f32(10, 100);
    expect(run({ a: x, b: dy, m: 2, n: 1, k: 2, transA: true })).toEqual([310, 420]);
    // W: 2 inputs x 1 output; dX[b][i] = dY[b] W[i].
    const w = f32(0.5, -1);
    expect(run({ a: dy, b: w, m: 2, n: 2, k: 1, transB: true })).toEqual([5, -10, 50, -100]);
  });

  test('k = 0 gives the bias (or zeros); m = 0 or n = 0 writes nothing', () => {
    expect(run({ a: f32(), b: f32(), m: 1, n: 2, k: 0, bias: f32(3, -3), activation: 'relu' })).toEqual([3, 0]);
    expect(run({ a: f32(), b: f32(1, 2), m: 0, n: 2, k: 1 })).toEqual([]);
  });

  test('sums in double, rounded once: 1 + 1e-8 * 1e8 terms is not lost', () => {
    const k = 1001;
    const x = new Float32Array(k).fill(1e-8);
    x[0] = 1;
    const y = new Float32Array(k).fill(1);
    expect(run({ a: x, b: y, m: 1, n: 1, k })[0]).toBeCloseTo(1 + 1e-5, 7);
  });

  test('bad arguments are EdgelakeErrors', () => {
    const bad: Partial<MatmulArgs<Float32Array>>[] = [
      { m: -1 },
      { k: 1.5 },
      { a: f32(1, 2) }, // 2 x 3 needs 6
      { out: f32(0) },
      { bias: f32(1) },
      { accumulate: true, bias: f32(1, 2) },
      { accumulate: true, activation: 'relu' },
      { activation: 'gelu' as 'relu' },
    ];
    for (const change of bad) {
      const call = () => matmulRef({ a, b, out: new Float32Array(4), ...shape, ...change });
      expect(call, JSON.stringify(change)).toThrow(expect.objectContaining({ code: 'invalid-input' }));
    }
    expect(() => matmulRef({ a, b, out: a, ...shape })).toThrow(expect.objectContaining({ code: 'invalid-input' }));
  });
});
