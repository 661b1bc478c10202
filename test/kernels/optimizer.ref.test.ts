import { describe, expect, test } from 'vitest';
import { failure } from '../support/errors.js';
import { mulberry32 } from '../support/random.js';
import { type AdamArgs, adamRef, type SgdArgs, sgdRef } from '../../src/kernels/index.js';

// A new seed each run; EDGELAKE_SEED=<n> replays a failure.
const seed = Number(process.env.EDGELAKE_SEED ?? Date.now() % 2 ** 32);
const random = mulberry32(seed);
const values = (count: number, scale = 1) => Float32Array.from({ length: count }, () => (random() - 0.5) * 2 * scale);
const near = (actual: Float32Array, expected: number[], digits = 6) => expected.forEach((e, i) => expect(actual[i]).toBeCloseTo(e, digits));

/** The textbook formulas of the brief in float64, one step: an independent check of the float32 kernels. */
function adamTextbook(p: number[], g: number[], m: number[], v: number[], o: Omit<AdamArgs<unknown>, 'param' | 'grad' | 'm' | 'v' | 'count'>) {
  const wd = o.weightDecay ?? 0;
  for (let i = 0; i < p.length; i++) {
    p[i] *= 1 - o.lr * wd;
    m[i] = o.beta1 * m[i] + (1 - o.beta1) * g[i];
    v[i] = o.beta2 * v[i] + (1 - o.beta2) * g[i] * g[i];
    const mhat = m[i] / (1 - o.beta1 ** o.step);
    const vhat = v[i] / (1 - o.beta2 ** o.step);
    p[i] -= (o.lr * mhat) / (Math.sqrt(vhat) + o.eps);
  }
}

function sgdTextbook(p: number[], g: number[], vel: number[], o: Omit<SgdArgs<unknown>, 'param' | 'grad' | 'velocity' | 'count'>) {
  for (let i = 0; i < p.length; i++) {
    const gi = g[i] + (o.weightDecay ?? 0) * p[i];
    vel[i] = o.momentum * vel[i] + gi;
    p[i] -= o.lr * (o.nesterov ? gi + o.momentum * vel[i] : vel[i]);
  }
}

// Relative error, absolute below `floor`: params near 0 carry the rounding of their larger past values.
const maxRelative = (a: Float32Array, e: number[], floor = 0.1) => Math.max(...e.map((x, i) => Math.abs(a[i] - x) / Math.max(Math.abs(x), floor)));

describe('SGD CPU reference', () => {
  test('two momentum steps by hand', () => {
    const [param, grad, velocity] = [Float32Array.of(1, -2), Float32Array.of(0.5, 0.25), new Float32Array(2)];
    const args = { param, grad, velocity, count: 2, lr: 0.1, momentum: 0.9 };
    sgdRef(args);
    near(velocity, [0.5, 0.25]); // the first step's velocity is the gradient
    near(param, [0.95, -2.025]);
    sgdRef(args);
    near(velocity, [0.95, 0.475]);
    near(param, [0.855, -2.0725]);
  });

  test('nesterov looks ahead: the first step moves by lr * (1 + momentum) * g', () => {
    const [param, velocity] = [Float32Array.of(1, -2), new Float32Array(2)];
    sgdRef({ param, grad: Float32Array.of(0.5, 0.25), velocity, count: 2, lr: 0.1, momentum: 0.9, nesterov: true });
    near(param, [1 - 0.1 * 1.9 * 0.5, -2 - 0.1 * 1.9 * 0.25]);
  });

  test('weight decay adds weightDecay * param to the gradient; momentum 0 is plain SGD', () => {
    const param = Float32Array.of(1, -2);
    sgdRef({ param, grad: Float32Array.of(0.5, 0.25), velocity: new Float32Array(2), count: 2, lr: 0.1, momentum: 0, weightDecay: 0.1 });
    near(param, [1 - 0.1 * 0.6, -2 - 0.1 * 0.05]);
  });

  test.each([false, true])('ten random steps follow the float64 formulas (nesterov %s)', (nesterov) => {
    const n = 500;
    const [param, velocity] = [values(n), new Float32Array(n)];
    const [p, vel] = [[...param], new Array<number>(n).fill(0)];
    for (let step = 0; step < 10; step++) {
      const grad = values(n);
      const o = { lr: 0.05 * (1 - step / 20), momentum: 0.9, weightDecay: 0.01, nesterov };
      sgdRef({ param, grad, velocity, count: n, ...o });
      sgdTextbook(p, [...grad], vel, o);
    }
    expect(maxRelative(param, p), `seed ${seed}`).toBeLessThan(1e-5);
  });
});

