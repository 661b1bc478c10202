import { EdgelakeError } from '../../errors.js';
import { align4, computePipeline, Transients, uploadBuffer, workgroupGrid } from '../pipelines.js';
import { normalizeStats } from './normalize.ref.js';
import { normalizeU8Wgsl } from './normalize.wgsl.js';

export interface NormalizeU8Args {
  /** `count` u8 values packed four to a u32 word (little-endian); needs STORAGE usage. */
  input: GPUBuffer;
  /** `count` f32 values are written from offset 0; needs STORAGE usage. */
  output: GPUBuffer;
  count: number;
  channels: number;
  mean: readonly number[];
  std: readonly number[];
  /** Applied before the mean, e.g. 1 / 255 for means and stds given on [0, 1]. */
  scale: number;
  /** Invocations per workgroup (WGSL override constant); 256 unless tuning. */
  workgroupSize?: number;
}

/**
 * Records out[i] = (input[i] * scale - mean[c]) / std[c], c = i % channels, into `pass`; the
 * caller submits. The parameter buffers go to `transients`: destroy it after submitting.
 */
export function encodeNormalizeU8(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  args: NormalizeU8Args,
  transients: Transients = new Transients(),
): Transients {
  const { input, output, count, channels } = args;
  const workgroupSize = args.workgroupSize ?? 256;
  const stats = normalizeStats(channels, args.mean, args.std, args.scale);
  if (!Number.isInteger(count) || count < 0) {
    const why = `count must be a non-negative integer, got ${count}`;
    throw new EdgelakeError('invalid-input', `normalize: ${why}`);
  }
  const maxSize = device.limits.maxComputeInvocationsPerWorkgroup;
  if (!Number.isInteger(workgroupSize) || workgroupSize < 1 || workgroupSize > maxSize) {
    const why = `workgroupSize must be an integer in 1..${maxSize}, got ${workgroupSize}`;
    throw new EdgelakeError('invalid-input', `normalize: ${why}`);
  }
  if (count === 0) return transients;
  checkBuffer(input, align4(count), device);
  checkBuffer(output, count * 4, device);

  const pipeline = computePipeline(device, {
    label: 'normalize-u8',
    code: normalizeU8Wgsl,
    constants: { WORKGROUP_SIZE: workgroupSize },
  });
  const paramsData = new Uint32Array([count, channels, 0, 0]);
  const params = transients.add(
    uploadBuffer(device, 'normalize-u8 params', GPUBufferUsage.UNIFORM, paramsData),
  );
  const table = transients.add(
    uploadBuffer(device, 'normalize-u8 channel stats', GPUBufferUsage.STORAGE, stats),
  );
  const bindGroup = device.createBindGroup({
    label: `normalize-u8 ${input.label} -> ${output.label}`,
    layout: pipeline.getBindGroupLayout(0),
    entries: [
      { binding: 0, resource: { buffer: params } },
      { binding: 1, resource: { buffer: input, size: align4(count) } },
      { binding: 2, resource: { buffer: table } },
      { binding: 3, resource: { buffer: output, size: count * 4 } },
    ],
  });
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(...workgroupGrid(device, Math.ceil(count / workgroupSize)));
  return transients;
}

function checkBuffer(buffer: GPUBuffer, bytes: number, device: GPUDevice): void {
  const name = `normalize: buffer '${buffer.label}'`;
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
