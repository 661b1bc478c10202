import { describe, expect, test } from 'vitest';
import { isEdgelakeError } from '../../src/index.js';
import { augmentMix, type AugmentOp, augmentParams, augmentRef, compileAugment, mixLabels, PARAM_STRIDE, type SampleShape } from '../../src/kernels/index.js';

const ids = (n: number, from = 0) => Uint32Array.from({ length: n }, (_, i) => from + i);
const ramp = (length: number) => Float32Array.from({ length }, (_, i) => i);
const run = (ops: AugmentOp[], shape: SampleShape, input: Float32Array, n = 1, epoch = 0) =>
  augmentRef(compileAugment(ops, shape), input, { n, ids: ids(n, 100), seed: 7, epoch });

describe('augment CPU reference, hand-checked', () => {
  test('a horizontal flip of a 1x2x3 image mirrors each row; a vertical one swaps the rows', () => {
    const input = Float32Array.of(0, 1, 2, 3, 4, 5);
    expect([...run([{ op: 'flip', p: 1 }], [1, 2, 3], input).output]).toEqual([2, 1, 0, 5, 4, 3]);
    expect([...run([{ op: 'flip', axis: 'vertical', p: 1 }], [1, 2, 3], input).output]).toEqual([3, 4, 5, 0, 1, 2]);
    expect([...run([{ op: 'flip', p: 0 }], [1, 2, 3], input).output]).toEqual([0, 1, 2, 3, 4, 5]);
  });

  test('a crop of the whole image at the input size is the identity, bit for bit', () => {
    const input = Float32Array.from({ length: 3 * 7 * 10 * 2 }, (_, i) => Math.fround(Math.sin(i) * 3));
    const ops: AugmentOp[] = [{ op: 'randomResizedCrop', size: [7, 10], scale: [1, 1], ratio: [10 / 7, 10 / 7] }];
    expect(run(ops, [3, 7, 10], input, 2).output).toEqual(input);
    expect(run([{ op: 'resize', size: [7, 10] }], [3, 7, 10], input, 2).output).toEqual(input);
  });

  test('a rotation by 0 degrees is the identity; by 90 it turns the image counter-clockwise', () => {
    const input = ramp(9); // 0 1 2 / 3 4 5 / 6 7 8
    expect(run([{ op: 'rotate', degrees: 0 }], [1, 3, 3], input).output).toEqual(input);
    const turned = run([{ op: 'rotate', degrees: [90, 90] }], [1, 3, 3], input).output;
    [2, 5, 8, 1, 4, 7, 0, 3, 6].forEach((v, i) => expect(turned[i]).toBeCloseTo(v, 5));
  });

  test('rotated corners outside the source take the fill value', () => {
    const out = run([{ op: 'rotate', degrees: [45, 45], fill: -1 }], [1, 9, 9], new Float32Array(81).fill(2)).output;
    expect([out[0], out[8], out[72], out[80]]).toEqual([-1, -1, -1, -1]);
    expect(out[40]).toBe(2);
  });

  test('resize is bilinear with edge-clamped taps (torch, align_corners=False)', () => {
    const out = run([{ op: 'resize', size: [1, 4] }], [1, 1, 2], Float32Array.of(0, 1)).output;
    expect([...out]).toEqual([0, 0.25, 0.75, 1]);
  });

  test('brightness factor 1 is the identity; contrast 0 gives the mean gray; saturation 0 the gray', () => {
    const input = Float32Array.from({ length: 3 * 5 * 4 }, (_, i) => Math.fround(((i * 37) % 11) / 11));
    expect(run([{ op: 'colorJitter', brightness: [1, 1] }], [3, 5, 4], input).output).toEqual(input);
    const flat = run([{ op: 'colorJitter', contrast: [0, 0] }], [1, 5, 4], input.subarray(0, 20)).output;
    const mean = input.subarray(0, 20).reduce((a, b) => a + b) / 20;
    for (const v of flat) expect(v).toBeCloseTo(mean, 6);
    const gray = run([{ op: 'colorJitter', saturation: [0, 0] }], [3, 5, 4], input).output;
    for (let i = 0; i < 20; i++) {
      const level = 0.2989 * input[i] + 0.587 * input[i + 20] + 0.114 * input[i + 40];
      [0, 20, 40].forEach((k) => expect(gray[i + k]).toBeCloseTo(level, 6));
    }
  });

  test('cutout fills one rectangle inside the image, the box its parameters name', () => {
    const plan = compileAugment([{ op: 'cutout', p: 1, value: -5 }], [1, 20, 30]);
    const n = 50;
    const { output } = augmentRef(plan, new Float32Array(n * 600).fill(1), { n, ids: ids(n), seed: 3, epoch: 1 });
    const params = augmentParams(plan, ids(n), 3, 1);
    let erased = 0;
    for (let s = 0; s < n; s++) {
      const [x0, y0, x1, y1] = params.subarray(s * PARAM_STRIDE + 9, s * PARAM_STRIDE + 13);
      if (x1 > x0) erased++;
      expect(x0 >= 0 && y0 >= 0 && x1 <= 30 && y1 <= 20 && x1 - x0 < 30 && y1 - y0 < 20).toBe(true);
      for (let i = 0; i < 600; i++) {
        const [x, y] = [i % 30, Math.floor(i / 30)];
        expect(output[s * 600 + i]).toBe(x >= x0 && x < x1 && y >= y0 && y < y1 ? -5 : 1);
      }
    }
    expect(erased).toBeGreaterThan(40); // p = 1: all but failed placements
  });

  test('mixup with lambda 1 returns the input; otherwise lambda x + (1 - lambda) x[partner]', () => {
    const plan = compileAugment([{ op: 'mixup', alpha: 0.4 }], [1, 3, 5]);
    const input = Float32Array.from({ length: 7 * 15 }, (_, i) => Math.fround(Math.cos(i)));
    const args = { n: 7, ids: ids(7), seed: 1, epoch: 2 };
    const params = augmentParams(plan, args.ids, args.seed, args.epoch);
    const { output, mix } = augmentRef(plan, input, { ...args, params });
    expect([...mix!.partner].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    for (let s = 0; s < 7; s++) {
      const [p, l] = [mix!.partner[s], mix!.lambda[s]];
      for (let i = 0; i < 15; i++) expect(output[s * 15 + i]).toBeCloseTo(l * input[s * 15 + i] + (1 - l) * input[p * 15 + i], 6);
    }
    for (let s = 0; s < 7; s++) params.set([1, 0], s * PARAM_STRIDE + 14);
    expect(augmentRef(plan, input, { ...args, params }).output).toEqual(input);
  });

  test('mixup lambdas follow Beta(alpha, alpha): mean 1/2, variance 1 / (4 (2 alpha + 1))', () => {
    for (const alpha of [0.2, 1, 4]) {
      const plan = compileAugment([{ op: 'mixup', alpha }], [1, 1, 1]);
      const { lambda } = augmentMix(plan, augmentParams(plan, ids(4000), 11, 0))!;
      const mean = lambda.reduce((a, b) => a + b) / lambda.length;
      const variance = lambda.reduce((a, b) => a + (b - mean) ** 2, 0) / lambda.length;
      expect(mean).toBeCloseTo(0.5, 1);
      expect(variance / (1 / (4 * (2 * alpha + 1)))).toBeGreaterThan(0.9);
      expect(variance / (1 / (4 * (2 * alpha + 1)))).toBeLessThan(1.1);
    }
  });

  test('noise has mean 0 and the requested standard deviation', () => {
    const { output } = run([{ op: 'noise', std: 0.5 }], [3, 40, 50], new Float32Array(3 * 40 * 50 * 4), 4);
    const mean = output.reduce((a, b) => a + b) / output.length;
    const std = Math.sqrt(output.reduce((a, b) => a + (b - mean) ** 2, 0) / output.length);
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(std).toBeCloseTo(0.5, 2);
  });

  test('mean and std apply last: the output is the unnormalized one, then (v - mean) * (1 / std) per channel', () => {
    const ops: AugmentOp[] = [{ op: 'rotate', degrees: 40, fill: 0 }, { op: 'colorJitter', brightness: 0.5, saturation: 0.5 }, { op: 'noise', std: 0.1 }, { op: 'cutout', p: 1 }, { op: 'mixup', alpha: 0.4 }];
    const [mean, std] = [[0.485, 0.456, 0.406], [0.229, 0.224, 0.225]];
    for (const layout of ['CHW', 'HWC'] as const) {
      const key = { n: 4, ids: ids(4), seed: 5, epoch: 1 };
      const input = Float32Array.from({ length: 4 * 3 * 9 * 7 }, (_, i) => Math.fround(((i * 37) % 101) / 100));
      const raw = augmentRef(compileAugment(ops, [3, 9, 7], layout), input, key).output;
      const plan = compileAugment(ops, [3, 9, 7], layout, { mean, std });
      const channel = (i: number) => (layout === 'HWC' ? i % 3 : Math.floor(i / 63) % 3);
      const expected = raw.map((v, i) => Math.fround(Math.fround(v - Math.fround(mean[channel(i)])) * Math.fround(1 / std[channel(i)])));
      expect(augmentRef(plan, input, key).output).toEqual(expected);
    }
    expect(compileAugment(ops, [3, 9, 7], 'CHW', { mean: [0], std: [1] }).stages.normalize).toBe(false);
  });

  test('soft labels put lambda on the own class and 1 - lambda on the partner', () => {
    const mix = { partner: Uint32Array.of(1, 0, 2), lambda: Float32Array.of(0.75, 0.25, 0.5) };
    const out = mixLabels(Int32Array.of(0, 2, -1), 3, mix);
    expect([...out]).toEqual([0.75, 0, 0.25, 0.75, 0, 0.25, 0, 0, 0]);
  });

  test('same key, same result; another epoch, other parameters', () => {
    const ops: AugmentOp[] = [{ op: 'randomResizedCrop', size: [4, 4] }, { op: 'flip' }, { op: 'colorJitter', brightness: 0.5 }];
    const input = ramp(3 * 8 * 8 * 3);
    expect(run(ops, [3, 8, 8], input, 3, 5).output).toEqual(run(ops, [3, 8, 8], input, 3, 5).output);
    expect(run(ops, [3, 8, 8], input, 3, 6).output).not.toEqual(run(ops, [3, 8, 8], input, 3, 5).output);
  });

  test("channels-last output ('HWC') holds the same values as planes ('CHW'), pixel by pixel", () => {
    const ops: AugmentOp[] = [{ op: 'randomResizedCrop', size: [5, 4] }, { op: 'colorJitter', saturation: 0.5 }, { op: 'noise', std: 0.1 }, { op: 'mixup', alpha: 0.4 }];
    const [n, input, key] = [3, ramp(3 * 3 * 8 * 6), { n: 3, ids: ids(3), seed: 7, epoch: 2 }];
    const planes = augmentRef(compileAugment(ops, [3, 8, 6]), input, key).output;
    const pixels = augmentRef(compileAugment(ops, [3, 8, 6], 'HWC'), input, key).output;
    const transposed = new Float32Array(planes.length);
    for (let s = 0; s < n; s++) for (let k = 0; k < 3; k++) for (let p = 0; p < 20; p++) transposed[(s * 20 + p) * 3 + k] = planes[(s * 3 + k) * 20 + p];
    expect(pixels).toEqual(transposed);
  });
});

describe('augment validation', () => {
  const cases: [unknown[], SampleShape, RegExp][] = [
    [[{ op: 'blur' }], [3, 8, 8], /augment\[0\]: op must be one of .*'blur'/],
    [[{ op: 'flip', p: 2 }], [3, 8, 8], /augment\[0\] \(flip\): p must be a number in \[0, 1\], got 2/],
    [[{ op: 'flip', prob: 0.5 }], [3, 8, 8], /augment\[0\] \(flip\): prob is not a field of flip/],
    [[{ op: 'flip', axis: 'diagonal' }], [3, 8, 8], /\(flip\): axis must be 'horizontal' or 'vertical'/],
    [[{ op: 'resize', size: [0, 4] }], [3, 8, 8], /augment\[0\] \(resize\): size must be \[height, width\]/],
    [[{ op: 'randomResizedCrop', size: [4, 4], scale: [0.5, 0.1] }], [3, 8, 8], /\(randomResizedCrop\): scale must be \[lo, hi\]/],
    [[{ op: 'rotate' }], [3, 8, 8], /augment\[0\] \(rotate\): degrees must be a number in \[0, 180\]/],
    [[{ op: 'colorJitter' }], [3, 8, 8], /\(colorJitter\): brightness is missing/],
    [[{ op: 'colorJitter', contrast: -1 }], [3, 8, 8], /\(colorJitter\): contrast must be a number/],
    [[{ op: 'noise', std: NaN }], [3, 8, 8], /augment\[0\] \(noise\): std must be a finite number >= 0/],
    [[{ op: 'cutout', value: Infinity }], [3, 8, 8], /\(cutout\): value must be a finite number/],
    [[{ op: 'mixup', alpha: 0 }], [3, 8, 8], /augment\[0\] \(mixup\): alpha must be a finite number > 0/],
    [[{ op: 'noise', std: 1 }, { op: 'flip' }], [3, 8, 8], /augment\[1\] \(flip\): geometric ops must come before/],
    [[{ op: 'cutout' }, { op: 'noise', std: 1 }], [3, 8, 8], /augment\[1\] \(noise\): must come before 'cutout'/],
    [[{ op: 'mixup', alpha: 1 }, { op: 'mixup', alpha: 1 }], [3, 8, 8], /augment\[1\] \(mixup\): may appear once/],
    [[{ op: 'rotate', degrees: 5 }, { op: 'rotate', degrees: 5, fill: 1 }], [3, 8, 8], /augment\[1\] \(rotate\): fill 1 differs/],
    [[], [2, 8, 8], /augment input shape: must be \[channels, height, width\] with 1 or 3 channels/],
  ];
  test.each(cases)('%j on %j', (ops, shape, message) => {
    let error: unknown;
    try {
      compileAugment(ops as AugmentOp[], shape);
    } catch (e) {
      error = e;
    }
    expect(isEdgelakeError(error, 'invalid-input'), String(error)).toBe(true);
    expect((error as Error).message).toMatch(message);
  });

  test.each([
    [{ mean: [0.5, 0.5] }, /augment normalize: mean needs 1 or 3 \(channel\) entries, got \[0.5,0.5\]/],
    [{ std: [0] }, /augment normalize: channel 0 needs a finite mean and a finite non-zero std/],
    [{ mean: [NaN] }, /channel 0 needs a finite mean/],
    [{ std: [1, 1e-50, 1] }, /channel 1 needs .* non-zero std \(whose inverse is a float32\)/],
  ])('normalize %j is refused', (normalize, message) => {
    expect(() => compileAugment([{ op: 'flip' }], [3, 4, 4], 'CHW', normalize)).toThrow(message);
  });

  test('seed and epoch must be u32; n must fit the input', () => {
    const plan = compileAugment([{ op: 'flip' }], [1, 2, 2]);
    expect(() => augmentParams(plan, ids(1), -1, 0)).toThrow(/seed must be an integer in \[0, 2\^32\)/);
    expect(() => augmentParams(plan, ids(1), 0, 1.5)).toThrow(/epoch must be an integer/);
    expect(() => augmentRef(plan, new Float32Array(4), { n: 2, ids: ids(2), seed: 0, epoch: 0 })).toThrow(/input holds 4 values/);
  });
});
