import { afterAll, expect, test } from 'vitest';
import { gpuDescribe } from './gpu.js';
import { mulberry32 } from '../support/random.js';
import { encodeSoftmax, encodeSoftmaxCrossEntropy, encodeSum, type LabelKind, readBuffer, type SoftmaxCrossEntropyArgs, softmaxCrossEntropyRef, softmaxRef, sumRef, Transients, uploadBuffer } from '../../src/kernels/index.js';

// A new seed each run; EDGELAKE_SEED=<n> replays a failure.
const seed = Number(process.env.EDGELAKE_SEED ?? Date.now() % 2 ** 32);
const { STORAGE, COPY_SRC } = GPUBufferUsage;
type Kind = 'softmax' | LabelKind;

interface Batch { n: number; classes: number; logits: Float32Array; labels: Int32Array | Float32Array }

/**
 * Logits uniform in +-range, with ties (a row's maximum copied elsewhere) and confident rows
 * (one logit far above the rest: tiny losses); index labels with a few out of range.
 */
function randomBatch(kind: Kind, n: number, classes: number, range: number, salt: number): Batch {
  const random = mulberry32(seed ^ Math.imul(salt, 0x9e3779b1));
  const logits = Float32Array.from({ length: n * classes }, () => (random() * 2 - 1) * range);
  for (let r = 0; r < n; r++) {
    const row = logits.subarray(r * classes, (r + 1) * classes);
    const pick = () => Math.floor(random() * classes);
    if (random() < 0.1) row[pick()] = Math.max(...row);
    else if (random() < 0.2) row[pick()] = range + 20 * random();
  }
  const labels = kind === 'soft'
    ? randomSoftRows(random, n, classes)
    : Int32Array.from({ length: n }, () => (random() < 0.05 ? [-1, classes, -(2 ** 31)][Math.floor(random() * 3)] : Math.floor(random() * classes)));
  return { n, classes, logits, labels };
}

/** Rows of class probabilities: mixup pairs (ties at lambda 0.5 included) and spread rows. */
function randomSoftRows(random: () => number, n: number, classes: number): Float32Array {
  const rows = new Float32Array(n * classes);
  for (let r = 0; r < n; r++) {
    const row = rows.subarray(r * classes, (r + 1) * classes);
    if (random() < 0.5) {
      const lambda = random() < 0.2 ? 0.5 : random();
      row[Math.floor(random() * classes)] += lambda;
      row[Math.floor(random() * classes)] += 1 - lambda;
    } else {
      const weights = Array.from(row, () => random());
      const total = weights.reduce((a, b) => a + b, 0);
      weights.forEach((w, j) => (row[j] = w / total));
    }
  }
  return rows;
}

interface Outputs { rows: Float32Array; loss: Float32Array; correct: Float32Array; invalid: Float32Array }

async function runOnGpu(device: GPUDevice, kind: Kind, b: Batch, gradScale: number): Promise<Outputs> {
  const { n, classes } = b;
  const make = (label: string, count: number) => device.createBuffer({ label, size: Math.max(4, count * 4), usage: STORAGE | COPY_SRC });
  const logits = uploadBuffer(device, 'test logits', STORAGE, b.logits);
  const labels = uploadBuffer(device, 'test labels', STORAGE, b.labels);
  const [rows, loss, correct, invalid] = [make('test rows', n * classes), make('test loss', n), make('test correct', n), make('test invalid', n)];
  const transients = new Transients();
  try {
    const encoder = device.createCommandEncoder({ label: 'loss test' });
    const pass = encoder.beginComputePass({ label: 'loss test' });
    if (kind === 'softmax') encodeSoftmax(device, pass, { logits, probs: rows, n, classes }, transients);
    else encodeSoftmaxCrossEntropy(device, pass, { logits, labels, labelKind: kind, n, classes, gradLogits: rows, gradScale, loss, correct, invalid }, transients);
    pass.end();
    device.queue.submit([encoder.finish()]);
    const read = async (buffer: GPUBuffer, count: number) => new Float32Array(await readBuffer(device, buffer, count * 4));
    return { rows: await read(rows, n * classes), loss: await read(loss, n), correct: await read(correct, n), invalid: await read(invalid, n) };
  } finally {
    transients.destroy();
    for (const buffer of [logits, labels, rows, loss, correct, invalid]) buffer.destroy();
  }
}

function runOnCpu(kind: Kind, b: Batch, gradScale: number): Outputs {
  const { n, classes, logits, labels } = b;
  const out = { rows: new Float32Array(n * classes), loss: new Float32Array(n), correct: new Float32Array(n), invalid: new Float32Array(n) };
  if (kind === 'softmax') softmaxRef({ logits, probs: out.rows, n, classes });
  else softmaxCrossEntropyRef({ logits, labels, labelKind: kind, n, classes, gradLogits: out.rows, gradScale, ...out });
  return out;
}

