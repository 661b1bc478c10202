import { EdgelakeError } from '../errors.js';

/**
 * What every kernel family shares: per-device pipeline and bind-group caches, device-lost
 * tracking, uploads, read-back, and the transient buffers a recorded dispatch needs until its
 * command buffer is submitted.
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
  assertDeviceAlive(device, source.label);
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

// Why each device we have seen was lost; a device is watched from its first use by a kernel.
const lostReasons = new WeakMap<GPUDevice, string>();
const watched = new WeakSet<GPUDevice>();

/** Starts tracking `device.lost` (idempotent); `onLost` runs once the device is lost. */
export function watchDevice(device: GPUDevice, onLost?: (reason: string) => void): void {
  if (!watched.has(device)) {
    watched.add(device);
    void device.lost.then((info) => {
      lostReasons.set(device, info.message ? `${info.reason} (${info.message})` : info.reason);
      pipelines.delete(device); // a later device starts with empty caches
    });
  }
  if (onLost) void device.lost.then(() => onLost(lostReasons.get(device) ?? 'unknown'));
}

/**
 * Throws EdgelakeError 'gpu-unavailable' once `device.lost` has resolved. Every encode function
 * calls it first; a device lost before its first use is noticed one call later (`lost` is a promise).
 */
export function assertDeviceAlive(device: GPUDevice, kernel: string): void {
  watchDevice(device);
  const reason = lostReasons.get(device);
  if (reason !== undefined) {
    throw new EdgelakeError('gpu-unavailable', `${kernel}: the GPU device was lost: ${reason}`);
  }
}

// Bind groups are keyed by pipeline (so by device) and by the identity of each bound buffer.
const bindGroups = new WeakMap<GPUComputePipeline, Map<string, GPUBindGroup>>();
const bufferIds = new WeakMap<GPUBuffer, number>();
let nextBufferId = 1;
const BIND_GROUPS_PER_PIPELINE = 64;

/**
 * The bind group of `group` binding these buffers (binding i = buffers[i]), reused while the
 * same buffers come back, as with pooled outputs and the slots of a BatchUploader.
 */
export function cachedBindGroup(
  device: GPUDevice,
  pipeline: GPUComputePipeline,
  group: number,
  label: string,
  buffers: readonly GPUBufferBinding[],
): GPUBindGroup {
  let byKey = bindGroups.get(pipeline);
  if (!byKey) bindGroups.set(pipeline, (byKey = new Map()));
  const key = `${group}|${buffers.map((b) => `${bufferId(b.buffer)}@${b.offset ?? 0}+${b.size ?? 'all'}`).join(',')}`;
  let bindGroup = byKey.get(key);
  if (bindGroup) {
    byKey.delete(key); // re-inserted below: Map order is recency order
  } else {
    bindGroup = createBindGroup(device, pipeline, group, label, buffers);
    if (byKey.size >= BIND_GROUPS_PER_PIPELINE) byKey.delete(byKey.keys().next().value!);
  }
  byKey.set(key, bindGroup);
  return bindGroup;
}

/** A new bind group of `group` binding these buffers (binding i = buffers[i]): for buffers used once, such as transients. */
export function createBindGroup(
  device: GPUDevice,
  pipeline: GPUComputePipeline,
  group: number,
  label: string,
  buffers: readonly GPUBufferBinding[],
): GPUBindGroup {
  return device.createBindGroup({ label, layout: pipeline.getBindGroupLayout(group), entries: buffers.map((resource, binding) => ({ binding, resource })) });
}

function bufferId(buffer: GPUBuffer): number {
  let id = bufferIds.get(buffer);
  if (id === undefined) bufferIds.set(buffer, (id = nextBufferId++));
  return id;
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

/**
 * The binding of `count` 4-byte values of `buffer`, argument `name` of `kernel`, after checking it
 * is a STORAGE buffer within the device's binding limit and large enough; `needs` says in errors
 * what the bytes are for. WebGPU rejects empty bindings: callers that may have none ask for 1 value.
 * Every kernel family validates its buffers here, so the errors read alike.
 */
export function storageBinding(
  device: GPUDevice,
  kernel: string,
  name: string,
  buffer: GPUBuffer,
  count: number,
  needs = `${count} values`,
): GPUBufferBinding {
  if (!buffer || typeof buffer.size !== 'number') throw new EdgelakeError('invalid-input', `${kernel}: ${name} must be a GPUBuffer`);
  const what = `${kernel}: ${name} '${buffer.label}'`;
  if ((buffer.usage & GPUBufferUsage.STORAGE) === 0) throw new EdgelakeError('invalid-input', `${what} needs GPUBufferUsage.STORAGE`);
  const bytes = count * 4;
  const limit = device.limits.maxStorageBufferBindingSize;
  // Before the size: no buffer could do, and the fix is a smaller batch.
  if (bytes > limit) {
    throw new EdgelakeError('limit', `${what}: ${bytes} bytes exceed this device's ${limit}-byte storage binding; split the batch`);
  }
  if (buffer.size < bytes) throw new EdgelakeError('invalid-input', `${what} holds ${buffer.size} bytes, needs ${bytes} (${needs})`);
  return { buffer, size: bytes };
}

/**
 * Bind group 0 of `pipeline`, the shaderHeader layout: `params` in a new uniform buffer (a
 * transient) at binding 0, then `more` from binding 1 on.
 */
export function paramsBindGroup(
  device: GPUDevice,
  transients: Transients,
  pipeline: GPUComputePipeline,
  label: string,
  params: ArrayBufferView,
  more: readonly GPUBufferBinding[] = [],
): GPUBindGroup {
  const buffer = transients.add(uploadBuffer(device, `${label} params`, GPUBufferUsage.UNIFORM, params));
  return createBindGroup(device, pipeline, 0, `${label} params`, [{ buffer }, ...more]);
}
