import { EdgelakeError } from '../../errors.js';
import { assertDeviceAlive, cachedBindGroup, computePipeline, paramsBindGroup, storageBinding, Transients, workgroupGrid } from '../pipelines.js';
import { poolPlan, type MaxPoolArgs, type MaxPoolBackwardArgs, type PoolPlan } from './pool.ref.js';
import { maxPoolBackwardWgsl, maxPoolWgsl } from './pool.wgsl.js';

const WORKGROUP_SIZE = 64;

/**
 * Records max pooling into `pass`: output = each window's maximum, argmax = the flat index into
 * `input` (u32) of its first occurrence. The caller submits, then destroys the returned transients.
 */
export function encodeMaxPool(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  args: MaxPoolArgs<GPUBuffer, GPUBuffer>,
  transients: Transients = new Transients(),
): Transients {
  const kernel = 'maxpool';
  assertDeviceAlive(device, kernel);
  const p = poolPlan(args, kernel);
  checkIndexable(kernel, p);
  const input = storageBinding(device, kernel, 'input', args.input, p.inputSize);
  const output = storageBinding(device, kernel, 'output', args.output, p.outputSize);
  const argmax = storageBinding(device, kernel, 'argmax', args.argmax, p.outputSize);
  checkDistinct(kernel, [input, output, argmax]);
  const pipeline = computePipeline(device, {
    label: kernel,
    code: maxPoolWgsl,
    constants: { WORKGROUP_SIZE, SIZE: p.size, STRIDE: p.stride },
  });
  record(device, pass, transients, pipeline, kernel, p, p.outputSize, [input, output, argmax]);
  return transients;
}

/**
 * Records gradInput = the gradient of max pooling (zeros, plus gradOutput at each argmax, summed
 * where windows overlap), overwriting gradInput; race-free, so deterministic.
 */
export function encodeMaxPoolBackward(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  args: MaxPoolBackwardArgs<GPUBuffer, GPUBuffer>,
  transients: Transients = new Transients(),
): Transients {
  const kernel = 'maxpool backward';
  assertDeviceAlive(device, kernel);
  const p = poolPlan(args, kernel);
  checkIndexable(kernel, p);
  const gradOutput = storageBinding(device, kernel, 'gradOutput', args.gradOutput, p.outputSize);
  const argmax = storageBinding(device, kernel, 'argmax', args.argmax, p.outputSize);
  const gradInput = storageBinding(device, kernel, 'gradInput', args.gradInput, p.inputSize);
  checkDistinct(kernel, [gradOutput, argmax, gradInput]);
  // Disjoint windows: one invocation per output writes its cell; overlapping ones gather per input.
  const cells = p.stride >= p.size;
  const pipeline = computePipeline(device, {
    label: `${kernel} ${cells ? 'cells' : 'gather'}`,
    code: maxPoolBackwardWgsl,
    entryPoint: cells ? 'cells' : 'gather',
    constants: { WORKGROUP_SIZE, SIZE: p.size, STRIDE: p.stride },
  });
  record(device, pass, transients, pipeline, kernel, p, cells ? p.outputSize : p.inputSize, [gradOutput, argmax, gradInput]);
  return transients;
}

function record(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  transients: Transients,
  pipeline: GPUComputePipeline,
  kernel: string,
  p: PoolPlan,
  invocations: number,
  data: GPUBufferBinding[],
): void {
  const params = new Uint32Array([p.n * p.c, p.h, p.w, p.oh, p.ow, invocations, 0, 0]);
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, paramsBindGroup(device, transients, pipeline, kernel, params));
  // Activations and their gradients come back step after step (pooled buffers): cached.
  const label = `${kernel} ${data.map((b) => b.buffer.label).join(', ')}`;
  pass.setBindGroup(1, cachedBindGroup(device, pipeline, 1, label, data));
  pass.dispatchWorkgroups(...workgroupGrid(device, Math.ceil(invocations / WORKGROUP_SIZE)));
}

/** Indices are u32 in the shaders. */
function checkIndexable(kernel: string, p: PoolPlan): void {
  if (p.inputSize >= 2 ** 32) {
    throw new EdgelakeError('limit', `${kernel}: ${p.inputSize} input values exceed u32 indices; split the batch`);
  }
}

/** A buffer written by a dispatch may not be bound to it twice. */
function checkDistinct(kernel: string, bindings: GPUBufferBinding[]): void {
  for (const [k, b] of bindings.entries()) {
    if (bindings.slice(0, k).some((other) => other.buffer === b.buffer)) {
      throw new EdgelakeError('invalid-input', `${kernel}: '${b.buffer.label}' is bound twice`);
    }
  }
}
