import { describe, expect, test } from 'vitest';
import { mulberry32 } from '../support/random.js';
import { conv2dBackwardInputRef, conv2dBackwardWeightRef, conv2dRef, convOutputSize, type ConvShape } from '../../src/kernels/index.js';

const seed = Number(process.env.EDGELAKE_SEED ?? Date.now() % 2 ** 32);

describe('conv2d CPU reference, against values computed by hand', () => {
  const x = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9]); // one 3x3 image
  const w = new Float32Array([1, 2, 3, 4]); // one 2x2 kernel

  test('valid convolution: every 2x2 window dotted with the kernel', () => {
    const output = new Float32Array(4);
    conv2dRef({ n: 1, cIn: 1, h: 3, w: 3, cOut: 1, kh: 2, kw: 2, input: x, weight: w, output });
    expect([...output]).toEqual([1 + 4 + 12 + 20, 2 + 6 + 15 + 24, 4 + 10 + 21 + 32, 5 + 12 + 24 + 36]);
  });

  test('pad 1, stride 2: windows start at -1 and 1, the padding counts zero', () => {
    const output = new Float32Array(4);
    conv2dRef({ n: 1, cIn: 1, h: 3, w: 3, cOut: 1, kh: 2, kw: 2, stride: 2, pad: 1, input: x, weight: w, output });
    expect([...output]).toEqual([1 * 4, 2 * 3 + 3 * 4, 4 * 2 + 7 * 4, 5 * 1 + 6 * 2 + 8 * 3 + 9 * 4]);
  });

  test('1x1 kernel over two channels: out[co] = sum_ci w[co, ci] x[ci] + bias[co], then relu', () => {
    const input = new Float32Array([1, 2, 3, 4, /* channel 1 */ 10, 20, 30, 40]);
    const weight = new Float32Array([1, 1, /* co 1 */ 2, -1]);
    const output = new Float32Array(8);
    conv2dRef({ n: 1, cIn: 2, h: 2, w: 2, cOut: 2, kh: 1, kw: 1, input, weight, bias: new Float32Array([0.5, 0]), output, activation: 'relu' });
    expect([...output]).toEqual([11.5, 22.5, 33.5, 44.5, 0, 0, 0, 0]); // 2x - 10x < 0
  });

  test('gradient of the input and of the weights of a 1x1 convolution by hand', () => {
    const shape = { n: 1, cIn: 2, h: 1, w: 2, cOut: 1, kh: 1, kw: 1 };
    const gradInput = new Float32Array(4);
    conv2dBackwardInputRef({ ...shape, gradOutput: new Float32Array([1, -2]), weight: new Float32Array([3, 5]), gradInput });
    expect([...gradInput]).toEqual([3, -6, 5, -10]);
    const gradWeight = new Float32Array([100, 200]);
    const gradBias = new Float32Array([7]);
    const args = { ...shape, input: new Float32Array([1, 2, 3, 4]), gradOutput: new Float32Array([1, -2]), gradWeight, gradBias };
    conv2dBackwardWeightRef(args);
    expect([...gradWeight, ...gradBias]).toEqual([1 - 4, 3 - 8, -1]);
    conv2dBackwardWeightRef({ ...args, accumulate: true });
    expect([...gradWeight, ...gradBias]).toEqual([-6, -10, -2]);
  });

  test('output sizes: floor((h + 2 pad - k) / stride) + 1', () => {
    expect(convOutputSize({ n: 1, cIn: 1, h: 28, w: 28, cOut: 1, kh: 3, kw: 3, pad: 1 })).toEqual({ oh: 28, ow: 28 });
    expect(convOutputSize({ n: 1, cIn: 1, h: 9, w: 10, cOut: 1, kh: 3, kw: 2, stride: 2 })).toEqual({ oh: 4, ow: 5 });
    expect(convOutputSize({ n: 1, cIn: 1, h: 5, w: 5, cOut: 1, kh: 5, kw: 1, stride: 3, pad: 2 })).toEqual({ oh: 2, ow: 3 });
  });

  test('bad shapes and short arrays are EdgelakeErrors', () => {
    const ok = { n: 1, cIn: 1, h: 3, w: 3, cOut: 1, kh: 2, kw: 2, input: x, weight: w, output: new Float32Array(4) };
    for (const change of [{ kh: 0 }, { stride: 0 }, { pad: -1 }, { cIn: 1.5 }, { kw: 6 }, { input: new Float32Array(8) }, { output: new Float32Array(3) }, { bias: new Float32Array(0) }]) {
      expect(() => conv2dRef({ ...ok, ...change }), JSON.stringify(change)).toThrow(expect.objectContaining({ code: 'invalid-input' }));
    }
  });
});

describe('the backward references are the gradients of the forward one (finite differences in float64)', () => {
  const shapes: ConvShape[] = [
    { n: 2, cIn: 3, h: 6, w: 5, cOut: 2, kh: 3, kw: 2, stride: 2, pad: 1 },
    { n: 1, cIn: 2, h: 4, w: 7, cOut: 3, kh: 1, kw: 3, stride: 1, pad: 2 },
  ];
  test.each(shapes)('%o', (shape) => {
    const random = mulberry32(seed);
    const values = (count: number) => Float32Array.from({ length: count }, () => Math.round((random() * 2 - 1) * 8) / 8);
    const { oh, ow } = convOutputSize(shape);
    const [input, weight, bias, r] = [values(shape.n * shape.cIn * shape.h * shape.w), values(shape.cOut * shape.cIn * shape.kh * shape.kw), values(shape.cOut), values(shape.n * shape.cOut * oh * ow)];
    // loss = sum(conv(input, weight) + bias) * r), in float64; its gradient wrt the output is r.
    const loss = () => {
      const output = new Float32Array(r.length);
      conv2dRef({ ...shape, input, weight, bias, output });
      return output.reduce((sum, y, i) => sum + y * r[i], 0);
    };
    // The loss is linear in each parameter: a central difference with a step of 1 is exact up to rounding.
    const numeric = (param: Float32Array) => Array.from(param, (value, i) => {
      param[i] = value + 1;
      const up = loss();
      param[i] = value - 1;
      const down = loss();
      param[i] = value;
      return (up - down) / 2;
    });
    const gradInput = new Float32Array(input.length);
    conv2dBackwardInputRef({ ...shape, gradOutput: r, weight, gradInput });
    const [gradWeight, gradBias] = [new Float32Array(weight.length), new Float32Array(bias.length)];
    conv2dBackwardWeightRef({ ...shape, input, gradOutput: r, gradWeight, gradBias });
    for (const [name, analytic, param] of [['input', gradInput, input], ['weight', gradWeight, weight], ['bias', gradBias, bias]] as const) {
      const fd = numeric(param);
      const error = fd.reduce((max, g, i) => Math.max(max, Math.abs(g - analytic[i]) / (1 + Math.abs(g))), 0);
      expect(error, `d loss / d ${name}, seed ${seed}`).toBeLessThan(1e-5);
    }
  });
});