/** Max |a - e| / max(|e|, floor[i]): relative, except for values near 0 or the subnormals. */
function maxError(actual: Float32Array, expected: Float32Array, floor: (i: number) => number = () => 1e-30): number {
  let max = 0;
  for (let i = 0; i < expected.length; i++) {
    const error = Math.abs(actual[i] - expected[i]) / Math.max(Math.abs(expected[i]), floor(i));
    max = Number.isNaN(error) ? Infinity : Math.max(max, error);
  }
  return max;
}

const worst: Record<string, number> = {};
function note(key: string, error: number): number {
  worst[key] = Math.max(worst[key] ?? 0, error);
  return error;
}
afterAll(() => console.log(`loss: max relative error GPU vs CPU ${JSON.stringify(worst)} (seed ${seed})`));

async function expectMatchesReference(device: GPUDevice, kind: Kind, n: number, classes: number, range: number, salt: number) {
  const batch = randomBatch(kind, n, classes, range, salt);
  const gradScale = 1 / n;
  const gpu = await runOnGpu(device, kind, batch, gradScale);
  const cpu = runOnCpu(kind, batch, gradScale);
  const what = `${kind}, n ${n}, ${classes} classes, logits +-${range}, seed ${seed}`;
  // Gradients (p - y) * scale: where p ~ y the difference cancels, so relative to (p + y) * scale.
  const y = (i: number) => (kind === 'soft' ? batch.labels[i] : +(batch.labels[Math.floor(i / classes)] === i % classes));
  const operands = (i: number) => (kind === 'softmax' ? 1e-30 : Math.max(1e-30, gradScale * (Math.abs(cpu.rows[i] / gradScale + y(i)) + y(i))));
  const rowsError = maxError(gpu.rows, cpu.rows, operands);
  // WGSL lets exp(x) be off by 3 + 2|x| ulps: 2e-5 leaves room for that down to x = -80.
  expect(note(`${kind} ${kind === 'softmax' ? 'probs' : 'grad'}`, rowsError), what).toBeLessThan(2e-5);
  if (kind === 'softmax') return;
  expect(note(`${kind} loss`, maxError(gpu.loss, cpu.loss)), what).toBeLessThan(2e-5);
  expect([...gpu.correct], what).toEqual([...cpu.correct]);
  expect([...gpu.invalid], what).toEqual([...cpu.invalid]);
  if (kind === 'index') expect(cpu.invalid.some((v) => v === 1) || n < 100, what).toBe(true); // the batch had labels out of range to flag
}

