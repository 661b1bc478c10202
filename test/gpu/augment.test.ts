import { afterAll, expect, test } from 'vitest';
import { gpuDescribe } from './gpu.js';
import { mulberry32 } from '../support/random.js';
import { augmentMix, type AugmentOp, augmentParams, type AugmentPlan, augmentRef, compileAugment, encodeAugment, encodeMixLabels, mixLabels, readBuffer, type SampleShape, uploadBuffer } from '../../src/kernels/index.js';

// A new seed each run; EDGELAKE_SEED=<n> replays a failure.
const seed = Number(process.env.EDGELAKE_SEED ?? Date.now() % 2 ** 32);
const SENTINEL = -7777; // fills the output past the batch: the kernel must not write there

/** Odd batch sizes and odd image sizes; 1000 samples get small images. */
const batches: { n: number; shape: SampleShape; out: [number, number] }[] = [
  { n: 1, shape: [3, 37, 29], out: [31, 23] },
  { n: 7, shape: [3, 17, 23], out: [19, 13] },
  { n: 33, shape: [1, 13, 19], out: [11, 17] },
  { n: 1000, shape: [1, 9, 11], out: [7, 5] },
];

const single: Record<string, (out: [number, number]) => AugmentOp[]> = {
  randomResizedCrop: (size) => [{ op: 'randomResizedCrop', size }],
  resize: (size) => [{ op: 'resize', size }],
  flip: () => [{ op: 'flip' }, { op: 'flip', axis: 'vertical' }],
  rotate: () => [{ op: 'rotate', degrees: 30, fill: 0.25 }],
  brightness: () => [{ op: 'colorJitter', brightness: 0.4 }],
  contrast: () => [{ op: 'colorJitter', contrast: 0.4 }],
  saturation: () => [{ op: 'colorJitter', saturation: 0.4 }],
  noise: () => [{ op: 'noise', std: 0.1 }],
  cutout: () => [{ op: 'cutout', p: 0.8, value: -0.5 }],
  mixup: () => [{ op: 'mixup', alpha: 0.4 }],
  pipeline: (size) => [
    { op: 'randomResizedCrop', size, scale: [0.3, 1] },
    { op: 'flip', p: 0.5 },
    { op: 'rotate', degrees: 15 },
    { op: 'colorJitter', brightness: 0.4, contrast: 0.4, saturation: 0.4 },
    { op: 'noise', std: 0.05 },
    { op: 'cutout', p: 0.5 },
    { op: 'mixup', alpha: 0.2 },
  ],
};

/** Values in [-0.5, 1.5): decoded [0, 1] pixels, or normalized ones, and zero crossings. */
function randomBatch(n: number, shape: SampleShape, salt: number) {
  const random = mulberry32(seed ^ Math.imul(salt, 0x9e3779b1));
  const input = Float32Array.from({ length: n * shape[0] * shape[1] * shape[2] }, () => random() * 2 - 0.5);
  const ids = Uint32Array.from({ length: n }, () => Math.floor(random() * 2 ** 32));
  return { input, ids, epoch: Math.floor(random() * 100) };
}

/** Per-channel mean and std drawn from the run's seed, one entry or one per channel; a negative std flips the sign. */
function randomNormalize(c: number, salt: number) {
  const random = mulberry32(seed ^ Math.imul(salt, 0x85ebca6b));
  const count = random() < 0.3 ? 1 : c;
  const mean = Array.from({ length: count }, () => random() * 2 - 0.5);
  const std = Array.from({ length: count }, () => (random() < 0.2 ? -1 : 1) * (0.05 + random()));
  return { mean, std };
}

function maxRelativeError(actual: Float32Array, expected: Float32Array): number {
  let max = 0;
  for (let i = 0; i < expected.length; i++) {
    const error = Math.abs(actual[i] - expected[i]) / Math.max(Math.abs(expected[i]), 1e-30);
    if (!(error <= max)) max = Number.isNaN(error) ? Infinity : error;
  }
  return max;
}

