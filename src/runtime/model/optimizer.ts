import { EdgelakeError } from '../../errors.js';
import type { Backend, Tensor } from './backend.js';
import type { Param } from './layers.js';

export type OptimizerSpec =
  | { type: 'adam'; lr: number; beta1?: number; beta2?: number; eps?: number; weightDecay?: number }
  | { type: 'sgd'; lr: number; momentum?: number; weightDecay?: number; nesterov?: boolean };

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
    for (const p of params) {
      const s = this.state.get(p.name)!;
      const count = p.value.size;
      if (this.spec.type === 'adam') {
        const { beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0 } = this.spec;
        this.backend.run('adam', { param: p.value, grad: p.grad, m: s.m, v: s.v, count, lr, beta1, beta2, eps, weightDecay, step: this.step });
      } else {
        const { momentum = 0.9, weightDecay = 0, nesterov = false } = this.spec;
        this.backend.run('sgd', { param: p.value, grad: p.grad, velocity: s.velocity, count, lr, momentum, weightDecay, nesterov });
      }
    }
  }

  destroy(): void {
    for (const s of this.state.values()) for (const t of Object.values(s)) this.backend.destroy(t);
  }
}
