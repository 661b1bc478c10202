import { afterAll, expect, test } from 'vitest';
import { encodeUncertainty, readBuffer, type UncertaintyGpuArgs, type UncertaintyMeasure, uncertaintyRef, type UncertaintyShape, uploadBuffer } from '../../src/kernels/index.js';
import { gpuDescribe } from './gpu.js';
import { mulberry32 } from '../support/random.js';

// A new seed each run; EDGELAKE_SEED=<n> replays a failure.
const seed = Number(process.env.EDGELAKE_SEED ?? Date.now() % 2 ** 32);
const SENTINEL = -7777; // fills the scores past n: the kernel must not write there
const SINGLE_PASS: UncertaintyMeasure[] = ['least-confidence', 'margin', 'entropy'];
const ALL: UncertaintyMeasure[] = [...SINGLE_PASS, 'bald', 'variation-ratio'];

/**
 * passes x n x classes probabilities, as MC dropout gives them: per sample a base belief
 * (softmax of logits at a random temperature) perturbed per pass, plus exact one-hot rows
 * (0 ln 0), uniform rows and exact two-way ties (argmax ties) among them.
 */
function randomProbs(random: () => number, n: number, classes: number, passes: number): Float32Array {
  const probs = new Float32Array(passes * n * classes);
  const base = new Float64Array(classes);
  const row = new Float64Array(classes);
  for (let i = 0; i < n; i++) {
    const kind = random();
    const temperature = Math.exp(random() * 6 - 2);
    const noise = random() * 3;
    for (let c = 0; c < classes; c++) base[c] = (random() * 2 - 1) * temperature;
    for (let t = 0; t < passes; t++) {
      const out = probs.subarray(t * n * classes + i * classes, t * n * classes + (i + 1) * classes);
      if (kind < 0.05) out[Math.floor(random() * classes)] = 1;
      else if (kind < 0.1) out.fill(1 / classes);
      else if (kind < 0.15) out[0] = out[classes - 1] = 0.5;
      else {
        for (let c = 0; c < classes; c++) row[c] = Math.exp(base[c] + (random() * 2 - 1) * noise);
        const sum = row.reduce((a, b) => a + b, 0);
        for (let c = 0; c < classes; c++) out[c] = row[c] / sum;
      }
    }
  }
  return probs;
}

/** Upload, record into one pass, submit, read back: the whole round trip a caller does. */
async function scoreOnGpu(device: GPUDevice, probs: Float32Array, shape: UncertaintyShape, workgroupSize?: number) {
  const input = uploadBuffer(device, 'test probs', GPUBufferUsage.STORAGE, probs);
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC;
  const scores = uploadBuffer(device, 'test scores', usage, new Float32Array(shape.n + 3).fill(SENTINEL));
  try {
    const encoder = device.createCommandEncoder({ label: 'uncertainty test' });
    const pass = encoder.beginComputePass({ label: 'uncertainty test' });
    const transients = encodeUncertainty(device, pass, { ...shape, probs: input, scores, workgroupSize });
    pass.end();
    device.queue.submit([encoder.finish()]);
    transients.destroy();
    const all = new Float32Array(await readBuffer(device, scores, scores.size));
    expect([...all.subarray(shape.n)], 'scores past n').toEqual([SENTINEL, SENTINEL, SENTINEL]);
    return all.subarray(0, shape.n);
  } finally {
    input.destroy();
    scores.destroy();
  }
}

const worst: Partial<Record<UncertaintyMeasure, number>> = {};
async function expectMatchesReference(device: GPUDevice, probs: Float32Array, shape: UncertaintyShape, workgroupSize?: number) {
  const gpu = await scoreOnGpu(device, probs, shape, workgroupSize);
  const cpu = new Float32Array(shape.n);
  uncertaintyRef({ ...shape, probs, scores: cpu });
  let [error, at] = [0, -1];
  for (let i = 0; i < shape.n; i++) {
    const e = Math.abs(gpu[i] - cpu[i]);
    if (!(e <= error)) [error, at] = [e, i]; // NaN counts as the worst
  }
  worst[shape.measure] = Math.max(worst[shape.measure] ?? 0, error);
  const where = at < 0 ? '' : `, worst at sample ${at}: GPU ${gpu[at]} CPU ${cpu[at]}`;
  expect(error, `${shape.measure}, seed ${seed}${where}`).toBeLessThan(2e-5);
}
afterAll(() => console.log(`uncertainty: max absolute error GPU vs CPU per measure ${JSON.stringify(worst)} (seed ${seed})`));