describe('Adam CPU reference', () => {
  const hyper = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8 };

  test('the first step from m = v = 0 moves each param by lr * sign(g)', () => {
    const param = Float32Array.of(1, -2, 0.5, 3);
    const grad = Float32Array.of(0.5, -0.001, 30, -4);
    adamRef({ param, grad, m: new Float32Array(4), v: new Float32Array(4), count: 4, ...hyper, step: 1 });
    near(param, [0.99, -1.99, 0.49, 3.01]);
  });

  test('weight decay is decoupled: param *= 1 - lr * weightDecay before the Adam step', () => {
    const param = Float32Array.of(1, -2);
    adamRef({ param, grad: Float32Array.of(0.5, 0), m: new Float32Array(2), v: new Float32Array(2), count: 2, ...hyper, weightDecay: 0.1, step: 1 });
    near(param, [1 * (1 - 0.001) - 0.01, -2 * (1 - 0.001)]); // a zero gradient moves only by the decay
  });

  test('twenty random steps follow the float64 formulas, with and without weight decay', () => {
    const n = 500;
    for (const weightDecay of [0, 0.05]) {
      const [param, m, v] = [values(n), new Float32Array(n), new Float32Array(n)];
      const [p, mm, vv] = [[...param], new Array<number>(n).fill(0), new Array<number>(n).fill(0)];
      for (let step = 1; step <= 20; step++) {
        const grad = values(n, 0.1);
        const o = { ...hyper, lr: 0.01 / step, weightDecay, step };
        adamRef({ param, grad, m, v, count: n, ...o });
        adamTextbook(p, [...grad], mm, vv, o);
      }
      expect(maxRelative(param, p), `weight decay ${weightDecay}, seed ${seed}`).toBeLessThan(1e-5);
      expect(maxRelative(m, mm, 1e-3), `seed ${seed}`).toBeLessThan(1e-5);
    }
  });
});

test('bad optimizer arguments are EdgelakeErrors', () => {
  const a = () => new Float32Array(4);
  const sgd: SgdArgs<Float32Array> = { param: a(), grad: a(), velocity: a(), count: 4, lr: 0.1, momentum: 0.9 };
  expect(failure(() => sgdRef({ ...sgd, momentum: 0, nesterov: true }))).toBe('invalid-input: sgd: nesterov needs a momentum > 0');
  expect(failure(() => sgdRef({ ...sgd, lr: -1 }))).toMatch(/^invalid-input: sgd: lr must be finite/);
  expect(failure(() => sgdRef({ ...sgd, weightDecay: NaN }))).toMatch(/weightDecay/);
  expect(failure(() => sgdRef({ ...sgd, count: 5 }))).toMatch(/param holds 4 elements, count is 5/);
  const adam: AdamArgs<Float32Array> = { param: a(), grad: a(), m: a(), v: a(), count: 4, lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 1 };
  expect(failure(() => adamRef({ ...adam, step: 0 }))).toMatch(/^invalid-input: adam: step must be an integer >= 1/);
  expect(failure(() => adamRef({ ...adam, step: 1.5 }))).toMatch(/step/);
  expect(failure(() => adamRef({ ...adam, beta1: 1 }))).toMatch(/beta1 must be finite and in \[0, 1\)/);
  expect(failure(() => adamRef({ ...adam, beta2: -0.1 }))).toMatch(/beta2/);
  expect(failure(() => adamRef({ ...adam, eps: -1 }))).toMatch(/eps/);
  expect(failure(() => adamRef({ ...adam, count: -1 }))).toMatch(/count must be a non-negative integer/);
});
