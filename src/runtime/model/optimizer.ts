import { EdgelakeError } from '../../errors.js';
import type { Backend, Tensor } from './backend.js';
import type { Param } from './layers.js';

/**
 * 'adam': Adam with decoupled weight decay, i.e. AdamW (torch.optim.AdamW; weightDecay 0, plain
 * Adam, by default); beta1 0.9, beta2 0.999, eps 1e-8. 'sgd': SGD with momentum 0.9 by default
 * (PyTorch's default is 0), weightDecay an L2 term added to the gradient, nesterov off.
 */
export type OptimizerSpec =
  | { type: 'adam'; lr: number; beta1?: number; beta2?: number; eps?: number; weightDecay?: number }
  | { type: 'sgd'; lr: number; momentum?: number; weightDecay?: number; nesterov?: boolean };

/** The spec with every default filled in: one place for them, so specs that differ only in spelling compare equal. */
export function withDefaults(spec: OptimizerSpec): Required<Extract<OptimizerSpec, { type: 'adam' }>> | Required<Extract<OptimizerSpec, { type: 'sgd' }>> {
  if (spec.type === 'adam') return { type: 'adam', lr: spec.lr, beta1: spec.beta1 ?? 0.9, beta2: spec.beta2 ?? 0.999, eps: spec.eps ?? 1e-8, weightDecay: spec.weightDecay ?? 0 };
  return { type: 'sgd', lr: spec.lr, momentum: spec.momentum ?? 0.9, weightDecay: spec.weightDecay ?? 0, nesterov: spec.nesterov ?? false };
}

/** Whether two specs train alike but for the learning rate: a new lr keeps the optimizer's state, as setting a param group's lr in PyTorch does. */
export function sameButLr(a: OptimizerSpec, b: OptimizerSpec): boolean {
  const rest = (s: OptimizerSpec) => JSON.stringify({ ...withDefaults(s), lr: 0 });
  return rest(a) === rest(b);
}

/** The spec a fit runs with: `optimizer` (Adam by default), its lr given by `lr` first (default 1e-3 for Adam, 0.05 for SGD). */
export function fitOptimizerSpec(lr: number | undefined, optimizer: Partial<OptimizerSpec> = {}): OptimizerSpec {
  const spec = { ...optimizer, type: optimizer.type ?? 'adam' } as OptimizerSpec;
  spec.lr = lr ?? spec.lr ?? (spec.type === 'sgd' ? 0.05 : 1e-3);
  if (!(spec.lr > 0)) throw new EdgelakeError('invalid-input', `optimizer: lr must be > 0, got ${spec.lr}`);
  return spec;
}

/**
 * An optimizer's state beside the model's params (Adam's m and v, SGD's velocity) and its step
 * count: all of it is saved with the weights, so training resumes exactly.
 */
export class Optimizer {
  /** Per param, its state tensors by name ('m', 'v' or 'velocity'). */
  readonly state = new Map<string, Record<string, Tensor>>();
  step = 0;

  constructor(readonly spec: OptimizerSpec, private readonly backend: Backend, params: Param[]) {
    if (!(spec.lr > 0)) throw new EdgelakeError('invalid-input', `optimizer: lr must be > 0, got ${spec.lr}`);
    const names = spec.type === 'adam' ? ['m', 'v'] : spec.type === 'sgd' ? ['velocity'] : undefined;
    if (!names) throw new EdgelakeError('invalid-input', `optimizer: unknown type ${JSON.stringify((spec as { type: unknown }).type)} (adam or sgd)`);
    for (const p of params) {
      const size = p.shape.reduce((a, b) => a * b, 1);
      this.state.set(p.name, Object.fromEntries(names.map((k) => [k, backend.create(size, `${p.name} ${k}`)])));
    }
  }

  /** Records one update of every param from its grad. */
  apply(params: Param[], lr = this.spec.lr): void {
    this.step++;
    const spec = withDefaults(this.spec);
    for (const p of params) {
      const s = this.state.get(p.name)!;
      const count = p.value.size;
      if (spec.type === 'adam') {
        const { beta1, beta2, eps, weightDecay } = spec;
        this.backend.run('adam', { param: p.value, grad: p.grad, m: s.m, v: s.v, count, lr, beta1, beta2, eps, weightDecay, step: this.step });
      } else {
        const { momentum, weightDecay, nesterov } = spec;
        this.backend.run('sgd', { param: p.value, grad: p.grad, velocity: s.velocity, count, lr, momentum, weightDecay, nesterov });
      }
    }
  }

  destroy(): void {
    for (const s of this.state.values()) for (const t of Object.values(s)) this.backend.destroy(t);
  }
}
