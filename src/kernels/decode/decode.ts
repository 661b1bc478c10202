import { EdgelakeError } from '../../errors.js';
import { align4, assertDeviceAlive, cachedBindGroup, computePipeline, paramsBindGroup, storageBinding, Transients, uploadBuffer, workgroupGrid } from '../pipelines.js';
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
  const input = storageBinding(device, 'decode', 'input', args.input, align4(plan.inputBytes) / 4, `${plan.inputBytes} input bytes`);
  const output = storageBinding(device, 'decode', 'output', args.output, plan.total, `${plan.total} elements`);

  const pipeline = computePipeline(device, {
    label: `decode-${args.dtype}`,
    code: decodeWgsl,
    constants: { WORKGROUP_SIZE: workgroupSize, DTYPE: DTYPE_CODES[args.dtype] },
  });
  const { total, perSample, channels, inner, inputOffset } = plan;
  const paramsData = new Uint32Array([total, perSample, channels, inner, args.toCHW ? 1 : 0, inputOffset, 0, 0]);
  const factors = transients.add(uploadBuffer(device, 'decode channel factors', GPUBufferUsage.STORAGE, plan.factors));
  const parameters = paramsBindGroup(device, transients, pipeline, `decode-${args.dtype}`, paramsData, [{ buffer: factors }]);
  // The data buffers repeat from batch to batch (uploader slots, pooled outputs): cached.
  const data = cachedBindGroup(device, pipeline, 1, `decode-${args.dtype} ${args.input.label} -> ${args.output.label}`, [input, output]);
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, parameters);
  pass.setBindGroup(1, data);
  pass.dispatchWorkgroups(...workgroupGrid(device, Math.ceil(total / workgroupSize)));
  return transients;
}
