import { afterAll, expect, test } from 'vitest';
import { gpuDescribe } from './gpu.js';
import { mulberry32 } from '../support/random.js';
import { COLUMN_SUM_CHUNK, type ColumnSumArgs, columnSumRef, encodeColumnSum, encodeReluBackward, readBuffer, type ReluBackwardArgs, reluBackwardRef, uploadBuffer } from '../../src/kernels/index.js';

// A new seed each run; EDGELAKE_SEED=<n> replays a failure.
const seed = Number(process.env.EDGELAKE_SEED ?? Date.now() % 2 ** 32);
const SENTINEL = -7777; // fills outputs past their length: the kernels must not write there
const { STORAGE, COPY_SRC } = GPUBufferUsage;

const random = (salt: number) => mulberry32(seed ^ Math.imul(salt + 1, 0x9e3779b1));
const uniform = (rnd: () => number, length: number) => Float32Array.from({ length }, () => rnd() * 2 - 1);
function withSentinel(data: Float32Array): Float32Array {
  const padded = new Float32Array(data.length + 2).fill(SENTINEL);
  padded.set(data);
  return padded;
}

/** Records `encode` into one pass, submits, reads `out` back (checking the sentinels), destroys `buffers`. */
async function runOnGpu(device: GPUDevice, encode: (pass: GPUComputePassEncoder) => { destroy(): void }, out: GPUBuffer, buffers: GPUBuffer[]): Promise<Float32Array> {
  try {
    const encoder = device.createCommandEncoder({ label: 'dense test' });
    const pass = encoder.beginComputePass({ label: 'dense test' });
    const transients = encode(pass);
    pass.end();
    device.queue.submit([encoder.finish()]);
    transients.destroy();
    const all = new Float32Array(await readBuffer(device, out, out.size));
    expect([...all.subarray(-2)], 'values past the output').toEqual([SENTINEL, SENTINEL]);
    return all.subarray(0, -2);
  } finally {
    for (const buffer of buffers) buffer.destroy();
  }
}

async function reluBackwardOnGpu(device: GPUDevice, args: ReluBackwardArgs<Float32Array>): Promise<Float32Array> {
  const output = uploadBuffer(device, 'test relu output', STORAGE, args.output);
  const gradOutput = uploadBuffer(device, 'test gradOutput', STORAGE | COPY_SRC, withSentinel(args.gradOutput));
  const inPlace = args.gradInput === args.gradOutput;
  const gradInput = inPlace ? gradOutput : uploadBuffer(device, 'test gradInput', STORAGE | COPY_SRC, withSentinel(args.gradInput));
  const buffers = inPlace ? [output, gradOutput] : [output, gradOutput, gradInput];
  return runOnGpu(device, (pass) => encodeReluBackward(device, pass, { gradOutput, output, gradInput, count: args.count }), gradInput, buffers);
}

async function columnSumOnGpu(device: GPUDevice, args: ColumnSumArgs<Float32Array>): Promise<Float32Array> {
  const input = uploadBuffer(device, 'test columnSum input', STORAGE, args.input);
  const output = uploadBuffer(device, 'test columnSum output', STORAGE | COPY_SRC, withSentinel(args.output));
  return runOnGpu(device, (pass) => encodeColumnSum(device, pass, { ...args, input, output }), output, [input, output]);
}

let worstColumnSum = 0;
afterAll(() => console.log(`columnSum: max error GPU vs CPU relative to sum |x| ${worstColumnSum} (seed ${seed})`));

