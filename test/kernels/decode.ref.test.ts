import { describe, expect, test } from 'vitest';
import { decodeRef, halfToFloat, type DecodeKernelOptions } from '../../src/kernels/index.js';
import { isEdgelakeError } from '../../src/index.js';

const u16 = (...values: number[]) => new Uint8Array(new Uint16Array(values).buffer);

describe('decode CPU reference, against values computed by hand', () => {
  // A 2x2x3 image; per channel mean (10, 20, 30) and std (2, 4, 5).
  const image = new Uint8Array([12, 24, 35, 14, 28, 40, 10, 20, 30, 0, 0, 255]);
  const stats = { samples: 1, shape: [2, 2, 3], dtype: 'uint8', mean: [10, 20, 30], std: [2, 4, 5] } as const;

  test('HWC: (x - mean[c]) / std[c], channel = last dimension', () => {
    const out = decodeRef(image, stats);
    expect([...out]).toEqual([1, 1, 1, 2, 2, 2, 0, 0, 0, -5, -5, 45]);
  });

  test('CHW: each channel becomes a plane', () => {
    const out = decodeRef(image, { ...stats, toCHW: true });
    expect([...out]).toEqual([1, 2, 0, -5, 1, 2, 0, -5, 1, 2, 0, 45]);
  });

  test('two samples, scale 1/255 with [0, 1] means, one mean and std for all channels', () => {
    const out = decodeRef(new Uint8Array([0, 255, 51, 204]), {
      samples: 2, shape: [2], dtype: 'uint8', scale: 1 / 255, mean: [0.5], std: [0.5],
    });
    expect([...out].map((v) => Number(v.toFixed(6)))).toEqual([-1, 1, -0.6, 0.6]);
  });

  test('int8 embeddings dequantized per channel: scale[c] * (q - zeroPoint[c])', () => {
    const q = new Uint8Array(new Int8Array([-128, 4, 5, 127]).buffer);
    const quant = { scale: [0.5, 0.25, 2, 1], zeroPoint: [0, -4, 3, 127] };
    expect([...decodeRef(q, { samples: 1, shape: [4], dtype: 'int8', quant })]).toEqual([-64, 2, 4, 0]);
    const perTensor = { scale: [0.5], zeroPoint: [-2] };
    expect([...decodeRef(q, { samples: 2, shape: [2], dtype: 'int8', quant: perTensor })]).toEqual([-63, 3, 3.5, 64.5]);
  });

  test('16-bit integers are little-endian, signed or not', () => {
    const bytes = new Uint8Array([0x01, 0x80, 0xff, 0xff]);
    expect([...decodeRef(bytes, { samples: 2, shape: [], dtype: 'uint16' })]).toEqual([32769, 65535]);
    expect([...decodeRef(bytes, { samples: 2, shape: [], dtype: 'int16' })]).toEqual([-32767, -1]);
  });

  test('an input offset that is not a multiple of 4, and a total that is not either', () => {
    const bytes = new Uint8Array([9, 1, 2, 3, 250]);
    expect([...decodeRef(bytes, { samples: 1, shape: [3], dtype: 'int8', inputOffset: 1 })]).toEqual([1, 2, 3]);
    expect([...decodeRef(bytes, { samples: 1, shape: [4], dtype: 'uint8', inputOffset: 1 })]).toEqual([1, 2, 3, 250]);
    const halves = u16(7, 0x3c00, 0xc000);
    expect([...decodeRef(halves, { samples: 2, shape: [1], dtype: 'float16', inputOffset: 2 })]).toEqual([1, -2]);
  });

  test('float32 passes through, infinities and NaN included', () => {
    const bytes = new Uint8Array(new Float32Array([1.5, -0.25, Infinity, NaN]).buffer);
    const out = decodeRef(bytes, { samples: 1, shape: [4], dtype: 'float32', mean: [1], std: [-0.5] });
    expect([...out]).toEqual([-1, 2.5, -Infinity, NaN]);
  });
});