interface Run { plan: AugmentPlan; input: Float32Array; n: number; ids: Uint32Array; seed: number; epoch: number }

/** Upload, record the plan's passes into one compute pass, submit, read back. */
async function augmentOnGpu(device: GPUDevice, r: Run, workgroupSize?: number): Promise<Float32Array> {
  const [c, h, w] = r.plan.outputShape;
  const count = r.n * c * h * w;
  const input = uploadBuffer(device, 'test augment input', GPUBufferUsage.STORAGE, r.input);
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC;
  const output = uploadBuffer(device, 'test augment output', usage, new Float32Array(count + 3).fill(SENTINEL));
  try {
    const encoder = device.createCommandEncoder({ label: 'augment test' });
    const pass = encoder.beginComputePass({ label: 'augment test' });
    const transients = encodeAugment(device, pass, r.plan, { ...r, input, output, workgroupSize });
    pass.end();
    device.queue.submit([encoder.finish()]);
    transients.destroy();
    const all = new Float32Array(await readBuffer(device, output, output.size));
    expect([...all.subarray(count)], 'values past the batch').toEqual([SENTINEL, SENTINEL, SENTINEL]);
    return all.subarray(0, count);
  } finally {
    input.destroy();
    output.destroy();
  }
}

const worst = new Map<string, { error: number; differing: number; values: number }>();
async function expectMatchesReference(device: GPUDevice, name: string, r: Run, workgroupSize?: number) {
  const expected = augmentRef(r.plan, r.input, r).output;
  const actual = await augmentOnGpu(device, r, workgroupSize);
  const error = maxRelativeError(actual, expected);
  const differing = actual.filter((v, i) => !Object.is(v, expected[i]) && v !== expected[i]).length;
  const seen = worst.get(name) ?? { error: 0, differing: 0, values: 0 };
  worst.set(name, { error: Math.max(seen.error, error), differing: seen.differing + differing, values: seen.values + actual.length });
  expect(error, `${name}, seed ${seed}`).toBeLessThan(1e-5);
  return actual;
}
afterAll(() => {
  const lines = [...worst].map(([name, w]) => `  ${name.padEnd(18)} max rel. error ${w.error.toExponential(2)}, ${w.differing}/${w.values} values differ`);
  console.log(`augment GPU vs CPU reference (seed ${seed}):\n${lines.join('\n')}`);
});