gpuDescribe('softmax and cross-entropy on the GPU equal their CPU references', ({ device }) => {
  const kinds: Kind[] = ['softmax', 'index', 'soft'];
  const cases = kinds.flatMap((kind, k) =>
    [1, 2, 10, 1000].flatMap((classes) =>
      [1, 37, classes === 1000 ? 300 : 4096].flatMap((n) => [4, 80].map((range) => ({ kind, classes, n, range, k }))),
    ),
  );
  test.each(cases)('$kind: $n rows of $classes classes, logits +-$range', async ({ kind, classes, n, range, k }) => {
    await expectMatchesReference(device, kind, n, classes, range, k * 1_000_003 + classes * 7919 + n * 31 + range);
  });

  test.each(kinds)('%s: 4096 rows of 1000 classes', async (kind) => {
    await expectMatchesReference(device, kind, 4096, 1000, 30, kinds.indexOf(kind));
  });

  test.each(kinds)('%s: 70000 rows make a 2-D grid of workgroups', async (kind) => {
    await expectMatchesReference(device, kind, 70_000, 2, 10, 99 + kinds.indexOf(kind));
  });

  test.each(['index', 'soft'] as const)('%s: rows with a NaN or infinite logit (a diverged model) are never correct, as on the CPU', async (kind) => {
    const batch = randomBatch(kind, 500, 10, 5, 77 + kinds.indexOf(kind));
    const random = mulberry32(seed ^ 0x51ed);
    for (let r = 0; r < batch.n; r++) {
      if (random() < 0.3) batch.logits[r * 10 + Math.floor(random() * 10)] = [NaN, Infinity, -Infinity][Math.floor(random() * 3)];
    }
    const [gpu, cpu] = [await runOnGpu(device, kind, batch, 1 / batch.n), runOnCpu(kind, batch, 1 / batch.n)];
    const what = `${kind}, seed ${seed}`;
    expect([...gpu.correct], what).toEqual([...cpu.correct]);
    expect([...gpu.invalid], what).toEqual([...cpu.invalid]);
    expect([...gpu.loss].map(Number.isFinite), what).toEqual([...cpu.loss].map(Number.isFinite));
    expect(cpu.loss.some((l) => Number.isNaN(l)), what).toBe(true);
    cpu.loss.forEach((l, r) => Number.isNaN(l) && expect(cpu.correct[r], what).toBe(0));
  });

  test('a training step: loss and correct flags summed into epoch statistics in the same pass', async () => {
    const batch = randomBatch('index', 64, 10, 5, 5);
    const n = 64;
    const logits = uploadBuffer(device, 'step logits', STORAGE, batch.logits);
    const labels = uploadBuffer(device, 'step labels', STORAGE, batch.labels);
    const gradLogits = device.createBuffer({ label: 'step grad', size: n * 40, usage: STORAGE });
    const loss = device.createBuffer({ label: 'step loss', size: n * 4, usage: STORAGE });
    const correct = device.createBuffer({ label: 'step correct', size: n * 4, usage: STORAGE });
    const stats = uploadBuffer(device, 'epoch stats', STORAGE | COPY_SRC, Float32Array.of(1.5, 3));
    const transients = new Transients();
    const encoder = device.createCommandEncoder({ label: 'training step' });
    const pass = encoder.beginComputePass({ label: 'training step' });
    const args: SoftmaxCrossEntropyArgs<GPUBuffer, GPUBuffer> = { logits, labels, labelKind: 'index', n, classes: 10, gradLogits, gradScale: 1 / n, loss, correct };
    encodeSoftmaxCrossEntropy(device, pass, args, transients);
    encodeSum(device, pass, { input: loss, count: n, output: stats, outputIndex: 0, accumulate: true }, transients);
    encodeSum(device, pass, { input: correct, count: n, output: stats, outputIndex: 1, accumulate: true }, transients);
    pass.end();
    device.queue.submit([encoder.finish()]);
    transients.destroy();
    const gpu = new Float32Array(await readBuffer(device, stats, 8));
    for (const buffer of [logits, labels, gradLogits, loss, correct, stats]) buffer.destroy();

    const cpu = runOnCpu('index', batch, 1 / n);
    const expected = Float32Array.of(1.5, 3);
    sumRef({ input: cpu.loss, count: n, output: expected, outputIndex: 0, accumulate: true });
    sumRef({ input: cpu.correct, count: n, output: expected, outputIndex: 1, accumulate: true });
    expect(gpu[1], `seed ${seed}`).toBe(expected[1]);
    expect(Math.abs(gpu[0] - expected[0]) / expected[0], `seed ${seed}`).toBeLessThan(1e-5);
  });

  test('bad arguments are EdgelakeErrors before anything is recorded', () => {
    const buffer = (label: string, size: number, usage = STORAGE) => device.createBuffer({ label, size, usage });
    const [logits, gradLogits, loss, correct] = ['logits', 'grad', 'loss', 'correct'].map((l) => buffer(l, 24));
    const labels = buffer('labels', 8);
    const mapped = buffer('not storage', 64, GPUBufferUsage.COPY_DST);
    const encoder = device.createCommandEncoder({ label: 'bad arguments' });
    const pass = encoder.beginComputePass({ label: 'bad arguments' });
    const ok: SoftmaxCrossEntropyArgs<GPUBuffer, GPUBuffer> = { logits, labels, labelKind: 'index', n: 2, classes: 3, gradLogits, gradScale: 0.5, loss, correct };
    const limit = device.limits.maxStorageBufferBindingSize;
    const bad: [Partial<typeof ok>, string][] = [
      [{ classes: 0 }, 'invalid-input'],
      [{ n: 1.5 }, 'invalid-input'],
      [{ labelKind: 'hard' as LabelKind }, 'invalid-input'],
      [{ gradScale: Infinity }, 'invalid-input'],
      [{ classes: 4 }, 'invalid-input'], // 24-byte buffers hold 2 x 3 values
      [{ labelKind: 'soft' }, 'invalid-input'], // 8 bytes hold 2 index labels, not 2 x 3 soft ones
      [{ gradLogits: logits }, 'invalid-input'],
      [{ correct: loss }, 'invalid-input'],
      [{ labels: mapped }, 'invalid-input'],
      [{ n: limit / 8 + 1, classes: 2 }, 'limit'],
    ];
    for (const [change, code] of bad) {
      const record = () => encodeSoftmaxCrossEntropy(device, pass, { ...ok, ...change });
      expect(record, JSON.stringify(change)).toThrow(expect.objectContaining({ code }));
    }
    const softmax = { logits, probs: gradLogits, n: 2, classes: 3 };
    expect(() => encodeSoftmax(device, pass, { ...softmax, probs: logits })).toThrow(expect.objectContaining({ code: 'invalid-input' }));
    expect(() => encodeSoftmax(device, pass, { ...softmax, classes: 4 })).toThrow(expect.objectContaining({ code: 'invalid-input' }));
    pass.end();
    for (const b of [logits, labels, gradLogits, loss, correct, mapped]) b.destroy();
  });
});
