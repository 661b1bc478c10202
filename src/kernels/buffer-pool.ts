import { EdgelakeError } from '../errors.js';
import { assertDeviceAlive, watchDevice } from './pipelines.js';

export interface BufferPoolOptions {
  /** Idle bytes the pool may hold; releasing past it destroys the least recently released. */
  maxIdleBytes?: number;
}

export interface BufferPoolStats {
  idleBuffers: number;
  idleBytes: number;
  inUseBuffers: number;
  inUseBytes: number;
  /** acquire() calls answered with an idle buffer, and with a new one. */
  hits: number;
  misses: number;
}

/**
 * The size a request is rounded up to: powers of two up to 1 MiB (at least 256 bytes), then
 * eighths of a power of two (at most 12.5% waste), so near sizes share buffers.
 */
export function sizeClass(bytes: number): number {
  const n = Math.max(256, Math.ceil(bytes));
  const pow2 = 2 ** Math.ceil(Math.log2(n));
  if (pow2 <= 1 << 20) return pow2;
  const step = pow2 / 16; // (pow2 / 2) / 8
  return Math.ceil(n / step) * step;
}

/**
 * Reusable GPUBuffers of one device keyed by (size class, usage): allocation is slow and
 * batches come in few sizes. In-use buffers are the caller's; only idle ones are destroyed.
 */
export class BufferPool {
  readonly maxIdleBytes: number;
  private readonly idle = new Map<string, GPUBuffer[]>();
  // Idle buffers in release order, oldest first: the eviction order.
  private readonly idleOrder = new Set<GPUBuffer>();
  private readonly inUse = new Set<GPUBuffer>();
  private idleBytes = 0;
  private hits = 0;
  private misses = 0;
  private lost = false;

  constructor(
    readonly device: GPUDevice,
    options: BufferPoolOptions = {},
  ) {
    this.maxIdleBytes = options.maxIdleBytes ?? 256 * 2 ** 20;
    watchDevice(device, () => {
      this.lost = true;
      this.trim(0);
    });
  }

  /** A buffer of at least `size` bytes (contents undefined), labelled `label` until released. */
  acquire(size: number, usage: GPUBufferUsageFlags, label: string): GPUBuffer {
    assertDeviceAlive(this.device, `buffer pool '${label}'`);
    if (!Number.isFinite(size) || size < 0) {
      throw new EdgelakeError('invalid-input', `buffer pool: '${label}' asks for ${size} bytes`);
    }
    const limit = this.device.limits.maxBufferSize;
    if (size > limit) {
      throw new EdgelakeError('limit', `buffer pool: '${label}' needs ${size} bytes, this device allows ${limit}`);
    }
    const bytes = sizeClass(size);
    if (bytes > limit) return this.track(this.create(Math.ceil(size / 4) * 4, usage, label));
    const buffer = this.idle.get(key(bytes, usage))?.pop();
    if (!buffer) return this.track(this.create(bytes, usage, label));
    this.hits++;
    this.idleOrder.delete(buffer);
    this.idleBytes -= buffer.size;
    buffer.label = label;
    return this.track(buffer);
  }

  /** Gives `buffer` back for reuse once the work already submitted with it is done. */
  release(buffer: GPUBuffer): void {
    if (!this.inUse.delete(buffer)) {
      throw new EdgelakeError('invalid-input', `buffer pool: '${buffer.label}' is not in use from this pool`);
    }
    owners.delete(buffer);
    if (this.lost || buffer.size > this.maxIdleBytes) {
      buffer.destroy();
      return;
    }
    buffer.label = `pooled ${buffer.size} bytes (idle)`;
    const k = key(buffer.size, buffer.usage);
    let list = this.idle.get(k);
    if (!list) this.idle.set(k, (list = []));
    list.push(buffer);
    this.idleOrder.add(buffer);
    this.idleBytes += buffer.size;
    this.trim(this.maxIdleBytes);
  }

  /** Destroys idle buffers, least recently released first, until at most `keepBytes` are idle. */
  trim(keepBytes = 0): void {
    for (const buffer of this.idleOrder) {
      if (this.idleBytes <= keepBytes) break;
      this.idleOrder.delete(buffer);
      const list = this.idle.get(key(buffer.size, buffer.usage))!;
      list.splice(list.indexOf(buffer), 1);
      this.idleBytes -= buffer.size;
      buffer.destroy();
    }
  }

  stats(): BufferPoolStats {
    let inUseBytes = 0;
    for (const buffer of this.inUse) inUseBytes += buffer.size;
    const { idleBytes, hits, misses } = this;
    return { idleBuffers: this.idleOrder.size, idleBytes, inUseBuffers: this.inUse.size, inUseBytes, hits, misses };
  }

  private create(size: number, usage: GPUBufferUsageFlags, label: string): GPUBuffer {
    this.misses++;
    return this.device.createBuffer({ label, size, usage });
  }

  private track(buffer: GPUBuffer): GPUBuffer {
    this.inUse.add(buffer);
    owners.set(buffer, this);
    return buffer;
  }
}

function key(size: number, usage: GPUBufferUsageFlags): string {
  return `${size}:${usage}`;
}

// One pool per device, dropped with the device; and the pool each acquired buffer came from.
const pools = new WeakMap<GPUDevice, BufferPool>();
const owners = new WeakMap<GPUBuffer, BufferPool>();

/** The device's shared pool, created on first use (with `options` then, ignored later). */
export function bufferPool(device: GPUDevice, options?: BufferPoolOptions): BufferPool {
  let pool = pools.get(device);
  if (!pool) pools.set(device, (pool = new BufferPool(device, options)));
  return pool;
}

/** A buffer from the device's shared pool. */
export function acquireBuffer(device: GPUDevice, size: number, usage: GPUBufferUsageFlags, label: string): GPUBuffer {
  return bufferPool(device).acquire(size, usage, label);
}

/** Back to the pool it came from (any pool); an error for a buffer that is not in use from one. */
export function releaseBuffer(buffer: GPUBuffer): void {
  const pool = owners.get(buffer);
  if (!pool) throw new EdgelakeError('invalid-input', `buffer pool: '${buffer.label}' did not come from a pool, or was released twice`);
  pool.release(buffer);
}