gpuDescribe('dense backward kernels on the GPU equal their CPU references', ({ device }) => {
  test.each([1, 7, 256, 1000, 70_001])('reluBackward of %i elements, bit for bit, also in place', async (count) => {
    const rnd = random(count);
    const gradOutput = uniform(rnd, count);
    // Outputs of a ReLU: zeros, positives, and a few negatives and NaNs that must count as not positive.
    const output = Float32Array.from({ length: count }, () => (rnd() < 0.4 ? 0 : rnd() < 0.05 ? (rnd() < 0.5 ? NaN : -rnd()) : rnd()));
    const expected = new Float32Array(count);
    reluBackwardRef({ gradOutput, output, gradInput: expected, count });
    const fresh = await reluBackwardOnGpu(device, { gradOutput, output, gradInput: new Float32Array(count).fill(NaN), count });
    expect(fresh, `seed ${seed}`).toEqual(expected);
    const grad = gradOutput.slice();
    expect(await reluBackwardOnGpu(device, { gradOutput: grad, output, gradInput: grad, count }), `in place, seed ${seed}`).toEqual(expected);
  });

  // 1 row; one chunk; exactly one chunk; several levels of partial sums (76800 rows: 300 chunks, 2, 1).
  const shapes = [[1, 1], [7, 10], [COLUMN_SUM_CHUNK, 65], [COLUMN_SUM_CHUNK + 1, 3], [1000, 256], [76_800, 3], [0, 5]];
  const cases = shapes.flatMap(([rows, cols]) => [false, true].map((accumulate) => ({ rows, cols, accumulate })));
  test.each(cases)('columnSum of $rows x $cols, accumulate $accumulate', async ({ rows, cols, accumulate }) => {
    const rnd = random(rows * 7 + cols * 2 + Number(accumulate));
    const input = uniform(rnd, rows * cols);
    const start = accumulate ? uniform(rnd, cols) : new Float32Array(cols).fill(NaN);
    const expected = accumulate ? start.slice() : new Float32Array(cols);
    columnSumRef({ input, output: expected, rows, cols, accumulate });
    const scale = accumulate ? start.map(Math.abs) : new Float32Array(cols);
    columnSumRef({ input: input.map(Math.abs), output: scale, rows, cols, accumulate: true });
    const actual = await columnSumOnGpu(device, { input, output: start, rows, cols, accumulate });
    let error = 0;
    for (let c = 0; c < cols; c++) {
      const e = Math.abs(actual[c] - expected[c]) / Math.max(scale[c], 1e-30);
      error = Number.isNaN(e) ? Infinity : Math.max(error, e);
    }
    worstColumnSum = Math.max(worstColumnSum, error);
    expect(error, `seed ${seed}`).toBeLessThan(1e-5);
  });

  test('bad arguments are EdgelakeErrors before anything is recorded', () => {
    const buffer = (label: string, size: number, usage = STORAGE) => device.createBuffer({ label, size, usage });
    const [four, other, small, mapped] = [buffer('4 floats', 16), buffer('4 more floats', 16), buffer('1 float', 4), buffer('not storage', 16, COPY_SRC)];
    const encoder = device.createCommandEncoder({ label: 'bad arguments' });
    const pass = encoder.beginComputePass({ label: 'bad arguments' });
    const relu: ReluBackwardArgs<GPUBuffer> = { gradOutput: four, output: other, gradInput: four, count: 4 };
    for (const change of [{ count: 5 }, { count: -1 }, { gradInput: other }, { output: small }, { gradOutput: mapped, gradInput: mapped }]) {
      expect(() => encodeReluBackward(device, pass, { ...relu, ...change }), Object.keys(change).join()).toThrow(expect.objectContaining({ code: 'invalid-input' }));
    }
    const sum: ColumnSumArgs<GPUBuffer> = { input: four, output: other, rows: 2, cols: 2 };
    for (const change of [{ rows: 3 }, { cols: 1.5 }, { output: four }, { output: small, cols: 2, rows: 1 }, { input: mapped }]) {
      expect(() => encodeColumnSum(device, pass, { ...sum, ...change }), Object.keys(change).join()).toThrow(expect.objectContaining({ code: 'invalid-input' }));
    }
    pass.end();
    for (const x of [four, other, small, mapped]) x.destroy();
  });
});
