import { afterAll, expect, test } from 'vitest';
import { gpuDescribe } from './gpu.js';
import { mulberry32 } from '../support/random.js';
import { conv2dBackwardInputRef, conv2dBackwardWeightRef, conv2dRef, convOutputSize, type ConvShape, type ConvTiling, encodeConv2d, encodeConv2dBackwardInput, encodeConv2dBackwardWeight, readBuffer, Transients, uploadBuffer } from '../../src/kernels/index.js';

// A new seed each run; EDGELAKE_SEED=<n> replays a failure.
const seed = Number(process.env.EDGELAKE_SEED ?? Date.now() % 2 ** 32);
const SENTINEL = -7777; // fills buffers past the tensor: the kernels must not write there
const TOLERANCE = 1e-5; // |gpu - cpu| / sum of |terms|: float32 sums of up to a few thousand terms

interface Case extends ConvShape {
  name: string;
  bias?: boolean;
  relu?: boolean;
  accumulate?: boolean;
  tiling?: ConvTiling;
}

const cases: Case[] = [
  { name: 'CNN layer 1: 1 -> 16, 3x3 pad 1 on 28x28', n: 5, cIn: 1, h: 28, w: 28, cOut: 16, kh: 3, kw: 3, pad: 1, bias: true, relu: true },
  { name: 'CNN layer 2: 16 -> 32, 3x3 pad 1 on 14x14', n: 3, cIn: 16, h: 14, w: 14, cOut: 32, kh: 3, kw: 3, pad: 1, bias: true, relu: true },
  { name: 'stride 2, pad 1, odd sizes', n: 2, cIn: 3, h: 9, w: 11, cOut: 5, kh: 3, kw: 3, stride: 2, pad: 1, bias: true },
  { name: 'stride 2, pad 0, uncovered edge rows', n: 3, cIn: 2, h: 10, w: 8, cOut: 6, kh: 3, kw: 3, stride: 2 },
  { name: 'pad 2 wider than the 3x3 kernel needs', n: 2, cIn: 4, h: 6, w: 7, cOut: 3, kh: 3, kw: 3, pad: 2, relu: true, accumulate: true },
  { name: '1x1 kernel', n: 4, cIn: 7, h: 5, w: 6, cOut: 9, kh: 1, kw: 1, bias: true, accumulate: true },
  { name: '1x1 kernel, stride 2, pad 1', n: 2, cIn: 3, h: 7, w: 7, cOut: 2, kh: 1, kw: 1, stride: 2, pad: 1 },
  { name: 'rectangular 3x5 kernel, stride 3, pad 2', n: 2, cIn: 4, h: 13, w: 11, cOut: 9, kh: 3, kw: 5, stride: 3, pad: 2, bias: true },
  { name: 'rectangular 5x2 kernel', n: 1, cIn: 2, h: 8, w: 9, cOut: 4, kh: 5, kw: 2, pad: 1, relu: true },
  { name: 'cIn 1, wide rows split into blocks', n: 2, cIn: 1, h: 5, w: 45, cOut: 7, kh: 3, kw: 3, pad: 1, bias: true },
  { name: 'kernel as large as the padded input', n: 2, cIn: 3, h: 4, w: 5, cOut: 5, kh: 6, kw: 7, pad: 1 },
  { name: 'widest kernel, 16', n: 1, cIn: 2, h: 6, w: 20, cOut: 3, kh: 2, kw: 16, stride: 2 },
  { name: 'non-default tiles', n: 3, cIn: 7, h: 9, w: 13, cOut: 10, kh: 3, kw: 3, pad: 1, bias: true, accumulate: true, tiling: { px: 5, co4: 2, ci: 3, workgroups: 7 } },
  { name: 'many channels, tall batch', n: 9, cIn: 33, h: 4, w: 3, cOut: 37, kh: 2, kw: 2, stride: 1, pad: 1, bias: true, accumulate: true },
];

