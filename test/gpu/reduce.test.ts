import { afterAll, expect, test } from 'vitest';
import { gpuDescribe } from './gpu.js';
import { mulberry32 } from '../support/random.js';
import { encodeSum, readBuffer, type SumArgs, sumRef, Transients, uploadBuffer } from '../../src/kernels/index.js';

// A new seed each run; EDGELAKE_SEED=<n> replays a failure.
const seed = Number(process.env.EDGELAKE_SEED ?? Date.now() % 2 ** 32);
const { STORAGE, COPY_SRC } = GPUBufferUsage;

function randomValues(count: number, salt: number): Float32Array {
  const random = mulberry32(seed ^ Math.imul(salt, 0x9e3779b1));
  return Float32Array.from({ length: count }, () => (random() - 0.4) * 2 ** Math.floor(random() * 12 - 6));
}

type Sum = Omit<SumArgs<Float32Array>, 'output'>;

/** Records every sum into one pass over one output buffer, submits, reads the output back. */
async function sumOnGpu(device: GPUDevice, sums: Sum[], initial: Float32Array): Promise<Float32Array> {
  const output = uploadBuffer(device, 'test stats', STORAGE | COPY_SRC, initial);
  const inputs = sums.map((s, i) => uploadBuffer(device, `test values ${i}`, STORAGE, s.input.length > 0 ? s.input : new Float32Array(1)));
  const transients = new Transients();
  try {
    const encoder = device.createCommandEncoder({ label: 'sum test' });
    const pass = encoder.beginComputePass({ label: 'sum test' });
    sums.forEach((s, i) => encodeSum(device, pass, { ...s, input: inputs[i], output }, transients));
    pass.end();
    device.queue.submit([encoder.finish()]);
    return new Float32Array(await readBuffer(device, output, initial.byteLength));
  } finally {
    transients.destroy();
    for (const buffer of [output, ...inputs]) buffer.destroy();
  }
}

function sumOnCpu(sums: Sum[], initial: Float32Array): Float32Array {
  const output = initial.slice();
  for (const s of sums) sumRef({ ...s, output });
  return output;
}

let worst = 0;
afterAll(() => console.log(`sum: max error GPU vs CPU relative to sum |x| ${worst} (seed ${seed})`));

gpuDescribe('sum on the GPU equals its CPU reference', ({ device }) => {
  test.each([0, 1, 255, 256, 257, 4096, 4097, 65537, 1_000_000])('%i values', async (count) => {
    const input = randomValues(count, count);
    const sums = [{ input, count }];
    const [gpu] = await sumOnGpu(device, sums, Float32Array.of(-123));
    const [cpu] = sumOnCpu(sums, Float32Array.of(-123));
    const magnitude = input.reduce((a, b) => a + Math.abs(b), 0);
    const error = gpu === cpu ? 0 : Math.abs(gpu - cpu) / magnitude;
    worst = Math.max(worst, error);
    // The same additions in the same order; a compiler may still contract or reorder a few.
    expect(error, `gpu ${gpu}, cpu ${cpu}, seed ${seed}`).toBeLessThan(1e-6);
  });

  test('a part of the input: count below its length', async () => {
    const input = randomValues(5000, 1);
    const sums = [{ input, count: 4100 }];
    expect([...(await sumOnGpu(device, sums, Float32Array.of(0)))]).toEqual([...sumOnCpu(sums, Float32Array.of(0))]);
  });

  test('epoch statistics: accumulating sums into slots of one buffer, in one pass, in order', async () => {
    const loss = randomValues(300, 2).map(Math.abs);
    const correct = randomValues(300, 3).map((x) => (x > 0 ? 1 : 0));
    const big = randomValues(70_000, 4);
    const sums: Sum[] = [
      { input: loss, count: 300, outputIndex: 0, accumulate: true },
      { input: correct, count: 300, outputIndex: 1, accumulate: true },
      { input: big, count: 70_000, outputIndex: 3 }, // two levels, overwriting
      { input: loss, count: 200, outputIndex: 0, accumulate: true }, // a second step
      { input: correct, count: 200, outputIndex: 1, accumulate: true },
      { input: big, count: 70_000, outputIndex: 3, accumulate: true },
      { input: new Float32Array(0), count: 0, outputIndex: 4 }, // 0 values: writes 0
    ];
    const initial = Float32Array.of(10, 20, 30, 40, 50);
    const gpu = await sumOnGpu(device, sums, initial);
    const cpu = sumOnCpu(sums, initial);
    expect(gpu[1], 'correct counts are exact').toBe(cpu[1]);
    expect(gpu[2], 'slot 2 is untouched').toBe(30);
    expect(gpu[4]).toBe(0);
    for (const i of [0, 3]) expect(Math.abs(gpu[i] - cpu[i]) / Math.abs(cpu[i]), `slot ${i}, seed ${seed}`).toBeLessThan(1e-6);
  });

  test('bad arguments are EdgelakeErrors before anything is recorded', () => {
    const input = device.createBuffer({ label: 'small input', size: 16, usage: STORAGE });
    const output = device.createBuffer({ label: 'small output', size: 8, usage: STORAGE });
    const mapped = device.createBuffer({ label: 'not storage', size: 64, usage: GPUBufferUsage.COPY_DST });
    const empty = device.createBuffer({ label: 'empty', size: 0, usage: STORAGE });
    const encoder = device.createCommandEncoder({ label: 'bad arguments' });
    const pass = encoder.beginComputePass({ label: 'bad arguments' });
    const ok: SumArgs<GPUBuffer> = { input, count: 4, output };
    const bad: [Partial<SumArgs<GPUBuffer>>, string][] = [
      [{ count: 5 }, 'invalid-input'], // 16 bytes hold 4 values
      [{ count: -1 }, 'invalid-input'],
      [{ count: 2.5 }, 'invalid-input'],
      [{ outputIndex: 2 }, 'invalid-input'], // 8 bytes hold 2 values
      [{ outputIndex: 0.5 }, 'invalid-input'],
      [{ output: input }, 'invalid-input'],
      [{ output: mapped }, 'invalid-input'],
      [{ input: mapped }, 'invalid-input'],
      [{ input: empty, count: 0 }, 'invalid-input'], // a binding needs 4 bytes
      [{ count: device.limits.maxStorageBufferBindingSize / 4 + 1 }, 'limit'],
    ];
    for (const [change, code] of bad) {
      const record = () => encodeSum(device, pass, { ...ok, ...change });
      expect(record, JSON.stringify(change)).toThrow(expect.objectContaining({ code }));
    }
    pass.end();
    for (const buffer of [input, output, mapped, empty]) buffer.destroy();
  });
});
