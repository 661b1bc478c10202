import { afterAll, expect, test } from 'vitest';
import { type AdamArgs, adamRef, encodeAdam, encodeSgd, readBuffer, type SgdArgs, sgdRef, uploadBuffer } from '../../src/kernels/index.js';
import { gpuDescribe } from './gpu.js';
import { mulberry32 } from '../support/random.js';

// A new seed each run; EDGELAKE_SEED=<n> replays a failure.
const seed = Number(process.env.EDGELAKE_SEED ?? Date.now() % 2 ** 32);
const random = mulberry32(seed);
const USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
const values = (count: number, scale = 1) => Float32Array.from({ length: count }, () => (random() - 0.5) * 2 * scale);

type Hyper<A> = Omit<A, 'param' | 'grad' | 'velocity' | 'm' | 'v' | 'count'>;
type State = Record<string, Float32Array>;

/**
 * `steps` optimizer steps with fresh random gradients, each recorded into one pass and submitted,
 * the state buffers kept on the GPU between steps; the same steps on the CPU. Returns both states.
 */
async function run(
  device: GPUDevice,
  count: number,
  names: string[],
  steps: number,
  step: (device: GPUDevice, pass: GPUComputePassEncoder, buffers: Record<string, GPUBuffer>, cpu: State, k: number) => ReturnType<typeof encodeSgd>,
): Promise<{ gpu: State; cpu: State }> {
  const cpu: State = Object.fromEntries(names.map((name) => [name, name === 'param' ? values(count) : new Float32Array(count)]));
  const buffers = Object.fromEntries(names.map((name) => [name, uploadBuffer(device, `test ${name}`, USAGE, cpu[name])]));
  const gradBuffer = device.createBuffer({ label: 'test grad', size: count * 4, usage: USAGE });
  try {
    for (let k = 1; k <= steps; k++) {
      cpu.grad = values(count, 0.1);
      device.queue.writeBuffer(gradBuffer, 0, cpu.grad as Float32Array<ArrayBuffer>);
      const encoder = device.createCommandEncoder({ label: 'optimizer test' });
      const pass = encoder.beginComputePass({ label: 'optimizer test' });
      const transients = step(device, pass, { ...buffers, grad: gradBuffer }, cpu, k);
      pass.end();
      device.queue.submit([encoder.finish()]);
      transients.destroy();
    }
    const gpu: State = {};
    for (const name of names) gpu[name] = new Float32Array(await readBuffer(device, buffers[name], count * 4));
    return { gpu, cpu };
  } finally {
    for (const buffer of [...Object.values(buffers), gradBuffer]) buffer.destroy();
  }
}

/** Max |a - e| / |e|, absolute below 1e-3 of the tensor's largest magnitude (values that cancelled to near 0). */
function maxRelativeError(actual: Float32Array, expected: Float32Array): number {
  const floor = 1e-3 * expected.reduce((m, x) => Math.max(m, Math.abs(x)), 0) || 1e-30;
  let max = 0;
  for (let i = 0; i < expected.length; i++) {
    const error = Math.abs(actual[i] - expected[i]) / Math.max(Math.abs(expected[i]), floor);
    max = Number.isNaN(error) ? Infinity : Math.max(max, error);
  }
  return max;
}

const worst: Record<string, number> = {};
function expectClose(kind: string, { gpu, cpu }: { gpu: State; cpu: State }) {
  for (const name of Object.keys(gpu)) {
    const error = maxRelativeError(gpu[name], cpu[name]);
    worst[kind] = Math.max(worst[kind] ?? 0, error);
    expect(error, `${kind} ${name}, seed ${seed}`).toBeLessThan(1e-5);
  }
}
afterAll(() => console.log(`optimizer: max relative error GPU vs CPU ${JSON.stringify(worst)} (seed ${seed})`));