/** Fresh buffers with a sentinel tail; `readBack` returns the tensor and checks the tail. */
function tensor(device: GPUDevice, label: string, data: Float32Array) {
  const padded = new Float32Array(data.length + 3).fill(SENTINEL);
  padded.set(data);
  const buffer = uploadBuffer(device, label, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC, padded);
  return {
    buffer,
    async readBack(): Promise<Float32Array> {
      const all = new Float32Array(await readBuffer(device, buffer, padded.byteLength));
      expect([...all.subarray(data.length)], `${label}: values past the tensor (seed ${seed})`).toEqual([SENTINEL, SENTINEL, SENTINEL]);
      return all.subarray(0, data.length);
    },
  };
}

function submit(device: GPUDevice, record: (pass: GPUComputePassEncoder, transients: Transients) => void): void {
  const encoder = device.createCommandEncoder({ label: 'conv test' });
  const pass = encoder.beginComputePass({ label: 'conv test' });
  const transients = new Transients();
  record(pass, transients);
  pass.end();
  device.queue.submit([encoder.finish()]);
  transients.destroy();
}

/** Max |actual - expected| / scale, scale being the sum of |terms| of each value. */
function normalisedError(actual: Float32Array, expected: Float32Array, scale: Float32Array): number {
  let max = 0;
  for (let i = 0; i < expected.length; i++) max = Math.max(max, Math.abs(actual[i] - expected[i]) / Math.max(scale[i], 1e-30));
  return Number.isNaN(max) ? Infinity : max;
}

const worst: Record<string, number> = { forward: 0, 'backward input': 0, 'backward weight': 0, 'backward bias': 0 };
afterAll(() => console.log(`conv2d: max normalised error GPU vs CPU ${JSON.stringify(worst)} (seed ${seed})`));

function check(kind: keyof typeof worst, c: Case, actual: Float32Array, expected: Float32Array, scale: Float32Array): void {
  const error = normalisedError(actual, expected, scale);
  worst[kind] = Math.max(worst[kind], error);
  expect(error, `${kind} of ${c.name}, seed ${seed}`).toBeLessThan(TOLERANCE);
}

