import { EdgelakeError } from '../../errors.js';
import { assertDeviceAlive, cachedBindGroup, computePipeline, paramsBindGroup, storageBinding, Transients, workgroupGrid } from '../pipelines.js';
import { adamPlan, sgdPlan, type AdamArgs, type SgdArgs } from './optimizer.ref.js';
import { adamWgsl, sgdWgsl } from './optimizer.wgsl.js';

const WORKGROUP_SIZE = 256;

/**
 * Records one SGD step over `count` parameters into `pass` (the caller submits); param and
 * velocity are updated in place. sgdRef is the CPU twin. The parameter buffer goes to
 * `transients`: destroy it after submitting.
 */
export function encodeSgd(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  a: SgdArgs<GPUBuffer>,
  transients: Transients = new Transients(),
): Transients {
  assertDeviceAlive(device, 'sgd');
  const plan = sgdPlan(a);
  const params = new ArrayBuffer(32);
  new Uint32Array(params, 0, 2).set([plan.count, plan.nesterov ? 1 : 0]);
  new Float32Array(params, 8, 3).set([plan.lr, plan.momentum, plan.weightDecay]);
  const buffers = { param: a.param, grad: a.grad, velocity: a.velocity };
  return encode(device, pass, 'sgd', sgdWgsl, plan.count, params, buffers, transients);
}

/**
 * Records one AdamW step (`step` counts from 1) over `count` parameters into `pass`; param, m and
 * v are updated in place. adamRef is the CPU twin.
 */
export function encodeAdam(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  a: AdamArgs<GPUBuffer>,
  transients: Transients = new Transients(),
): Transients {
  assertDeviceAlive(device, 'adam');
  const p = adamPlan(a);
  const params = new ArrayBuffer(48);
  new Uint32Array(params, 0, 1).set([p.count]);
  new Float32Array(params, 4, 8).set([p.decay, p.beta1, p.oneMinusBeta1, p.beta2, p.oneMinusBeta2, p.stepSize, p.invSqrtBias2, p.eps]);
  return encode(device, pass, 'adam', adamWgsl, p.count, params, { param: a.param, grad: a.grad, m: a.m, v: a.v }, transients);
}

function encode(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  kernel: string,
  code: string,
  count: number,
  params: ArrayBuffer,
  buffers: Record<string, GPUBuffer>,
  transients: Transients,
): Transients {
  if (count === 0) return transients;
  const entries = Object.entries(buffers);
  const bindings = entries.map(([name, buffer]) => storageBinding(device, kernel, name, buffer, count, `${count} parameters`));
  // WebGPU rejects a buffer bound twice in one dispatch when either binding writes it.
  entries.forEach(([name, buffer], i) => {
    const other = entries.findIndex(([, b]) => b === buffer);
    if (other !== i) throw new EdgelakeError('invalid-input', `${kernel}: ${entries[other][0]} and ${name} are the same buffer '${buffer.label}'`);
  });
  const pipeline = computePipeline(device, { label: kernel, code, constants: { WORKGROUP_SIZE } });
  const parameters = paramsBindGroup(device, transients, pipeline, kernel, new Uint8Array(params));
  // The same parameter and state buffers come back every step: cached.
  const label = `${kernel} ${entries.map(([, b]) => b.label).join(', ')}`;
  const data = cachedBindGroup(device, pipeline, 1, label, bindings);
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, parameters);
  pass.setBindGroup(1, data);
  pass.dispatchWorkgroups(...workgroupGrid(device, Math.ceil(count / WORKGROUP_SIZE)));
  return transients;
}