gpuDescribe('uncertainty scores on the GPU equal their CPU reference', ({ device }) => {
  // Up to 2^22 probabilities a case, so the largest n goes with the fewest classes and passes.
  const cases = [2, 10, 100].flatMap((classes) =>
    [1, 5, 20].flatMap((passes) => {
      const large = Math.min(100_000, Math.floor(2 ** 22 / (classes * passes)));
      return [37, large].map((n) => ({ n, classes, passes }));
    }),
  );
  test.each(cases)('$n samples, $classes classes, $passes passes', async ({ n, classes, passes }) => {
    const random = mulberry32(seed ^ Math.imul(n * 1000 + classes * 10 + passes, 0x9e3779b1));
    const probs = randomProbs(random, n, classes, passes);
    for (const measure of passes === 1 ? SINGLE_PASS : ALL) {
      await expectMatchesReference(device, probs, { n, classes, passes, measure });
    }
  });

  test('hand-computed cases: uniform, one-hot, and two passes that disagree', async () => {
    // Sample 0 uniform over 4 classes in both passes; sample 1 one-hot; sample 2 flips between 0 and 1.
    const probs = new Float32Array([0.25, 0.25, 0.25, 0.25, 0, 0, 1, 0, 1, 0, 0, 0, 0.25, 0.25, 0.25, 0.25, 0, 0, 1, 0, 0, 1, 0, 0]);
    const expected: Record<UncertaintyMeasure, number[]> = {
      'least-confidence': [0.75, 0, 0.5], margin: [1, 0, 1], entropy: [Math.log(4), 0, Math.LN2],
      bald: [0, 0, Math.LN2], 'variation-ratio': [0, 0, 0.5],
    };
    for (const measure of ALL) {
      const scores = await scoreOnGpu(device, probs, { n: 3, classes: 4, passes: 2, measure });
      [...scores].forEach((score, i) => expect(score, `${measure} sample ${i}`).toBeCloseTo(expected[measure][i], 6));
    }
  });

  test("a diverged model's NaN probabilities score NaN, as on the CPU, under every measure of p̄", async () => {
    // Sample 0: NaN in pass 0; sample 1: finite.
    const probs = new Float32Array([Number.NaN, 0.7, 0.34, 0.66, 0.2, 0.8, 0.5, 0.5]);
    for (const measure of ['least-confidence', 'margin', 'entropy', 'bald'] as const) {
      const [diverged, fine] = await scoreOnGpu(device, probs, { n: 2, classes: 2, passes: 2, measure });
      expect([Number.isNaN(diverged), Number.isFinite(fine)], measure).toEqual([true, true]);
    }
  });

  test('variation-ratio with 200 passes shrinks its workgroup to fit the votes in workgroup memory', async () => {
    const shape = { n: 500, classes: 10, passes: 200 };
    const probs = randomProbs(mulberry32(seed ^ 200), shape.n, shape.classes, shape.passes);
    await expectMatchesReference(device, probs, { ...shape, measure: 'variation-ratio' });
  });

  test('a grid of more than 65535 workgroups wraps into a second dimension', async () => {
    const shape = { n: 70_000, classes: 2, passes: 2 };
    const probs = randomProbs(mulberry32(seed ^ 70_000), shape.n, shape.classes, shape.passes);
    for (const measure of ['entropy', 'variation-ratio'] as const) {
      await expectMatchesReference(device, probs, { ...shape, measure }, 1);
    }
  });

  test('bad arguments are EdgelakeErrors before anything is recorded', () => {
    const { STORAGE, COPY_DST } = GPUBufferUsage;
    const probs = device.createBuffer({ label: 'small probs', size: 64, usage: STORAGE });
    const scores = device.createBuffer({ label: 'small scores', size: 8, usage: STORAGE });
    const mapped = device.createBuffer({ label: 'not storage', size: 64, usage: COPY_DST });
    const encoder = device.createCommandEncoder({ label: 'bad arguments' });
    const pass = encoder.beginComputePass({ label: 'bad arguments' });
    const ok: UncertaintyGpuArgs = { probs, scores, n: 2, classes: 4, passes: 2, measure: 'bald' };
    const bad: [Partial<UncertaintyGpuArgs>, RegExp][] = [
      [{ passes: 1 }, /bald compares MC-dropout passes, so it needs passes >= 2/],
      [{ passes: 1, measure: 'variation-ratio' }, /passes >= 2/],
      [{ passes: 0, measure: 'entropy' }, /passes must be an integer >= 1/],
      [{ classes: 1 }, /classes must be an integer >= 2/],
      [{ n: -1 }, /n must be a non-negative integer/],
      [{ measure: 'confusion' as UncertaintyMeasure }, /measure must be one of/],
      [{ passes: 3 }, /'small probs' holds 64 bytes, needs 96 \(3 x 2 x 4 probabilities\)/],
      [{ n: 3, classes: 2 }, /'small scores' holds 8 bytes, needs 12 \(3 scores\)/],
      [{ scores: mapped }, /'not storage' needs GPUBufferUsage.STORAGE/],
      [{ scores: probs }, /same buffer 'small probs'/],
      [{ workgroupSize: 100_000 }, /workgroupSize must be an integer/],
    ];
    for (const [change, message] of bad) {
      const record = () => encodeUncertainty(device, pass, { ...ok, ...change });
      expect(record, message.source).toThrow(expect.objectContaining({ code: 'invalid-input', message: expect.stringMatching(message) }));
    }
    pass.end();
    for (const buffer of [probs, scores, mapped]) buffer.destroy();
  });
});
