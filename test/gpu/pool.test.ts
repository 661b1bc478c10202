import { afterAll, expect, test } from 'vitest';
import { gpuDescribe } from './gpu.js';
import { mulberry32 } from '../support/random.js';
import { encodeMaxPool, encodeMaxPoolBackward, maxPoolBackwardRef, maxPoolRef, poolOutputSize, type PoolShape, readBuffer, Transients, uploadBuffer } from '../../src/kernels/index.js';

// A new seed each run; EDGELAKE_SEED=<n> replays a failure.
const seed = Number(process.env.EDGELAKE_SEED ?? Date.now() % 2 ** 32);
const SENTINEL = 0xdead; // fills buffers past the tensor: the kernels must not write there

const cases: (PoolShape & { name: string; levels?: number })[] = [
  { name: 'CNN pool 1: 2x2 on 16 x 28x28', n: 3, c: 16, h: 28, w: 28, size: 2 },
  { name: 'CNN pool 2: 2x2 on 32 x 14x14', n: 3, c: 32, h: 14, w: 14, size: 2 },
  { name: 'odd sizes leave the last row and column out', n: 2, c: 3, h: 7, w: 9, size: 2 },
  { name: 'ties everywhere: values from {0, 1, 2}', n: 2, c: 4, h: 8, w: 10, size: 2, levels: 3 },
  { name: 'overlapping 3x3 windows, stride 2', n: 2, c: 3, h: 11, w: 9, size: 3, stride: 2 },
  { name: 'overlapping 3x3 windows, stride 1, with ties', n: 2, c: 2, h: 8, w: 7, size: 3, stride: 1, levels: 2 },
  { name: '2x2 windows, stride 3: gaps between windows', n: 2, c: 3, h: 11, w: 10, size: 2, stride: 3 },
  { name: '1x1 windows', n: 1, c: 2, h: 5, w: 3, size: 1 },
  { name: 'one window covering the whole plane', n: 4, c: 5, h: 6, w: 6, size: 6 },
];

/** A storage buffer holding `data` then three sentinel words, and a read-back that checks them. */
function tensor(device: GPUDevice, label: string, data: Float32Array | Uint32Array) {
  const words = new Uint32Array(data.length + 3).fill(SENTINEL);
  words.set(new Uint32Array(data.buffer, data.byteOffset, data.length));
  const buffer = uploadBuffer(device, label, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC, words);
  return {
    buffer,
    async read(): Promise<Uint32Array> {
      const all = new Uint32Array(await readBuffer(device, buffer, words.byteLength));
      expect([...all.subarray(data.length)], `${label}: words past the tensor (seed ${seed})`).toEqual([SENTINEL, SENTINEL, SENTINEL]);
      return all.subarray(0, data.length);
    },
  };
}

const floats = (words: Uint32Array) => new Float32Array(words.buffer, words.byteOffset, words.length);
let checked = 0;
afterAll(() => console.log(`maxpool: ${checked} cases equal to the CPU reference bit for bit (seed ${seed})`));

