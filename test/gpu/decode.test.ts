import { afterAll, expect, test } from 'vitest';
import {
  DECODE_ITEM_BYTES, decodeRef, encodeDecode, readBuffer, uploadBuffer, type DecodeArgs, type DecodeDtype, type DecodeKernelOptions,
} from '../../src/kernels/index.js';
import { gpuDescribe } from './gpu.js';
import { mulberry32 } from '../support/random.js';

// A new seed each run; EDGELAKE_SEED=<n> replays a failure.
const seed = Number(process.env.EDGELAKE_SEED ?? Date.now() % 2 ** 32);
const SENTINEL = -7777; // fills the output past the batch: the kernel must not write there
const dtypes: DecodeDtype[] = ['uint8', 'int8', 'uint16', 'int16', 'float16', 'float32'];

/**
 * Random raw bytes for `count` elements: every bit pattern for integers and float16 (NaN, inf and
 * subnormals included), and for float32 finite values of many magnitudes plus 0, -0, +-inf, NaN.
 */
function randomBytes(random: () => number, dtype: DecodeDtype, offset: number, count: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(offset + count * DECODE_ITEM_BYTES[dtype]).map(() => Math.floor(random() * 256));
  if (dtype === 'float32') {
    const view = new DataView(bytes.buffer);
    const specials = [0, -0, Infinity, -Infinity, NaN];
    for (let i = 0; i < count; i++) {
      const value = random() < 0.02 ? specials[Math.floor(random() * 5)] : (random() - 0.5) * 2 ** Math.floor(random() * 40 - 20);
      view.setFloat32(offset + i * 4, value, true);
    }
  }
  return bytes;
}

function randomOptions(random: () => number, base: Omit<DecodeKernelOptions, 'inputOffset'>): DecodeKernelOptions {
  const channels = base.shape[base.shape.length - 1] ?? 1;
  const perChannel = random() < 0.7 ? channels : 1;
  return {
    scale: random() < 0.5 ? 1 / 255 : 0.5 + random(),
    mean: Array.from({ length: perChannel }, () => random()),
    std: Array.from({ length: perChannel }, () => (random() < 0.2 ? -1 : 1) * (0.05 + random())), // a negative std flips infinities
    inputOffset: DECODE_ITEM_BYTES[base.dtype] * Math.floor(random() * 4),
    ...base,
  };
}

/** Upload, record into one pass, submit, read back: the whole round trip a caller does. */
async function decodeOnGpu(device: GPUDevice, bytes: Uint8Array, options: DecodeKernelOptions, workgroupSize?: number) {
  const total = options.samples * options.shape.reduce((a, b) => a * b, 1);
  const input = uploadBuffer(device, 'test raw bytes', GPUBufferUsage.STORAGE, bytes);
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC;
  const output = uploadBuffer(device, 'test output f32', usage, new Float32Array(total + 3).fill(SENTINEL));
  try {
    const encoder = device.createCommandEncoder({ label: 'decode test' });
    const pass = encoder.beginComputePass({ label: 'decode test' });
    const args: DecodeArgs = { ...options, input, output, workgroupSize };
    const transients = encodeDecode(device, pass, args);
    pass.end();
    device.queue.submit([encoder.finish()]);
    transients.destroy();
    const all = new Float32Array(await readBuffer(device, output, output.size));
    expect([...all.subarray(total)], 'values past the batch').toEqual([SENTINEL, SENTINEL, SENTINEL]);
    return all.subarray(0, total);
  } finally {
    input.destroy();
    output.destroy();
  }
}

/** Max |a - e| / |e|; equal values (infinities, zeros) and NaN for NaN count as 0. */
function maxRelativeError(actual: Float32Array, expected: Float32Array): number {
  let max = 0;
  for (let i = 0; i < expected.length; i++) {
    const [a, e] = [actual[i], expected[i]];
    if (a === e || (Number.isNaN(a) && Number.isNaN(e))) continue;
    const error = Math.abs(a - e) / Math.max(Math.abs(e), 1e-30);
    max = Number.isNaN(error) ? Infinity : Math.max(max, error);
  }
  return max;
}

const worst: Record<string, number> = {};
async function expectMatchesReference(device: GPUDevice, base: Omit<DecodeKernelOptions, 'inputOffset'>, salt: number, workgroupSize?: number) {
  const random = mulberry32(seed ^ Math.imul(salt, 0x9e3779b1));
  const options = randomOptions(random, base);
  const total = options.samples * options.shape.reduce((a, b) => a * b, 1);
  const bytes = randomBytes(random, options.dtype, options.inputOffset!, total);
  const error = maxRelativeError(await decodeOnGpu(device, bytes, options, workgroupSize), decodeRef(bytes, options));
  const kind = options.quant ? `${options.dtype} quant` : options.dtype;
  worst[kind] = Math.max(worst[kind] ?? 0, error);
  expect(error, `seed ${seed}`).toBeLessThan(1e-5);
}
afterAll(() => console.log(`decode: max relative error GPU vs CPU per dtype ${JSON.stringify(worst)} (seed ${seed})`));