describe('float16 decoding from the bits', () => {
  test.each([
    [0x3c00, 1],
    [0xc000, -2],
    [0x7bff, 65504],
    [0x0001, 2 ** -24],
    [0x03ff, 1023 * 2 ** -24], // the largest subnormal
    [0x0400, 2 ** -14], // the smallest normal
    [0x3555, 0.333251953125],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
    [0x0000, 0],
    [0x8000, -0],
  ])('0x%s', (bits, value) => {
    expect(halfToFloat(bits)).toBe(value);
    const [decoded] = decodeRef(u16(bits), { samples: 1, shape: [], dtype: 'float16' });
    expect(decoded).toBe(value);
  });

  test('every one of the 65536 bit patterns equals (-1)^s 2^(e-15) (1 + m/1024), or m 2^-24', () => {
    const wrong: string[] = [];
    for (let h = 0; h < 0x10000; h++) {
      const [s, e, m] = [h >> 15, (h >> 10) & 0x1f, h & 0x3ff];
      const sign = s ? -1 : 1;
      const expected = e === 0x1f ? (m ? NaN : sign * Infinity) : e === 0 ? sign * m * 2 ** -24 : sign * 2 ** (e - 15) * (1 + m / 1024);
      if (!Object.is(halfToFloat(h), expected)) wrong.push(`0x${h.toString(16)}: ${halfToFloat(h)} != ${expected}`);
    }
    expect(wrong).toEqual([]);
  });
});

describe('decode CPU reference, against the formula in double precision', () => {
  test('each output is within a few float32 roundings of ((q*(x-zp))*scale - mean)/std', () => {
    let state = 12345;
    const random = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const channels = 7;
    const bytes = new Uint8Array(700).map(() => Math.floor(random() * 256));
    const mean = Array.from({ length: channels }, () => random() * 2 - 1);
    const std = Array.from({ length: channels }, () => 0.05 + random());
    const quant = { scale: mean.map(() => 0.001 + random() / 10), zeroPoint: mean.map(() => Math.floor(random() * 256) - 128) };
    const options: DecodeKernelOptions = { samples: 100, shape: [channels], dtype: 'int8', scale: 3, mean, std, quant };
    const out = decodeRef(bytes, options);
    const values = new Int8Array(bytes.buffer);
    for (let i = 0; i < out.length; i++) {
      const c = i % channels;
      const real = quant.scale[c] * (values[i] - quant.zeroPoint[c]) * 3;
      const exact = (real - mean[c]) / std[c];
      const b = (quant.scale[c] * 3) / std[c];
      const bound = 4 * 2 ** -24 * b * (Math.abs(values[i]) + Math.abs(quant.zeroPoint[c]) + Math.abs(mean[c]) / (quant.scale[c] * 3));
      expect(Math.abs(out[i] - exact), `value ${i}`).toBeLessThanOrEqual(bound);
    }
  });
});

describe('decode arguments', () => {
  const ok: DecodeKernelOptions = { samples: 1, shape: [2, 3], dtype: 'int8' };
  test.each<[string, Partial<DecodeKernelOptions>]>([
    ['std 0', { std: [0] }],
    ['2 means for 3 channels', { mean: [0, 0] }],
    ['scale 0', { scale: 0 }],
    ['NaN mean', { mean: [NaN] }],
    ['negative samples', { samples: -1 }],
    ['fractional extent', { shape: [2.5, 3] }],
    ['unknown dtype', { dtype: 'int32' as never }],
    ['odd inputOffset for int16', { dtype: 'int16', inputOffset: 1 }],
    ['quant on uint16', { dtype: 'uint16', quant: { scale: [1], zeroPoint: [0] } }],
    ['quant scale 0', { quant: { scale: [0], zeroPoint: [0] } }],
    ['int8 zeroPoint 128', { quant: { scale: [1], zeroPoint: [128] } }],
    ['uint8 zeroPoint -1', { dtype: 'uint8', quant: { scale: [1], zeroPoint: [-1] } }],
  ])('refuses %s', (_, change) => {
    let error: unknown;
    try {
      decodeRef(new Uint8Array(64), { ...ok, ...change });
    } catch (e) {
      error = e;
    }
    expect(isEdgelakeError(error, 'invalid-input'), String(error)).toBe(true);
  });

  test('refuses fewer bytes than the samples need', () => {
    expect(() => decodeRef(new Uint8Array(11), { ...ok, samples: 2 })).toThrow(/12 input bytes needed, got 11/);
  });
});
