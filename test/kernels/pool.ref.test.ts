import { describe, expect, test } from 'vitest';
import { mulberry32 } from '../support/random.js';
import { maxPoolBackwardRef, maxPoolRef, poolOutputSize, type PoolShape } from '../../src/kernels/index.js';

const seed = Number(process.env.EDGELAKE_SEED ?? Date.now() % 2 ** 32);

function pool(shape: PoolShape, input: number[]) {
  const { oh, ow } = poolOutputSize(shape);
  const [output, argmax] = [new Float32Array(shape.n * shape.c * oh * ow), new Uint32Array(shape.n * shape.c * oh * ow)];
  maxPoolRef({ ...shape, input: new Float32Array(input), output, argmax });
  return { output: [...output], argmax: [...argmax] };
}

describe('max pooling CPU reference, against values computed by hand', () => {
  const image = [
    1, 5, 2, 0,
    3, 4, 8, 8,
    0, 0, 1, 1,
    9, 0, 1, 2,
  ];

  test('2x2 windows, stride 2: the maximum and its flat index, the first of equal values', () => {
    expect(pool({ n: 1, c: 1, h: 4, w: 4, size: 2 }, image)).toEqual({ output: [5, 8, 9, 2], argmax: [1, 6, 12, 15] });
  });

  test('argmax indexes the whole input: the second plane starts at h * w', () => {
    const twoPlanes = [...image, ...image.map((v) => -v)];
    const { argmax } = pool({ n: 2, c: 1, h: 4, w: 4, size: 2 }, twoPlanes);
    expect(argmax).toEqual([1, 6, 12, 15, 16 + 0, 16 + 3, 16 + 8, 16 + 10]);
  });

  test('backward: the gradient goes to the argmax, zeros elsewhere', () => {
    const gradInput = new Float32Array(16).fill(123);
    maxPoolBackwardRef({ n: 1, c: 1, h: 4, w: 4, size: 2, gradOutput: new Float32Array([10, 20, 30, 40]), argmax: new Uint32Array([1, 6, 12, 15]), gradInput });
    expect([...gradInput]).toEqual([0, 10, 0, 0, 0, 0, 20, 0, 0, 0, 0, 0, 30, 0, 0, 40]);
  });

  test('overlapping windows that all pick the centre add their gradients there', () => {
    const shape = { n: 1, c: 1, h: 3, w: 3, size: 2, stride: 1 };
    const { output, argmax } = pool(shape, [1, 2, 3, 4, 9, 5, 6, 7, 8]);
    expect(output).toEqual([9, 9, 9, 9]);
    expect(argmax).toEqual([4, 4, 4, 4]);
    const gradInput = new Float32Array(9);
    maxPoolBackwardRef({ ...shape, gradOutput: new Float32Array([1, 2, 3, 4]), argmax: new Uint32Array(argmax), gradInput });
    expect([...gradInput]).toEqual([0, 0, 0, 0, 10, 0, 0, 0, 0]);
  });

  test('output sizes: floor((h - size) / stride) + 1, stride = size by default', () => {
    expect(poolOutputSize({ n: 1, c: 1, h: 28, w: 28, size: 2 })).toEqual({ oh: 14, ow: 14 });
    expect(poolOutputSize({ n: 1, c: 1, h: 7, w: 9, size: 2 })).toEqual({ oh: 3, ow: 4 });
    expect(poolOutputSize({ n: 1, c: 1, h: 11, w: 9, size: 3, stride: 2 })).toEqual({ oh: 5, ow: 4 });
  });

  test('bad shapes, short arrays and argmax outside the input are EdgelakeErrors', () => {
    const ok = { n: 1, c: 1, h: 4, w: 4, size: 2, input: new Float32Array(16), output: new Float32Array(4), argmax: new Uint32Array(4) };
    for (const change of [{ size: 0 }, { size: 5 }, { stride: -1 }, { n: 0 }, { input: new Float32Array(15) }, { argmax: new Uint32Array(3) }]) {
      expect(() => maxPoolRef({ ...ok, ...change }), JSON.stringify(change)).toThrow(expect.objectContaining({ code: 'invalid-input' }));
    }
    const backward = { n: 1, c: 1, h: 4, w: 4, size: 2, gradOutput: new Float32Array(4), argmax: new Uint32Array([0, 1, 2, 16]), gradInput: new Float32Array(16) };
    expect(() => maxPoolBackwardRef(backward)).toThrow(expect.objectContaining({ code: 'invalid-input' }));
  });
});

describe('the backward reference is the gradient of the forward one (finite differences in float64)', () => {
  const shapes: PoolShape[] = [
    { n: 2, c: 3, h: 7, w: 6, size: 2 },
    { n: 1, c: 2, h: 7, w: 8, size: 3, stride: 2 },
    { n: 1, c: 1, h: 5, w: 5, size: 2, stride: 1 },
  ];
  test.each(shapes)('%o', (shape) => {
    const random = mulberry32(seed);
    const count = shape.n * shape.c * shape.h * shape.w;
    // Distinct values 1/count apart, so a step of 1/(4 count) never changes which one is the maximum.
    const order = Array.from({ length: count }, (_, i) => i).sort(() => random() - 0.5);
    const input = Float32Array.from(order, (k) => k / count);
    const { oh, ow } = poolOutputSize(shape);
    const r = Float32Array.from({ length: shape.n * shape.c * oh * ow }, () => random() * 2 - 1);
    const argmax = new Uint32Array(r.length);
    const loss = () => {
      const output = new Float32Array(r.length);
      maxPoolRef({ ...shape, input, output, argmax });
      return output.reduce((sum, y, i) => sum + y * r[i], 0);
    };
    loss();
    const gradInput = new Float32Array(count);
    maxPoolBackwardRef({ ...shape, gradOutput: r, argmax: argmax.slice(), gradInput });
    const step = 1 / (4 * count);
    for (let i = 0; i < count; i++) {
      const value = input[i];
      input[i] = value + step;
      const up = loss();
      input[i] = value - step;
      const down = loss();
      input[i] = value;
      expect(Math.abs((up - down) / (2 * step) - gradInput[i]), `input ${i}, seed ${seed}`).toBeLessThan(1e-3);
    }
  });
});
