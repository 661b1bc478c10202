/**
 * What every kernel family shares: a per-device pipeline cache, uploads, read-back, and the
 * transient buffers a recorded dispatch needs until its command buffer is submitted.
 */

/** A WGSL module, specialised by `override` constants rather than by string templating. */
export interface KernelSource {
  /** Label of the module and pipeline, and with the constants the cache key. */
  label: string;
  code: string;
  entryPoint?: string;
  constants?: Record<string, number>;
}

// Keyed weakly by device: a lost or dropped device takes its pipelines with it.
const pipelines = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

/** The compute pipeline for `source` on `device`, built on first use. */
export function computePipeline(device: GPUDevice, source: KernelSource): GPUComputePipeline {
  let byKey = pipelines.get(device);
  if (!byKey) pipelines.set(device, (byKey = new Map()));
  const key = source.constants ? `${source.label} ${JSON.stringify(source.constants)}` : source.label;
  let pipeline = byKey.get(key);
  if (!pipeline) {
    const module = device.createShaderModule({ label: source.label, code: source.code });
    pipeline = device.createComputePipeline({
      label: key,
      layout: 'auto',
      compute: { module, entryPoint: source.entryPoint ?? 'main', constants: source.constants },
    });
    byKey.set(key, pipeline);
  }
  return pipeline;
}

/**
 * Buffers that recorded commands use (parameters, small tables). Destroy them once the
 * command buffer is submitted; the GPU keeps them alive until that work completes.
 */
export class Transients {
  private readonly buffers: GPUBuffer[] = [];
  add<B extends GPUBuffer>(buffer: B): B {
    this.buffers.push(buffer);
    return buffer;
  }
  destroy(): void {
    for (const buffer of this.buffers.splice(0)) buffer.destroy();
  }
}

/** A new buffer holding `data` (padded to 4 bytes), written at creation: no queue round trip. */
export function uploadBuffer(
  device: GPUDevice,
  label: string,
  usage: GPUBufferUsageFlags,
  data: ArrayBufferView,
): GPUBuffer {
  const size = Math.max(4, align4(data.byteLength));
  const buffer = device.createBuffer({ label, size, usage, mappedAtCreation: true });
  new Uint8Array(buffer.getMappedRange()).set(
    new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  );
  buffer.unmap();
  return buffer;
}

/** Copies `size` bytes of `buffer` (which needs COPY_SRC) back to the CPU; submits and waits. */
export async function readBuffer(
  device: GPUDevice,
  buffer: GPUBuffer,
  size: number,
  offset = 0,
): Promise<ArrayBuffer> {
  const padded = Math.max(4, align4(size));
  const staging = device.createBuffer({
    label: `${buffer.label} read-back`,
    size: padded,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  try {
    const encoder = device.createCommandEncoder({ label: `${buffer.label} read-back` });
    encoder.copyBufferToBuffer(buffer, offset, staging, 0, padded);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    return staging.getMappedRange().slice(0, size);
  } finally {
    staging.destroy();
  }
}

/**
 * Workgroup counts for `groups` workgroups: one row while it fits the per-dimension limit
 * (65535 by default), else a 2-D grid; shaders rebuild the index from `num_workgroups`.
 */
export function workgroupGrid(device: GPUDevice, groups: number): [number, number] {
  const limit = device.limits.maxComputeWorkgroupsPerDimension;
  if (groups <= limit) return [groups, 1];
  const y = Math.ceil(groups / limit);
  if (y > limit) throw new RangeError(`${groups} workgroups exceed a ${limit} x ${limit} grid`);
  return [Math.ceil(groups / y), y];
}

export function align4(bytes: number): number {
  return Math.ceil(bytes / 4) * 4;
}
