import { EdgelakeError } from '../../errors.js';

/**
 * SGD with momentum, as torch.optim.SGD (dampening 0): g = grad + weightDecay * param;
 * velocity = momentum * velocity + g; param -= lr * (nesterov ? g + momentum * velocity : velocity).
 * `count` float32 elements of each buffer; param and velocity are updated in place.
 */
export interface SgdArgs<B> {
  param: B;
  grad: B;
  /** Zeros before the first step. */
  velocity: B;
  count: number;
  lr: number;
  momentum: number;
  /** L2 penalty added to the gradient (coupled); 0 by default. */
  weightDecay?: number;
  nesterov?: boolean;
}

/**
 * AdamW, as torch.optim.AdamW: param *= 1 - lr * weightDecay; m = beta1 m + (1 - beta1) g;
 * v = beta2 v + (1 - beta2) g^2; param -= lr * mhat / (sqrt(vhat) + eps), with mhat and vhat the
 * bias-corrected moments of step `step` (1 on the first call). param, m and v update in place.
 */
export interface AdamArgs<B> {
  param: B;
  grad: B;
  /** First and second moments: zeros before step 1. */
  m: B;
  v: B;
  count: number;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled weight decay; 0 (plain Adam) by default. */
  weightDecay?: number;
  step: number;
}

/** The float32 scalars the SGD shader reads, validated. */
export interface SgdPlan { count: number; lr: number; momentum: number; weightDecay: number; nesterov: boolean }

/** The float32 scalars the Adam shader reads, with the step's terms folded in float64 first. */
export interface AdamPlan {
  count: number;
  /** 1 - lr * weightDecay */
  decay: number;
  beta1: number;
  oneMinusBeta1: number;
  beta2: number;
  oneMinusBeta2: number;
  /** lr / (1 - beta1^step): mhat's correction folded into the step size, as PyTorch does. */
  stepSize: number;
  /** 1 / sqrt(1 - beta2^step): sqrt(vhat) = sqrt(v) * invSqrtBias2. */
  invSqrtBias2: number;
  eps: number;
}

const f32 = Math.fround;

function failer(kernel: string): (why: string) => never {
  return (why) => {
    throw new EdgelakeError('invalid-input', `${kernel}: ${why}`);
  };
}

// Each value finite and in [0, below).
function checkScalars(kernel: string, values: Record<string, number>, below = Infinity): void {
  for (const [name, x] of Object.entries(values)) {
    if (!(x >= 0 && x < below && Number.isFinite(x))) {
      failer(kernel)(`${name} must be finite and in [0, ${below === Infinity ? 'inf' : below}), got ${x}`);
    }
  }
}

function checkCount(kernel: string, count: number): void {
  if (!Number.isInteger(count) || count < 0) failer(kernel)(`count must be a non-negative integer, got ${count}`);
}

/** Checks SGD's arguments (not its buffers) and rounds its scalars to float32. */
export function sgdPlan(a: SgdArgs<unknown>): SgdPlan {
  const weightDecay = a.weightDecay ?? 0;
  checkCount('sgd', a.count);
  checkScalars('sgd', { lr: a.lr, momentum: a.momentum, weightDecay });
  // PyTorch refuses it too: without momentum Nesterov's look-ahead is undefined.
  if (a.nesterov && a.momentum === 0) failer('sgd')('nesterov needs a momentum > 0');
  return { count: a.count, lr: f32(a.lr), momentum: f32(a.momentum), weightDecay: f32(weightDecay), nesterov: a.nesterov ?? false };
}

/** Checks Adam's arguments (not its buffers); folds the bias corrections of `step`. */
export function adamPlan(a: AdamArgs<unknown>): AdamPlan {
  const weightDecay = a.weightDecay ?? 0;
  checkCount('adam', a.count);
  checkScalars('adam', { lr: a.lr, weightDecay, eps: a.eps });
  checkScalars('adam', { beta1: a.beta1, beta2: a.beta2 }, 1);
  if (!Number.isInteger(a.step) || a.step < 1) failer('adam')(`step must be an integer >= 1 (1 on the first update), got ${a.step}`);
  // Float64 here, rounded once: beta^step for large steps would lose bits in float32 on the GPU.
  const stepSize = f32(a.lr / (1 - a.beta1 ** a.step));
  const invSqrtBias2 = f32(1 / Math.sqrt(1 - a.beta2 ** a.step));
  if (!Number.isFinite(stepSize) || !Number.isFinite(invSqrtBias2)) {
    failer('adam')(`the bias corrections of step ${a.step} overflow float32 (beta1 ${a.beta1}, beta2 ${a.beta2})`);
  }
  return {
    count: a.count,
    decay: f32(1 - a.lr * weightDecay),
    beta1: f32(a.beta1),
    oneMinusBeta1: f32(1 - a.beta1),
    beta2: f32(a.beta2),
    oneMinusBeta2: f32(1 - a.beta2),
    stepSize,
    invSqrtBias2,
    eps: f32(a.eps),
  };
}

function checkArrays(kernel: string, count: number, arrays: Record<string, Float32Array>): void {
  for (const [name, array] of Object.entries(arrays)) {
    if (array.length < count) failer(kernel)(`${name} holds ${array.length} elements, count is ${count}`);
  }
}

/**
 * CPU reference of the SGD kernel (optimizer.wgsl.ts): float32 operations in the shader's order,
 * each rounded once, so only a GPU that fuses multiply-adds differs (by an ulp or so).
 */
export function sgdRef(a: SgdArgs<Float32Array>): void {
  const { count, lr, momentum, weightDecay, nesterov } = sgdPlan(a);
  const { param, grad, velocity } = a;
  checkArrays('sgd', count, { param, grad, velocity });
  for (let i = 0; i < count; i++) {
    const p = param[i];
    const g = f32(grad[i] + f32(weightDecay * p));
    const v = f32(f32(momentum * velocity[i]) + g);
    const update = nesterov ? f32(g + f32(momentum * v)) : v;
    velocity[i] = v;
    param[i] = f32(p - f32(lr * update));
  }
}

/** CPU reference of the Adam(W) kernel, float32 operations in the shader's order. */
export function adamRef(a: AdamArgs<Float32Array>): void {
  const { count, decay, beta1, oneMinusBeta1, beta2, oneMinusBeta2, stepSize, invSqrtBias2, eps } = adamPlan(a);
  const { param, grad, m, v } = a;
  checkArrays('adam', count, { param, grad, m, v });
  for (let i = 0; i < count; i++) {
    const g = grad[i];
    const mi = f32(f32(beta1 * m[i]) + f32(oneMinusBeta1 * g));
    const vi = f32(f32(beta2 * v[i]) + f32(oneMinusBeta2 * f32(g * g)));
    // sqrt of a float32 in float64, rounded to float32, is the correctly rounded float32 sqrt.
    const denom = f32(f32(f32(Math.sqrt(vi)) * invSqrtBias2) + eps);
    m[i] = mi;
    v[i] = vi;
    param[i] = f32(f32(param[i] * decay) - f32(stepSize * f32(mi / denom)));
  }
}