gpuDescribe('conv2d on the GPU equals its CPU reference', ({ device }) => {
  test.each(cases.map((c, k) => ({ ...c, k })))('$name', async ({ k, ...c }) => {
    const random = mulberry32(seed ^ Math.imul(k + 1, 0x9e3779b1));
    const values = (count: number) => Float32Array.from({ length: count }, () => random() * 2 - 1);
    const abs = (a: Float32Array) => a.map(Math.abs);
    const { oh, ow } = convOutputSize(c);
    const shape: ConvShape = { n: c.n, cIn: c.cIn, h: c.h, w: c.w, cOut: c.cOut, kh: c.kh, kw: c.kw, stride: c.stride, pad: c.pad };
    const [x, weight, bias, gy] = [values(c.n * c.cIn * c.h * c.w), values(c.cOut * c.cIn * c.kh * c.kw), values(c.cOut), values(c.n * c.cOut * oh * ow)];
    const [gwBefore, gbBefore] = [values(weight.length), values(c.cOut)];
    const t = {
      x: tensor(device, 'x', x), weight: tensor(device, 'weight', weight), bias: tensor(device, 'bias', bias), gy: tensor(device, 'gy', gy),
      y: tensor(device, 'y', new Float32Array(gy.length)), gx: tensor(device, 'gx', values(x.length)),
      gw: tensor(device, 'gw', gwBefore), gb: tensor(device, 'gb', gbBefore),
    };
    try {
      const activation = c.relu ? 'relu' : 'none';
      submit(device, (pass, transients) => {
        encodeConv2d(device, pass, { ...shape, input: t.x.buffer, weight: t.weight.buffer, bias: c.bias ? t.bias.buffer : undefined, output: t.y.buffer, activation, tiling: c.tiling }, transients);
        encodeConv2dBackwardInput(device, pass, { ...shape, gradOutput: t.gy.buffer, weight: t.weight.buffer, gradInput: t.gx.buffer, tiling: c.tiling }, transients);
        encodeConv2dBackwardWeight(device, pass, {
          ...shape, input: t.x.buffer, gradOutput: t.gy.buffer, gradWeight: t.gw.buffer, gradBias: c.bias ? t.gb.buffer : undefined,
          accumulate: c.accumulate, tiling: c.tiling,
        }, transients);
      });

      const [y, yScale] = [new Float32Array(gy.length), new Float32Array(gy.length)];
      conv2dRef({ ...shape, input: x, weight, bias: c.bias ? bias : undefined, output: y, activation });
      conv2dRef({ ...shape, input: abs(x), weight: abs(weight), bias: c.bias ? abs(bias) : undefined, output: yScale });
      check('forward', c, await t.y.readBack(), y, yScale);

      const [gx, gxScale] = [new Float32Array(x.length), new Float32Array(x.length)];
      conv2dBackwardInputRef({ ...shape, gradOutput: gy, weight, gradInput: gx });
      conv2dBackwardInputRef({ ...shape, gradOutput: abs(gy), weight: abs(weight), gradInput: gxScale });
      check('backward input', c, await t.gx.readBack(), gx, gxScale);

      const [gw, gb] = [gwBefore.slice(), gbBefore.slice()];
      const [gwScale, gbScale] = [abs(gwBefore), abs(gbBefore)];
      conv2dBackwardWeightRef({ ...shape, input: x, gradOutput: gy, gradWeight: gw, gradBias: gb, accumulate: c.accumulate });
      conv2dBackwardWeightRef({ ...shape, input: abs(x), gradOutput: abs(gy), gradWeight: gwScale, gradBias: gbScale, accumulate: c.accumulate });
      check('backward weight', c, await t.gw.readBack(), gw, gwScale);
      if (c.bias) check('backward bias', c, await t.gb.readBack(), gb, gbScale);
      else expect([...(await t.gb.readBack())], 'gradBias untouched without one').toEqual([...gbBefore]);
    } finally {
      for (const { buffer } of Object.values(t)) buffer.destroy();
    }
  });

  test('relu passes NaN on, as its CPU reference (Math.max) and PyTorch do', async () => {
    const shape: ConvShape = { n: 2, cIn: 2, h: 5, w: 6, cOut: 3, kh: 3, kw: 3, pad: 1 };
    const random = mulberry32(seed ^ 0x5eed);
    const values = (count: number) => Float32Array.from({ length: count }, () => random() * 2 - 1);
    const [x, weight] = [values(2 * 2 * 5 * 6), values(3 * 2 * 3 * 3)];
    x[30 + 2 * 6 + 3] = NaN; // sample 0, channel 1, pixel (2, 3): the outputs whose window holds it are NaN
    const expected = new Float32Array(2 * 3 * 5 * 6);
    conv2dRef({ ...shape, input: x, weight, output: expected, activation: 'relu' });
    const t = { x: tensor(device, 'x', x), weight: tensor(device, 'weight', weight), y: tensor(device, 'y', new Float32Array(expected.length)) };
    try {
      submit(device, (pass, transients) => encodeConv2d(device, pass, { ...shape, input: t.x.buffer, weight: t.weight.buffer, output: t.y.buffer, activation: 'relu' }, transients));
      const actual = await t.y.readBack();
      expect(Array.from(actual, Number.isNaN)).toEqual(Array.from(expected, Number.isNaN));
      expect(Array.from(expected, Number.isNaN).filter(Boolean)).toHaveLength(3 * 9);
    } finally {
      for (const { buffer } of Object.values(t)) buffer.destroy();
    }
  });

  test('more than 65535 workgroups wrap into a second grid dimension', async () => {
    // 1x1 images, 262148 channels, 4 per workgroup: 65537 workgroups in each kernel.
    await expectChannelsMatch(device, { n: 1, cIn: 3, h: 1, w: 1, cOut: 262_148, kh: 1, kw: 1 }, { co4: 1 });
  });

  test('bad arguments are EdgelakeErrors before anything is recorded', () => {
    const { STORAGE, COPY_DST } = GPUBufferUsage;
    const make = (label: string, floats: number, usage = STORAGE) => device.createBuffer({ label, size: floats * 4, usage });
    // input is big enough to stand in for the output: then only the aliasing is wrong.
    const [input, weight, output, small, mapped] = [make('input', 2 * 4 * 25), make('weight', 4 * 3 * 9), make('output', 2 * 4 * 25), make('small', 3), make('not storage', 1000, COPY_DST)];
    const encoder = device.createCommandEncoder({ label: 'bad arguments' });
    const pass = encoder.beginComputePass({ label: 'bad arguments' });
    const shape: ConvShape = { n: 2, cIn: 3, h: 5, w: 5, cOut: 4, kh: 3, kw: 3, pad: 1 };
    const forward = { ...shape, input, weight, output };
    const code = (change: object, expected: string) =>
      expect(() => encodeConv2d(device, pass, { ...forward, ...change }), JSON.stringify(Object.keys(change))).toThrow(expect.objectContaining({ code: expected }));
    for (const change of [{ stride: 0 }, { pad: -1 }, { n: 1.5 }, { kh: 9 }, { input: small }, { output: mapped }, { bias: small }, { output: input }, { activation: 'tanh' as 'relu' }]) {
      code(change, 'invalid-input');
    }
    code({ kw: 17, w: 20 }, 'limit');
    const grads = { ...shape, gradOutput: output, gradInput: input, weight, input, gradWeight: weight };
    expect(() => encodeConv2dBackwardInput(device, pass, { ...grads, gradInput: output })).toThrow(expect.objectContaining({ code: 'invalid-input' }));
    expect(() => encodeConv2dBackwardWeight(device, pass, { ...grads, gradWeight: small })).toThrow(expect.objectContaining({ code: 'invalid-input' }));
    expect(() => encodeConv2dBackwardWeight(device, pass, { ...grads, gradBias: weight })).toThrow(expect.objectContaining({ code: 'invalid-input' }));
    pass.end();
    encoder.finish(); // nothing half-recorded: finishing raises no validation error
    for (const buffer of [input, weight, output, small, mapped]) buffer.destroy();
  });
});

