import { afterAll, describe, expect, test } from 'vitest';
import { isEdgelakeError } from '../../src/errors.js';
import {
  encodeNormalizeU8,
  normalizeU8,
  readBuffer,
  uploadBuffer,
  type NormalizeU8Args,
} from '../../src/kernels/index.js';
import { gpuDescribe } from './gpu.js';

// A new seed each run; EDGELAKE_SEED=<n> replays a failure.
const seed = Number(process.env.EDGELAKE_SEED ?? Date.now() % 2 ** 32);
const sizes = [1, 7, 33, 1000, 70001];
const SENTINEL = -7777; // fills the output past `count`: the kernel must not write there

function mulberry32(state: number): () => number {
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Random u8 values and per-channel statistics, from `seed` and the case's own salt. */
function randomCase(count: number, channels: number, salt: number) {
  const random = mulberry32(seed ^ Math.imul(salt, 0x9e3779b1));
  const values = new Uint8Array(count).map(() => Math.floor(random() * 256));
  const mean = Array.from({ length: channels }, () => random());
  const std = Array.from({ length: channels }, () => 0.05 + random());
  const scale = random() < 0.5 ? 1 / 255 : 0.5 + random();
  return { values, channels, mean, std, scale };
}

function maxRelativeError(actual: Float32Array, expected: Float32Array): number {
  let max = 0;
  for (let i = 0; i < expected.length; i++) {
    const error = Math.abs(actual[i] - expected[i]) / Math.max(Math.abs(expected[i]), 1e-30);
    if (!(error <= max)) max = Number.isNaN(error) ? Infinity : error;
  }
  return max;
}

type Case = ReturnType<typeof randomCase>;

/** Upload, record into one pass, submit, read back: the whole round trip a caller does. */
async function normalizeOnGpu(device: GPUDevice, c: Case, workgroupSize?: number) {
  const count = c.values.length;
  const input = uploadBuffer(device, 'test input u8', GPUBufferUsage.STORAGE, c.values);
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC;
  const sentinels = new Float32Array(count + 3).fill(SENTINEL);
  const output = uploadBuffer(device, 'test output f32', usage, sentinels);
  try {
    const encoder = device.createCommandEncoder({ label: 'normalize test' });
    const pass = encoder.beginComputePass({ label: 'normalize test' });
    const args: NormalizeU8Args = { ...c, input, output, count, workgroupSize };
    const transients = encodeNormalizeU8(device, pass, args);
    pass.end();
    device.queue.submit([encoder.finish()]);
    transients.destroy();
    const all = new Float32Array(await readBuffer(device, output, output.size));
    expect([...all.subarray(count)], 'values past count').toEqual([SENTINEL, SENTINEL, SENTINEL]);
    return all.subarray(0, count);
  } finally {
    input.destroy();
    output.destroy();
  }
}

let worst = 0;
async function expectMatchesReference(device: GPUDevice, c: Case, workgroupSize?: number) {
  const expected = normalizeU8(c.values, c.channels, c.mean, c.std, c.scale);
  const error = maxRelativeError(await normalizeOnGpu(device, c, workgroupSize), expected);
  worst = Math.max(worst, error);
  expect(error, `seed ${seed}`).toBeLessThan(1e-6);
}
afterAll(() => console.log(`normalize-u8: max relative error GPU vs CPU ${worst} (seed ${seed})`));

gpuDescribe('normalize-u8 on the GPU equals its CPU reference', ({ device }) => {
  const cases = sizes.flatMap((count) => [1, 3].map((channels) => ({ count, channels })));
  test.each(cases)('$count values, $channels channel(s)', async ({ count, channels }) => {
    await expectMatchesReference(device, randomCase(count, channels, count * 4 + channels));
  });

  test('a grid of more than 65535 workgroups wraps into a second dimension', async () => {
    // One invocation per workgroup makes 70001 workgroups: rows of the 2-D grid must line up.
    await expectMatchesReference(device, randomCase(70001, 3, 1), 1);
  });

  test('a batch of 16.8M values at 256 per workgroup dispatches a 2-D grid', async () => {
    await expectMatchesReference(device, randomCase(65535 * 256 + 1001, 3, 5));
  });

  test('two dispatches recorded into one pass keep their own parameters', async () => {
    const a = randomCase(1001, 3, 2);
    const b = randomCase(77, 1, 3);
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC;
    const buffers = [a, b].map((c, i) => ({
      input: uploadBuffer(device, `input ${i}`, GPUBufferUsage.STORAGE, c.values),
      output: device.createBuffer({ label: `output ${i}`, size: c.values.length * 4, usage }),
    }));
    const encoder = device.createCommandEncoder({ label: 'two normalizes' });
    const pass = encoder.beginComputePass({ label: 'two normalizes' });
    const transients = encodeNormalizeU8(device, pass, { ...a, ...buffers[0], count: 1001 });
    encodeNormalizeU8(device, pass, { ...b, ...buffers[1], count: 77 }, transients);
    pass.end();
    device.queue.submit([encoder.finish()]);
    transients.destroy();
    for (const [i, c] of [a, b].entries()) {
      const out = new Float32Array(await readBuffer(device, buffers[i].output, c.values.length * 4));
      const expected = normalizeU8(c.values, c.channels, c.mean, c.std, c.scale);
      expect(maxRelativeError(out, expected), `seed ${seed}`).toBeLessThan(1e-6);
      buffers[i].input.destroy();
      buffers[i].output.destroy();
    }
  });

  test('bad arguments are EdgelakeErrors before anything is recorded', () => {
    const { STORAGE, COPY_DST } = GPUBufferUsage;
    const input = device.createBuffer({ label: 'small input', size: 4, usage: STORAGE });
    const mapped = device.createBuffer({ label: 'not storage', size: 64, usage: COPY_DST });
    const encoder = device.createCommandEncoder({ label: 'bad arguments' });
    const pass = encoder.beginComputePass({ label: 'bad arguments' });
    const ok = { input, output: input, count: 1, channels: 1, mean: [0], std: [1], scale: 1 };
    const bad: Partial<NormalizeU8Args>[] = [
      { std: [0] },
      { mean: [0, 0] },
      { scale: 0 },
      { count: 5 }, // the 4-byte input holds 4 values
      { output: mapped },
      { workgroupSize: 100_000 },
    ];
    for (const change of bad) {
      const record = () => encodeNormalizeU8(device, pass, { ...ok, ...change });
      expect(record, Object.keys(change).join()).toThrow(expect.objectContaining({ code: 'invalid-input' }));
    }
    pass.end();
    input.destroy();
    mapped.destroy();
  });
});

describe('normalize-u8 CPU reference', () => {
  test('is (x * scale - mean) / std within a few float32 roundings', () => {
    const c = randomCase(5000, 3, 4);
    const out = normalizeU8(c.values, c.channels, c.mean, c.std, c.scale);
    for (let i = 0; i < out.length; i++) {
      const k = i % c.channels;
      const exact = (c.values[i] * c.scale - c.mean[k]) / c.std[k];
      const bound = (4 * 2 ** -24 * (c.values[i] * c.scale + Math.abs(c.mean[k]))) / c.std[k];
      expect(Math.abs(out[i] - exact), `value ${i}, seed ${seed}`).toBeLessThanOrEqual(bound);
    }
  });

  test('rejects what the kernel would reject', () => {
    const input = new Uint8Array(3);
    for (const [channels, mean, std, scale] of [
      [0, [], [], 1],
      [2, [0], [1], 1],
      [1, [0], [0], 1],
      [1, [NaN], [1], 1],
      [1, [0], [1], 0],
    ] as const) {
      let error: unknown;
      try {
        normalizeU8(input, channels, mean, std, scale);
      } catch (e) {
        error = e;
      }
      expect(isEdgelakeError(error, 'invalid-input'), `${channels} ${mean} ${std} ${scale}`).toBe(true);
    }
  });
});
