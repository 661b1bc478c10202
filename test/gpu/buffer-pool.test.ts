import { describe, expect, test } from 'vitest';
import { acquireBuffer, BufferPool, bufferPool, releaseBuffer, sizeClass } from '../../src/kernels/index.js';
import { gpuDescribe } from './gpu.js';

describe('size classes', () => {
  test('powers of two from 256 bytes to 1 MiB, then eighths of a power of two', () => {
    const MiB = 2 ** 20;
    const cases = [[0, 256], [1, 256], [256, 256], [257, 512], [1000, 1024], [MiB, MiB], [MiB + 1, MiB + MiB / 8], [3 * MiB - 1, 3 * MiB]];
    expect(cases.map(([bytes]) => [bytes, sizeClass(bytes)])).toEqual(cases);
    for (let bytes = 1; bytes < 64 * MiB; bytes = Math.ceil(bytes * 1.37)) {
      const size = sizeClass(bytes);
      expect(size % 256, `${bytes}`).toBe(0);
      expect(size >= bytes && (bytes <= MiB || size <= bytes * 1.125 + 256), `${bytes} -> ${size}`).toBe(true);
    }
  });
});

/** Marks buffers that get destroyed, on top of the GPU helper's own tracking. */
function watchDestroy(buffers: GPUBuffer[]): Set<GPUBuffer> {
  const destroyed = new Set<GPUBuffer>();
  for (const buffer of buffers) {
    const destroy = buffer.destroy.bind(buffer);
    buffer.destroy = () => {
      destroyed.add(buffer);
      destroy();
    };
  }
  return destroyed;
}

gpuDescribe('buffer pool', ({ device }) => {
  const { STORAGE, COPY_DST, COPY_SRC } = GPUBufferUsage;
  test('a released buffer comes back for the same size class and usage, relabelled', () => {
    const pool = new BufferPool(device);
    const a = pool.acquire(1000, STORAGE | COPY_DST, 'batch 1 output');
    expect([a.size, a.label]).toEqual([1024, 'batch 1 output']);
    pool.release(a);
    const b = pool.acquire(700, STORAGE | COPY_DST, 'batch 2 output');
    expect(b).toBe(a);
    expect(b.label).toBe('batch 2 output');
    const c = pool.acquire(700, STORAGE | COPY_SRC, 'other usage');
    expect(c).not.toBe(a);
    expect(pool.stats()).toMatchObject({ hits: 1, misses: 2, inUseBuffers: 2, inUseBytes: 2048, idleBuffers: 0 });
    pool.release(b);
    pool.release(c);
    expect(pool.stats()).toMatchObject({ inUseBuffers: 0, idleBuffers: 2, idleBytes: 2048 });
    pool.trim();
    expect(pool.stats()).toMatchObject({ idleBuffers: 0, idleBytes: 0 });
  });

  test('idle bytes stay under the cap: the least recently released are destroyed', () => {
    const pool = new BufferPool(device, { maxIdleBytes: 4096 });
    const buffers = [0, 1, 2].map((i) => pool.acquire(2048, STORAGE, `block ${i}`));
    const big = pool.acquire(8192, STORAGE, 'bigger than the cap');
    const destroyed = watchDestroy([...buffers, big]);
    for (const buffer of buffers) pool.release(buffer);
    expect([...destroyed]).toEqual([buffers[0]]);
    expect(pool.stats()).toMatchObject({ idleBuffers: 2, idleBytes: 4096 });
    expect(pool.acquire(2000, STORAGE, 'again')).toBe(buffers[2]); // most recently released first
    pool.release(big);
    expect(destroyed.has(big), 'a buffer bigger than the cap is destroyed on release').toBe(true);
    expect(pool.stats().idleBytes).toBe(2048);
    pool.release(buffers[2]);
    pool.trim();
    expect(pool.stats()).toMatchObject({ idleBuffers: 0, inUseBuffers: 0 });
  });

  test('the shared pool of a device, and the errors of misuse', () => {
    const a = acquireBuffer(device, 300, STORAGE, 'shared pool');
    expect(bufferPool(device).stats().inUseBuffers).toBe(1);
    releaseBuffer(a);
    const invalid = expect.objectContaining({ code: 'invalid-input' });
    expect(() => releaseBuffer(a), 'released twice').toThrow(invalid);
    const own = device.createBuffer({ label: 'not pooled', size: 256, usage: STORAGE });
    expect(() => releaseBuffer(own)).toThrow(invalid);
    expect(() => new BufferPool(device).release(own)).toThrow(invalid);
    expect(() => acquireBuffer(device, -1, STORAGE, 'negative')).toThrow(invalid);
    const limit = device.limits.maxBufferSize;
    expect(() => acquireBuffer(device, limit + 1, STORAGE, 'huge')).toThrow(expect.objectContaining({ code: 'limit' }));
    own.destroy();
    bufferPool(device).trim();
  });
});
