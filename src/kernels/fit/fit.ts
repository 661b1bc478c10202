import { EdgelakeError } from '../../errors.js';
import { align4, assertDeviceAlive, cachedBindGroup, computePipeline, paramsBindGroup, storageBinding, Transients, uploadBuffer, workgroupGrid } from '../pipelines.js';
import { fitPlan, type FitOptions } from './plan.js';
import { fitWgsl } from './fit.wgsl.js';

export interface FitArgs extends FitOptions {
  /** The images' bytes (sample offsets index it); needs STORAGE. */
  input: GPUBuffer;
  /** B x height x width x channels u8 from offset 0, 4 to a u32 word (little-endian); needs STORAGE. */
  output: GPUBuffer;
  /** Invocations per workgroup (WGSL override constant); 256 unless tuning. */
  workgroupSize?: number;
}

/**
 * Records the fit of every sample's box to width x height into `pass` (the caller submits): the
 * output bytes equal fitRef's, ready for encodeDecode with dtype 'uint8'. Bytes past the batch in
 * the last word are left as they were. The sample table goes to `transients`: destroy it after submitting.
 */
export function encodeFit(device: GPUDevice, pass: GPUComputePassEncoder, args: FitArgs, transients: Transients = new Transients()): Transients {
  assertDeviceAlive(device, 'fit');
  const plan = fitPlan(args, args.input?.size ?? 0);
  const workgroupSize = args.workgroupSize ?? 256;
  const maxSize = device.limits.maxComputeInvocationsPerWorkgroup;
  if (!Number.isInteger(workgroupSize) || workgroupSize < 1 || workgroupSize > maxSize) {
    throw new EdgelakeError('invalid-input', `fit: workgroupSize must be an integer in 1..${maxSize}, got ${workgroupSize}`);
  }
  if (plan.total === 0) return transients;
  const words = align4(plan.total) / 4;
  const input = storageBinding(device, 'fit', 'input', args.input, align4(plan.inputBytes) / 4, `${plan.inputBytes} image bytes`);
  const output = storageBinding(device, 'fit', 'output', args.output, words, `${plan.total} output bytes`);

  const pipeline = computePipeline(device, { label: 'fit', code: fitWgsl, constants: { WORKGROUP_SIZE: workgroupSize } });
  const table = transients.add(uploadBuffer(device, 'fit sample table', GPUBufferUsage.STORAGE, plan.table));
  const params = new Uint32Array([plan.total, plan.width, plan.height, plan.channels, plan.pixelStride]);
  const parameters = paramsBindGroup(device, transients, pipeline, 'fit', params, [{ buffer: table }]);
  // The data buffers repeat from batch to batch (uploader slots, pooled outputs): cached.
  const data = cachedBindGroup(device, pipeline, 1, `fit ${args.input.label} -> ${args.output.label}`, [input, output]);
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, parameters);
  pass.setBindGroup(1, data);
  pass.dispatchWorkgroups(...workgroupGrid(device, Math.ceil(words / workgroupSize)));
  return transients;
}