gpuDescribe('optimizer steps on the GPU equal their CPU references', ({ device }) => {
  const sgdCases = [1, 1000, 100_003].flatMap((count) =>
    [
      { momentum: 0.9, nesterov: false, weightDecay: 0 },
      { momentum: 0.9, nesterov: true, weightDecay: 0.01 },
      { momentum: 0, nesterov: false, weightDecay: 0.1 },
    ].map((o) => ({ count, ...o })),
  );
  test.each(sgdCases)('SGD: 5 steps of $count params, momentum $momentum, nesterov $nesterov, weight decay $weightDecay', async ({ count, ...o }) => {
    const result = await run(device, count, ['param', 'velocity'], 5, (device, pass, b, cpu, k) => {
      const hyper: Hyper<SgdArgs<unknown>> = { ...o, lr: 0.1 / k }; // a schedule: lr changes every step
      sgdRef({ param: cpu.param, grad: cpu.grad, velocity: cpu.velocity, count, ...hyper });
      return encodeSgd(device, pass, { param: b.param, grad: b.grad, velocity: b.velocity, count, ...hyper });
    });
    expectClose('sgd', result);
  });

  const adamCases = [1, 1000, 100_003].flatMap((count) => [0, 0.05].map((weightDecay) => ({ count, weightDecay })));
  test.each(adamCases)('Adam: 6 steps of $count params, weight decay $weightDecay', async ({ count, weightDecay }) => {
    const result = await run(device, count, ['param', 'm', 'v'], 6, (device, pass, b, cpu, step) => {
      const hyper: Hyper<AdamArgs<unknown>> = { lr: 0.01 * 0.9 ** step, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay, step };
      adamRef({ param: cpu.param, grad: cpu.grad, m: cpu.m, v: cpu.v, count, ...hyper });
      return encodeAdam(device, pass, { param: b.param, grad: b.grad, m: b.m, v: b.v, count, ...hyper });
    });
    expectClose('adam', result);
  });

  test('Adam: one step from m = v = 0 moves each param by about lr * sign(g)', async () => {
    const { gpu, cpu } = await run(device, 4096, ['param', 'm', 'v'], 1, (device, pass, b, cpu) => {
      cpu.before = cpu.param.slice();
      return encodeAdam(device, pass, { param: b.param, grad: b.grad, m: b.m, v: b.v, count: 4096, lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 1 });
    });
    // g / (|g| + eps) is sign(g) to 1e-4 once |g| >= 1e-4; smaller gradients move less, never more.
    const moved = [...gpu.param].map((p, i) => (cpu.before[i] - p) / 0.01 / Math.sign(cpu.grad[i]));
    const large = moved.filter((_, i) => Math.abs(cpu.grad[i]) >= 1e-4);
    expect(large.length).toBeGreaterThan(4000);
    expect(Math.min(...large), `seed ${seed}`).toBeGreaterThan(0.999);
    expect(Math.max(...moved), `seed ${seed}`).toBeLessThan(1.001);
    expect(Math.min(...moved), `seed ${seed}`).toBeGreaterThan(-0.001);
  });

  test('SGD: more than 65535 workgroups of 256 wrap into a second grid dimension', async () => {
    const count = 65_535 * 256 + 1000;
    const result = await run(device, count, ['param', 'velocity'], 1, (device, pass, b, cpu) => {
      sgdRef({ param: cpu.param, grad: cpu.grad, velocity: cpu.velocity, count, lr: 0.1, momentum: 0.9 });
      return encodeSgd(device, pass, { param: b.param, grad: b.grad, velocity: b.velocity, count, lr: 0.1, momentum: 0.9 });
    });
    expectClose('sgd', result);
  });

  test('bad arguments are EdgelakeErrors before anything is recorded', () => {
    const { STORAGE, COPY_DST } = GPUBufferUsage;
    const buffer = (label: string, size = 16, usage = STORAGE) => device.createBuffer({ label, size, usage });
    const [param, grad, velocity, m, v, small, mapped] = [
      buffer('param'), buffer('grad'), buffer('velocity'), buffer('m'), buffer('v'), buffer('small', 8), buffer('not storage', 64, COPY_DST),
    ];
    const encoder = device.createCommandEncoder({ label: 'bad arguments' });
    const pass = encoder.beginComputePass({ label: 'bad arguments' });
    const sgd: SgdArgs<GPUBuffer> = { param, grad, velocity, count: 4, lr: 0.1, momentum: 0.9 };
    const sgdBad: Partial<SgdArgs<GPUBuffer>>[] = [
      { count: 5 }, { velocity: small }, { grad: mapped }, { velocity: param }, { lr: -1 }, { momentum: 0, nesterov: true },
    ];
    for (const change of sgdBad) {
      expect(() => encodeSgd(device, pass, { ...sgd, ...change }), Object.keys(change).join()).toThrow(expect.objectContaining({ code: 'invalid-input' }));
    }
    const adam: AdamArgs<GPUBuffer> = { param, grad, m, v, count: 4, lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 1 };
    const adamBad: Partial<AdamArgs<GPUBuffer>>[] = [
      { step: 0 }, { step: 2.5 }, { beta1: 1 }, { beta2: 1.5 }, { eps: NaN }, { m: small }, { v: m }, { count: -4 },
    ];
    for (const change of adamBad) {
      expect(() => encodeAdam(device, pass, { ...adam, ...change }), Object.keys(change).join()).toThrow(expect.objectContaining({ code: 'invalid-input' }));
    }
    pass.end();
    encoder.finish(); // nothing was recorded, so the pass is valid
    for (const b of [param, grad, velocity, m, v, small, mapped]) b.destroy();
  });
});