gpuDescribe('max pooling on the GPU equals its CPU reference', ({ device }) => {
  test.each(cases.map((c, k) => ({ ...c, k })))('$name', async ({ k, name, levels, ...shape }) => {
    const random = mulberry32(seed ^ Math.imul(k + 1, 0x9e3779b1));
    const { oh, ow } = poolOutputSize(shape);
    const [inputs, outputs] = [shape.n * shape.c * shape.h * shape.w, shape.n * shape.c * oh * ow];
    const x = Float32Array.from({ length: inputs }, () => (levels ? Math.floor(random() * levels) : random() * 2 - 1));
    const gy = Float32Array.from({ length: outputs }, () => random() * 2 - 1);
    const t = {
      x: tensor(device, 'x', x), gy: tensor(device, 'gy', gy), y: tensor(device, 'y', new Float32Array(outputs)),
      argmax: tensor(device, 'argmax', new Uint32Array(outputs)), gx: tensor(device, 'gx', Float32Array.from(x, () => random())),
    };
    try {
      const encoder = device.createCommandEncoder({ label: 'maxpool test' });
      const pass = encoder.beginComputePass({ label: 'maxpool test' });
      const transients = new Transients();
      encodeMaxPool(device, pass, { ...shape, input: t.x.buffer, output: t.y.buffer, argmax: t.argmax.buffer }, transients);
      encodeMaxPoolBackward(device, pass, { ...shape, gradOutput: t.gy.buffer, argmax: t.argmax.buffer, gradInput: t.gx.buffer }, transients);
      pass.end();
      device.queue.submit([encoder.finish()]);
      transients.destroy();

      const [y, argmax, gx] = [new Float32Array(outputs), new Uint32Array(outputs), new Float32Array(inputs)];
      maxPoolRef({ ...shape, input: x, output: y, argmax });
      maxPoolBackwardRef({ ...shape, gradOutput: gy, argmax, gradInput: gx });
      // Maxima and first-occurrence indices are exact; the gradient sums in output order as the reference does.
      expect([...floats(await t.y.read())], `${name} output, seed ${seed}`).toEqual([...y]);
      expect([...(await t.argmax.read())], `${name} argmax, seed ${seed}`).toEqual([...argmax]);
      expect([...floats(await t.gx.read())], `${name} gradInput, seed ${seed}`).toEqual([...gx]);
      checked++;
    } finally {
      for (const { buffer } of Object.values(t)) buffer.destroy();
    }
  });

  test('more than 65535 workgroups wrap into a second grid dimension', async () => {
    // 1x1 windows over 2^22 + 64 values: 65537 workgroups of 64 in both kernels.
    const shape: PoolShape = { n: 1, c: 1, h: 1, w: 2 ** 22 + 64, size: 1 };
    const x = Float32Array.from({ length: shape.w }, (_, i) => i % 1000);
    const t = { x: tensor(device, 'x', x), y: tensor(device, 'y', new Float32Array(shape.w)), argmax: tensor(device, 'argmax', new Uint32Array(shape.w)), gx: tensor(device, 'gx', new Float32Array(shape.w)) };
    try {
      const encoder = device.createCommandEncoder({ label: 'maxpool grid test' });
      const pass = encoder.beginComputePass({ label: 'maxpool grid test' });
      const transients = encodeMaxPool(device, pass, { ...shape, input: t.x.buffer, output: t.y.buffer, argmax: t.argmax.buffer });
      encodeMaxPoolBackward(device, pass, { ...shape, gradOutput: t.x.buffer, argmax: t.argmax.buffer, gradInput: t.gx.buffer }, transients);
      pass.end();
      device.queue.submit([encoder.finish()]);
      transients.destroy();
      const [y, argmax, gx] = [floats(await t.y.read()), await t.argmax.read(), floats(await t.gx.read())];
      const wrong = [...argmax.keys()].filter((i) => argmax[i] !== i || y[i] !== x[i] || gx[i] !== x[i]);
      expect(wrong.slice(0, 5), 'indices where the 1x1 pool is not the identity').toEqual([]);
    } finally {
      for (const { buffer } of Object.values(t)) buffer.destroy();
    }
  });

  test('bad arguments are EdgelakeErrors before anything is recorded', () => {
    const { STORAGE, COPY_DST } = GPUBufferUsage;
    const make = (label: string, words: number, usage = STORAGE) => device.createBuffer({ label, size: words * 4, usage });
    const [input, output, argmax, mapped] = [make('input', 2 * 3 * 8 * 8), make('output', 2 * 3 * 16), make('argmax', 2 * 3 * 16), make('not storage', 1000, COPY_DST)];
    const encoder = device.createCommandEncoder({ label: 'bad arguments' });
    const pass = encoder.beginComputePass({ label: 'bad arguments' });
    const ok = { n: 2, c: 3, h: 8, w: 8, size: 2, input, output, argmax };
    const bad: object[] = [{ size: 0 }, { size: 9 }, { stride: 0 }, { c: 2.5 }, { h: 9 }, { n: 3 }, { output: mapped }, { argmax: output }, { input: output }];
    for (const change of bad) {
      expect(() => encodeMaxPool(device, pass, { ...ok, ...change }), JSON.stringify(change)).toThrow(expect.objectContaining({ code: 'invalid-input' }));
    }
    const backward = { n: 2, c: 3, h: 8, w: 8, size: 2, gradOutput: output, argmax, gradInput: input };
    for (const change of [{ gradInput: argmax }, { gradOutput: input }, { argmax: mapped }, { stride: 1 }]) {
      expect(() => encodeMaxPoolBackward(device, pass, { ...backward, ...change }), JSON.stringify(Object.keys(change))).toThrow(expect.objectContaining({ code: 'invalid-input' }));
    }
    pass.end();
    encoder.finish(); // nothing half-recorded: finishing raises no validation error
    for (const buffer of [input, output, argmax, mapped]) buffer.destroy();
  });
});
