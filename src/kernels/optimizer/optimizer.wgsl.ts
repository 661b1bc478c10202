import { shaderHeader } from '../shader.js';

/**
 * Optimizer steps, one invocation per parameter, updating the parameter and its state in place.
 * The hyper-parameters come in a uniform buffer, not as override constants, because they change
 * every step (lr schedules, Adam's bias corrections), and a new pipeline per step would be slow.
 * The float32 operations are those of optimizer.ref.ts, in the same order.
 */

/** SGD with momentum (and optionally Nesterov), weight decay added to the gradient (torch.optim.SGD). */
export const sgdWgsl = /* wgsl */ `
${shaderHeader({
  workgroupSize: 256,
  params: ['count: u32', 'nesterov: u32', 'lr: f32', 'momentum: f32', 'weightDecay: f32'],
  bindings: { 1: ['read_write param: array<f32>', 'read grad: array<f32>', 'read_write velocity: array<f32>'] },
})}
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = invocationIndex(id, groups);
  if (i >= params.count) {
    return;
  }
  let p = param[i];
  let g = grad[i] + params.weightDecay * p;
  let v = params.momentum * velocity[i] + g;
  var update = v;
  if (params.nesterov != 0u) {
    update = g + params.momentum * v;
  }
  velocity[i] = v;
  param[i] = p - params.lr * update;
}
`;

/** AdamW (torch.optim.AdamW): decoupled weight decay, bias corrections folded on the CPU. */
export const adamWgsl = /* wgsl */ `
${shaderHeader({
  workgroupSize: 256,
  params: [
    'count: u32',
    'decay: f32 // 1 - lr * weightDecay',
    'beta1: f32',
    'oneMinusBeta1: f32',
    'beta2: f32',
    'oneMinusBeta2: f32',
    'stepSize: f32 // lr / (1 - beta1^step)',
    'invSqrtBias2: f32 // 1 / sqrt(1 - beta2^step)',
    'eps: f32',
  ],
  bindings: {
    1: ['read_write param: array<f32>', 'read grad: array<f32>', 'read_write m: array<f32>', 'read_write v: array<f32>'],
  },
})}
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = invocationIndex(id, groups);
  if (i >= params.count) {
    return;
  }
  let g = grad[i];
  let mi = params.beta1 * m[i] + params.oneMinusBeta1 * g;
  let vi = params.beta2 * v[i] + params.oneMinusBeta2 * (g * g);
  let denom = sqrt(vi) * params.invSqrtBias2 + params.eps;
  m[i] = mi;
  v[i] = vi;
  param[i] = param[i] * params.decay - params.stepSize * (mi / denom);
}
`;
