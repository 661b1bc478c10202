import { EdgelakeError } from '../../errors.js';
import { align4, assertDeviceAlive, cachedBindGroup, computePipeline, Transients, uploadBuffer, workgroupGrid } from '../pipelines.js';
import { decodePlan, type DecodeDtype, type DecodeKernelOptions } from './decode.ref.js';
import { decodeWgsl } from './decode.wgsl.js';

export interface DecodeArgs extends DecodeKernelOptions {
  /** Raw sample bytes (little-endian), read as u32 words from `inputOffset`; needs STORAGE. */
  input: GPUBuffer;
  /** samples * prod(shape) float32 values are written from offset 0; needs STORAGE. */
  output: GPUBuffer;
  /** Invocations per workgroup (WGSL override constant); 256 unless tuning. */
  workgroupSize?: number;
}

const DTYPE_CODES: Record<DecodeDtype, number> = { uint8: 0, int8: 1, uint16: 2, int16: 3, float16: 4, float32: 5 };

/**
 * Records the decode of `samples` samples into `pass` (the caller submits): each element to
 * float32, dequantized, scaled and normalized per channel, optionally channels-first. See
 * decodeRef for the CPU twin. Parameter buffers go to `transients`: destroy it after submitting.
 */
export function encodeDecode(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  args: DecodeArgs,
  transients: Transients = new Transients(),
): Transients {
  assertDeviceAlive(device, 'decode');
  const plan = decodePlan(args);
  const workgroupSize = args.workgroupSize ?? 256;
  const maxSize = device.limits.maxComputeInvocationsPerWorkgroup;
  if (!Number.isInteger(workgroupSize) || workgroupSize < 1 || workgroupSize > maxSize) {
    const why = `workgroupSize must be an integer in 1..${maxSize}, got ${workgroupSize}`;
    throw new EdgelakeError('invalid-input', `decode: ${why}`);
  }
  if (plan.total === 0) return transients;
  const inputBytes = align4(plan.inputBytes);
  checkBuffer(device, args.input, inputBytes);
  checkBuffer(device, args.output, plan.total * 4);

  const pipeline = computePipeline(device, {
    label: `decode-${args.dtype}`,
    code: decodeWgsl,
    constants: { WORKGROUP_SIZE: workgroupSize, DTYPE: DTYPE_CODES[args.dtype] },
  });
  const { total, perSample, channels, inner, inputOffset } = plan;
  const paramsData = new Uint32Array([total, perSample, channels, inner, args.toCHW ? 1 : 0, inputOffset, 0, 0]);
  const params = transients.add(uploadBuffer(device, 'decode params', GPUBufferUsage.UNIFORM, paramsData));
  const factors = transients.add(uploadBuffer(device, 'decode channel factors', GPUBufferUsage.STORAGE, plan.factors));
  const parameters = device.createBindGroup({
    label: `decode-${args.dtype} parameters`,
    layout: pipeline.getBindGroupLayout(0),
    entries: [
      { binding: 0, resource: { buffer: params } },
      { binding: 1, resource: { buffer: factors } },
    ],
  });
  // The data buffers repeat from batch to batch (uploader slots, pooled outputs): cached.
  const data = cachedBindGroup(device, pipeline, 1, `decode-${args.dtype} ${args.input.label} -> ${args.output.label}`, [
    { buffer: args.input, size: inputBytes },
    { buffer: args.output, size: total * 4 },
  ]);
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, parameters);
  pass.setBindGroup(1, data);
  pass.dispatchWorkgroups(...workgroupGrid(device, Math.ceil(total / workgroupSize)));
  return transients;
}

function checkBuffer(device: GPUDevice, buffer: GPUBuffer, bytes: number): void {
  const name = `decode: buffer '${buffer.label}'`;
  if ((buffer.usage & GPUBufferUsage.STORAGE) === 0) {
    throw new EdgelakeError('invalid-input', `${name} needs GPUBufferUsage.STORAGE`);
  }
  if (buffer.size < bytes) {
    throw new EdgelakeError('invalid-input', `${name} holds ${buffer.size} bytes, the batch needs ${bytes}`);
  }
  const limit = device.limits.maxStorageBufferBindingSize;
  if (bytes > limit) {
    const why = `${bytes} bytes exceed this device's ${limit}-byte storage binding; split the batch`;
    throw new EdgelakeError('limit', `${name}: ${why}`);
  }
}
