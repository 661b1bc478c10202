import { afterAll, expect, test } from 'vitest';
import { type DropoutArgs, dropoutBackwardRef, type DropoutKey, dropoutRef, encodeDropout, encodeDropoutBackward, readBuffer, uploadBuffer } from '../../src/kernels/index.js';
import { gpuDescribe } from './gpu.js';
import { mulberry32 } from '../support/random.js';

// A new seed each run; EDGELAKE_SEED=<n> replays a failure.
const seed = Number(process.env.EDGELAKE_SEED ?? Date.now() % 2 ** 32);
const random = mulberry32(seed);
const SENTINEL = -7777; // fills the output past count: the kernel must not write there
const USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC;
const values = (count: number) => Float32Array.from({ length: count }, () => (random() - 0.5) * 8 || 1); // nonzero: zero means dropped
const randomKey = (): DropoutKey => ({ seed: seed >>> 0, stream: Math.floor(random() * 2 ** 32), step: Math.floor(random() * 1e6) });

type Options = DropoutKey & { rate: number; backward?: boolean; inPlace?: boolean };

/** Upload, record into one pass, submit, read back: the whole round trip a caller does. */
async function dropoutOnGpu(device: GPUDevice, input: Float32Array, o: Options): Promise<Float32Array> {
  const count = input.length;
  const from = uploadBuffer(device, 'test input', USAGE, input);
  const to = o.inPlace ? from : uploadBuffer(device, 'test output', USAGE, new Float32Array(count + 3).fill(SENTINEL));
  try {
    const encoder = device.createCommandEncoder({ label: 'dropout test' });
    const pass = encoder.beginComputePass({ label: 'dropout test' });
    const transients = o.backward
      ? encodeDropoutBackward(device, pass, { ...o, gradOutput: from, gradInput: to, count })
      : encodeDropout(device, pass, { ...o, input: from, output: to, count });
    pass.end();
    device.queue.submit([encoder.finish()]);
    transients.destroy();
    const all = new Float32Array(await readBuffer(device, to, to.size));
    if (!o.inPlace) expect([...all.subarray(count)], 'values past count').toEqual([SENTINEL, SENTINEL, SENTINEL]);
    return all.subarray(0, count);
  } finally {
    from.destroy();
    if (to !== from) to.destroy();
  }
}

function cpu(input: Float32Array, o: Options): Float32Array {
  const output = new Float32Array(input.length);
  const args = { ...o, count: input.length };
  if (o.backward) dropoutBackwardRef({ ...args, gradOutput: input, gradInput: output });
  else dropoutRef({ ...args, input, output });
  return output;
}

/** Indices whose bits differ (so +0 and -0 differ too), as "i: gpu != cpu". */
function mismatches(gpu: Float32Array, cpu: Float32Array): string[] {
  const [a, b] = [new Uint32Array(gpu.buffer, gpu.byteOffset, gpu.length), new Uint32Array(cpu.buffer, cpu.byteOffset, cpu.length)];
  const wrong: string[] = [];
  for (let i = 0; i < a.length && wrong.length < 10; i++) if (a[i] !== b[i]) wrong.push(`${i}: ${gpu[i]} != ${cpu[i]}`);
  return wrong;
}

const kept = (x: Float32Array) => x.reduce((n, v) => n + (v !== 0 ? 1 : 0), 0);
afterAll(() => console.log(`dropout: seed ${seed}`));