/** All three kernels on a shape of 1x1 images, where every output is a short dot product. */
async function expectChannelsMatch(device: GPUDevice, shape: ConvShape, tiling: ConvTiling): Promise<void> {
  const random = mulberry32(seed);
  const values = (count: number) => Float32Array.from({ length: count }, () => random() * 2 - 1);
  const [x, weight, gy] = [values(shape.n * shape.cIn), values(shape.cOut * shape.cIn), values(shape.n * shape.cOut)];
  const transposed = { ...shape, cIn: shape.cOut, cOut: shape.cIn }; // the gradient of the input has cOut input channels
  const t = { x: tensor(device, 'x', x), w: tensor(device, 'w', weight), gy: tensor(device, 'gy', gy), y: tensor(device, 'y', new Float32Array(gy.length)), gw: tensor(device, 'gw', new Float32Array(weight.length)), gx: tensor(device, 'gx', new Float32Array(gy.length)) };
  try {
    submit(device, (pass, transients) => {
      encodeConv2d(device, pass, { ...shape, input: t.x.buffer, weight: t.w.buffer, output: t.y.buffer, tiling }, transients);
      encodeConv2dBackwardWeight(device, pass, { ...shape, input: t.x.buffer, gradOutput: t.gy.buffer, gradWeight: t.gw.buffer, tiling }, transients);
      encodeConv2dBackwardInput(device, pass, { ...transposed, gradOutput: t.x.buffer, weight: t.w.buffer, gradInput: t.gx.buffer, tiling }, transients);
    });
    const [y, gw, gx] = [new Float32Array(gy.length), new Float32Array(weight.length), new Float32Array(gy.length)];
    conv2dRef({ ...shape, input: x, weight, output: y });
    conv2dBackwardWeightRef({ ...shape, input: x, gradOutput: gy, gradWeight: gw });
    conv2dBackwardInputRef({ ...transposed, gradOutput: x, weight, gradInput: gx });
    for (const [name, actual, expected] of [['forward', t.y, y], ['backward weight', t.gw, gw], ['backward input', t.gx, gx]] as const) {
      const got = await actual.readBack();
      const error = expected.reduce((m, e, i) => Math.max(m, Math.abs(got[i] - e)), 0);
      expect(error, `${name}, seed ${seed}`).toBeLessThan(1e-5);
    }
  } finally {
    for (const { buffer } of Object.values(t)) buffer.destroy();
  }
}