gpuDescribe('decode on the GPU equals its CPU reference', ({ device }) => {
  const cases = dtypes.flatMap((dtype, d) =>
    [1, 7, 33, 1000].flatMap((samples) =>
      [[5, 3, 3], [13]].flatMap((shape) => [false, true].map((toCHW) => ({ dtype, samples, shape, toCHW, d }))),
    ),
  );
  test.each(cases)('$dtype: $samples samples of $shape, toCHW $toCHW', async ({ d, ...base }) => {
    await expectMatchesReference(device, base, d * 100_000 + base.samples * 100 + base.shape.length * 2 + Number(base.toCHW));
  });

  const quants = [1, 7, 33, 1000].flatMap((samples) =>
    (['int8', 'uint8'] as const).flatMap((dtype) => [1, 13].map((perChannel) => ({ samples, dtype, perChannel }))),
  );
  test.each(quants)('$dtype embeddings [13] quantized with $perChannel scale(s): $samples samples', async ({ samples, dtype, perChannel }) => {
    const random = mulberry32(seed ^ (samples * 7 + perChannel));
    const quant = {
      scale: Array.from({ length: perChannel }, () => 0.001 + random() / 10),
      zeroPoint: Array.from({ length: perChannel }, () => Math.floor(random() * 256) - (dtype === 'int8' ? 128 : 0)),
    };
    await expectMatchesReference(device, { samples, shape: [13], dtype, quant }, 777 + samples + perChannel);
  });

  test('integer dtypes with no scaling come out exactly', async () => {
    const random = mulberry32(seed);
    for (const dtype of ['uint8', 'int8', 'uint16', 'int16'] as const) {
      const options = { samples: 33, shape: [7], dtype, inputOffset: DECODE_ITEM_BYTES[dtype] };
      const bytes = randomBytes(random, dtype, options.inputOffset, 33 * 7);
      const arrays = { uint8: Uint8Array, int8: Int8Array, uint16: Uint16Array, int16: Int16Array };
      const values = new arrays[dtype](bytes.buffer.slice(options.inputOffset));
      expect([...(await decodeOnGpu(device, bytes, options))], `${dtype}, seed ${seed}`).toEqual([...values]);
    }
  });

  test('all 65536 float16 bit patterns decode bit for bit as on the CPU', async () => {
    const bits = new Uint16Array(65536).map((_, i) => i);
    const options: DecodeKernelOptions = { samples: 65536, shape: [], dtype: 'float16' };
    const bytes = new Uint8Array(bits.buffer);
    const gpu = await decodeOnGpu(device, bytes, options);
    const cpu = decodeRef(bytes, options);
    const wrong = [...gpu.keys()].filter((i) => !Object.is(gpu[i], cpu[i]) && !(Number.isNaN(gpu[i]) && Number.isNaN(cpu[i])));
    expect(wrong.slice(0, 10).map((i) => `0x${i.toString(16)}: ${gpu[i]} != ${cpu[i]}`)).toEqual([]);
  });

  test('a grid of more than 65535 workgroups wraps into a second dimension', async () => {
    // One invocation per workgroup makes 69300 workgroups: rows of the 2-D grid must line up.
    await expectMatchesReference(device, { samples: 1000, shape: [7, 11, 9], dtype: 'uint8', toCHW: true }, 1, 1);
  });

  test('bad arguments are EdgelakeErrors before anything is recorded', () => {
    const { STORAGE, COPY_DST } = GPUBufferUsage;
    const input = device.createBuffer({ label: 'small input', size: 4, usage: STORAGE });
    const output = device.createBuffer({ label: 'small output', size: 16, usage: STORAGE });
    const mapped = device.createBuffer({ label: 'not storage', size: 64, usage: COPY_DST });
    const encoder = device.createCommandEncoder({ label: 'bad arguments' });
    const pass = encoder.beginComputePass({ label: 'bad arguments' });
    const ok: DecodeArgs = { input, output, samples: 1, shape: [2], dtype: 'uint16' };
    const bad: Partial<DecodeArgs>[] = [
      { samples: 3 }, // the 4-byte input holds 2 uint16 values
      { inputOffset: 2 },
      { shape: [5] }, // 20 output bytes
      { output: mapped },
      { workgroupSize: 100_000 },
      { std: [0] },
    ];
    for (const change of bad) {
      const record = () => encodeDecode(device, pass, { ...ok, ...change });
      expect(record, Object.keys(change).join()).toThrow(expect.objectContaining({ code: 'invalid-input' }));
    }
    pass.end();
    for (const buffer of [input, output, mapped]) buffer.destroy();
  });
});