gpuDescribe('dropout on the GPU equals its CPU reference bit for bit', ({ device }) => {
  const cases = [1, 255, 256, 257, 100_003].flatMap((count) =>
    [0.1, 0.5, 0.9].flatMap((rate) => [false, true].map((backward) => ({ count, rate, backward }))),
  );
  test.each(cases)('$count elements, rate $rate, backward $backward', async ({ count, rate, backward }) => {
    const input = values(count);
    const o = { ...randomKey(), rate, backward };
    expect(mismatches(await dropoutOnGpu(device, input, o), cpu(input, o)), `seed ${seed}`).toEqual([]);
  });

  test('a random rate, in place, forward and backward', async () => {
    const input = values(70_001);
    for (const backward of [false, true]) {
      const o = { ...randomKey(), rate: random(), backward, inPlace: true };
      expect(mismatches(await dropoutOnGpu(device, input, o), cpu(input, o)), `rate ${o.rate}, seed ${seed}`).toEqual([]);
    }
  });

  test('backward keeps exactly the elements forward kept', async () => {
    const input = values(50_000);
    const key = { ...randomKey(), rate: 0.3 };
    const forward = await dropoutOnGpu(device, input, key);
    const backward = await dropoutOnGpu(device, values(50_000), { ...key, backward: true });
    expect(backward.map((g) => +(g !== 0)), `seed ${seed}`).toEqual(forward.map((x) => +(x !== 0)));
  });

  test('the kept fraction of 1e6 elements is 1 - rate within 5 standard deviations', async () => {
    const count = 1_000_000;
    const ones = new Float32Array(count).fill(1);
    for (const rate of [0.05, 0.5, 0.8]) {
      const n = kept(await dropoutOnGpu(device, ones, { ...randomKey(), rate }));
      const sd = Math.sqrt(count * rate * (1 - rate));
      expect(Math.abs(n - count * (1 - rate)), `rate ${rate}: kept ${n}, seed ${seed}`).toBeLessThan(5 * sd);
    }
  });

  test('another step or stream draws another mask; the same key the same one', async () => {
    const input = values(20_000);
    const key = { ...randomKey(), rate: 0.5 };
    const mask = async (o: Options) => (await dropoutOnGpu(device, input, o)).map((x) => +(x !== 0));
    const base = await mask(key);
    expect(await mask(key)).toEqual(base);
    for (const other of [{ ...key, step: key.step + 1 }, { ...key, stream: (key.stream + 1) >>> 0 }]) {
      const m = await mask(other);
      const same = base.reduce((n, b, i) => n + (b === m[i] ? 1 : 0), 0) / base.length;
      expect(same, `seed ${seed}`).toBeGreaterThan(0.45); // independent masks agree on half
      expect(same, `seed ${seed}`).toBeLessThan(0.55);
    }
  });

  test('rate 0 is the identity, bit for bit', async () => {
    const input = values(10_000);
    input[0] = -0;
    expect(mismatches(await dropoutOnGpu(device, input, { ...randomKey(), rate: 0 }), input)).toEqual([]);
  });

  test('more than 65535 workgroups of 256 wrap into a second grid dimension', async () => {
    const input = values(65_535 * 256 + 4099);
    const o = { ...randomKey(), rate: 0.25 };
    expect(mismatches(await dropoutOnGpu(device, input, o), cpu(input, o)), `seed ${seed}`).toEqual([]);
  });

  test('bad arguments are EdgelakeErrors before anything is recorded', () => {
    const { STORAGE, COPY_DST } = GPUBufferUsage;
    const input = device.createBuffer({ label: 'small input', size: 16, usage: STORAGE });
    const output = device.createBuffer({ label: 'small output', size: 16, usage: STORAGE });
    const mapped = device.createBuffer({ label: 'not storage', size: 64, usage: COPY_DST });
    const encoder = device.createCommandEncoder({ label: 'bad arguments' });
    const pass = encoder.beginComputePass({ label: 'bad arguments' });
    const ok: DropoutArgs<GPUBuffer> = { input, output, count: 4, rate: 0.5, seed: 1, stream: 2, step: 3 };
    const bad: Partial<DropoutArgs<GPUBuffer>>[] = [
      { rate: 1 }, { rate: -0.5 }, { rate: NaN }, { count: 5 }, { count: -1 }, { output: mapped }, { step: 2 ** 32 }, { seed: 0.5 },
    ];
    for (const change of bad) {
      const record = () => encodeDropout(device, pass, { ...ok, ...change });
      expect(record, JSON.stringify(change)).toThrow(expect.objectContaining({ code: 'invalid-input' }));
    }
    const backward = () => encodeDropoutBackward(device, pass, { ...ok, gradOutput: input, gradInput: output, rate: 1 });
    expect(backward).toThrow(expect.objectContaining({ code: 'invalid-input', message: expect.stringMatching(/^dropoutBackward: rate/) }));
    pass.end();
    encoder.finish(); // nothing was recorded, so the pass is valid
    for (const buffer of [input, output, mapped]) buffer.destroy();
  });
});
