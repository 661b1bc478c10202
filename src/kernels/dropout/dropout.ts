import { assertDeviceAlive, cachedBindGroup, computePipeline, paramsBindGroup, storageBinding, Transients, workgroupGrid } from '../pipelines.js';
import { dropoutPlan, type DropoutArgs, type DropoutBackwardArgs, type DropoutKey } from './dropout.ref.js';
import { dropoutInPlaceWgsl, dropoutWgsl } from './dropout.wgsl.js';

const WORKGROUP_SIZE = 256;

/**
 * Records dropout of `count` float32 elements into `pass` (the caller submits): output = keep ?
 * input / (1 - rate) : 0, the mask drawn from the key (dropoutRef is the CPU twin). `input` may
 * be `output`. The parameter buffer goes to `transients`: destroy it after submitting.
 */
export function encodeDropout(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  a: DropoutArgs<GPUBuffer>,
  transients: Transients = new Transients(),
): Transients {
  return encode(device, pass, 'dropout', a, ['input', a.input], ['output', a.output], transients);
}

/**
 * Records the dropout backward pass: gradInput = keep ? gradOutput / (1 - rate) : 0 with the
 * forward pass's key and rate, so the same elements are kept. `gradOutput` may be `gradInput`.
 */
export function encodeDropoutBackward(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  a: DropoutBackwardArgs<GPUBuffer>,
  transients: Transients = new Transients(),
): Transients {
  return encode(device, pass, 'dropoutBackward', a, ['gradOutput', a.gradOutput], ['gradInput', a.gradInput], transients);
}

function encode(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  kernel: string,
  a: DropoutKey & { count: number; rate: number },
  [fromName, from]: [string, GPUBuffer],
  [toName, to]: [string, GPUBuffer],
  transients: Transients,
): Transients {
  assertDeviceAlive(device, kernel);
  const { count, threshold, scale } = dropoutPlan(kernel, a);
  if (count === 0) return transients;
  const source = storageBinding(device, kernel, fromName, from, count, `${count} elements`);
  const target = storageBinding(device, kernel, toName, to, count, `${count} elements`);
  const inPlace = from === to;
  const pipeline = computePipeline(device, {
    label: inPlace ? 'dropout-in-place' : 'dropout',
    code: inPlace ? dropoutInPlaceWgsl : dropoutWgsl,
    constants: { WORKGROUP_SIZE },
  });
  const params = new ArrayBuffer(32);
  new Uint32Array(params, 0, 4).set([count, a.seed, a.stream, a.step]);
  new Float32Array(params, 16, 2).set([threshold, scale]);
  const parameters = paramsBindGroup(device, transients, pipeline, kernel, new Uint8Array(params));
  // Activations and gradients are the same buffers step after step: cached.
  const buffers = inPlace ? [target] : [source, target];
  const label = inPlace ? `${kernel} ${to.label} in place` : `${kernel} ${from.label} -> ${to.label}`;
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, parameters);
  pass.setBindGroup(1, cachedBindGroup(device, pipeline, 1, label, buffers));
  pass.dispatchWorkgroups(...workgroupGrid(device, Math.ceil(count / WORKGROUP_SIZE)));
  return transients;
}