gpuDescribe('augment on the GPU equals its CPU reference', ({ device }) => {
  const cases = Object.keys(single).flatMap((name) => batches.map((b) => ({ name, ...b })));
  test.each(cases)('$name: $n samples of $shape -> $out', async ({ name, n, shape, out }) => {
    const plan = compileAugment(single[name](out), shape);
    const batch = randomBatch(n, shape, n * 31 + name.length);
    await expectMatchesReference(device, name, { plan, n, seed, ...batch });
  });

  test.each(batches)('channels-last output ([H, W, C], for TF.js models): $n samples of $shape', async ({ n, shape, out }) => {
    const plan = compileAugment(single.pipeline(out), shape, 'HWC');
    await expectMatchesReference(device, 'pipeline HWC', { plan, n, seed, ...randomBatch(n, shape, n * 17 + 3) });
  });

  test.each(batches)('per-channel mean and std applied last, after every op: $n samples of $shape', async ({ n, shape, out }) => {
    for (const [name, layout] of [['pipeline', 'CHW'], ['rotate', 'HWC'], ['noise', 'CHW'], ['brightness', 'HWC'], ['mixup', 'CHW']] as const) {
      const plan = compileAugment(single[name](out), shape, layout, randomNormalize(shape[0], n + name.length));
      expect(plan.stages.normalize).toBe(true);
      await expectMatchesReference(device, `${name} normalized`, { plan, n, seed, ...randomBatch(n, shape, n * 13 + name.length) });
    }
  });

  test('a workgroup size that divides nothing, and a 1-invocation grid past 65535 workgroups', async () => {
    const plan = compileAugment(single.pipeline([5, 7]), [3, 11, 13]);
    await expectMatchesReference(device, 'pipeline', { plan, n: 3, seed, ...randomBatch(3, [3, 11, 13], 5) }, 7);
    const big = compileAugment([{ op: 'flip' }, { op: 'noise', std: 1 }], [1, 9, 11]);
    await expectMatchesReference(device, 'noise', { plan: big, n: 700, seed, ...randomBatch(700, [1, 9, 11], 6) }, 1);
  });

  test('the same key twice gives the same batch; another epoch another one', async () => {
    const plan = compileAugment(single.pipeline([9, 9]), [3, 12, 10]);
    const batch = randomBatch(7, [3, 12, 10], 7);
    const a = await augmentOnGpu(device, { plan, n: 7, seed, ...batch });
    const b = await augmentOnGpu(device, { plan, n: 7, seed, ...batch });
    const c = await augmentOnGpu(device, { plan, n: 7, seed, ...batch, epoch: batch.epoch + 1 });
    expect(b).toEqual(a);
    expect(c.filter((v, i) => v !== a[i]).length).toBeGreaterThan(a.length / 2);
  });

  test.each([1, 7, 33, 1000])('mixed soft labels of %i samples equal mixLabels exactly', async (n) => {
    const plan = compileAugment([{ op: 'mixup', alpha: 0.4 }], [1, 1, 1]);
    const random = mulberry32(seed + n);
    const ids = Uint32Array.from({ length: n }, (_, i) => i * 3);
    const mix = augmentMix(plan, augmentParams(plan, ids, seed, 1))!;
    const classes = 10;
    const labels = Int32Array.from({ length: n }, () => Math.floor(random() * (classes + 1)) - 1);
    const labelBuffer = uploadBuffer(device, 'test labels', GPUBufferUsage.STORAGE, labels);
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC;
    const output = device.createBuffer({ label: 'test soft labels', size: n * classes * 4, usage });
    const encoder = device.createCommandEncoder({ label: 'mix labels test' });
    const pass = encoder.beginComputePass({ label: 'mix labels test' });
    const transients = encodeMixLabels(device, pass, { labels: labelBuffer, output, classes, mix });
    pass.end();
    device.queue.submit([encoder.finish()]);
    transients.destroy();
    const soft = new Float32Array(await readBuffer(device, output, n * classes * 4));
    expect(soft).toEqual(mixLabels(labels, classes, mix));
    labelBuffer.destroy();
    output.destroy();
  });

  test('bad arguments are EdgelakeErrors before anything is recorded', () => {
    const plan = compileAugment([{ op: 'flip' }], [1, 4, 4]);
    const { STORAGE, COPY_DST } = GPUBufferUsage;
    const small = device.createBuffer({ label: 'small', size: 64, usage: STORAGE });
    const other = device.createBuffer({ label: 'other', size: 64, usage: STORAGE });
    const mapped = device.createBuffer({ label: 'not storage', size: 64, usage: COPY_DST });
    const encoder = device.createCommandEncoder({ label: 'bad arguments' });
    const pass = encoder.beginComputePass({ label: 'bad arguments' });
    const ok = { input: small, output: other, n: 1, ids: Uint32Array.of(4), seed: 1, epoch: 0 };
    for (const change of [{ n: 2 }, { seed: -1 }, { output: small }, { output: mapped }, { workgroupSize: 0 }, { params: new Float32Array(3) }]) {
      const record = () => encodeAugment(device, pass, plan, { ...ok, ...change });
      expect(record, Object.keys(change).join()).toThrow(expect.objectContaining({ code: 'invalid-input' }));
    }
    pass.end();
    for (const b of [small, other, mapped]) b.destroy();
  });
});
