import { expect, test } from 'vitest';
import {
  BatchUploader, bufferPool, cachedBindGroup, computePipeline, decodeRef, encodeDecode, readBuffer, uploadBuffer,
  type DecodeKernelOptions,
} from '../../src/kernels/index.js';
import { nodeGpuProvider } from '../../src/kernels/device.node.js';
import { gpuDescribe } from './gpu.js';

const copyKernel = /* wgsl */ `
override FACTOR: u32 = 1u;
@group(0) @binding(0) var<storage, read> a: array<u32>;
@group(0) @binding(1) var<storage, read_write> b: array<u32>;
@compute @workgroup_size(1) fn main() { b[0] = a[0] * FACTOR; }
`;

const options: DecodeKernelOptions = { samples: 3, shape: [2, 2, 3], dtype: 'uint8', scale: 1 / 255, mean: [0.5], std: [0.25] };
const bytes = new Uint8Array(36).map((_, i) => i * 7);

/** Decodes `bytes` on `device` in one submit and reads the result back. */
async function decode(device: GPUDevice): Promise<Float32Array> {
  const input = uploadBuffer(device, 'lost-test input', GPUBufferUsage.STORAGE, bytes);
  const output = device.createBuffer({ label: 'lost-test output', size: 36 * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const encoder = device.createCommandEncoder({ label: 'lost-test' });
  const pass = encoder.beginComputePass({ label: 'lost-test' });
  const transients = encodeDecode(device, pass, { ...options, input, output });
  pass.end();
  device.queue.submit([encoder.finish()]);
  transients.destroy();
  const out = new Float32Array(await readBuffer(device, output, 36 * 4));
  input.destroy();
  output.destroy();
  return out;
}

gpuDescribe('per-device pipeline and bind-group caches', ({ device }) => {
  test('a pipeline is built once per source and constants', () => {
    const first = computePipeline(device, { label: 'cache test', code: copyKernel });
    expect(computePipeline(device, { label: 'cache test', code: copyKernel })).toBe(first);
    const doubled = computePipeline(device, { label: 'cache test', code: copyKernel, constants: { FACTOR: 2 } });
    expect(doubled).not.toBe(first);
    expect(computePipeline(device, { label: 'cache test', code: copyKernel, constants: { FACTOR: 2 } })).toBe(doubled);
  });

  test('a bind group is reused while the same buffers, offsets and sizes come back', () => {
    const pipeline = computePipeline(device, { label: 'cache test', code: copyKernel });
    const usage = GPUBufferUsage.STORAGE;
    const [a, b, c] = ['a', 'b', 'c'].map((label) => device.createBuffer({ label, size: 512, usage }));
    const group = (x: GPUBuffer, size?: number) => cachedBindGroup(device, pipeline, 0, 'cache test', [{ buffer: x, size }, { buffer: c }]);
    const ac = group(a);
    expect(group(a)).toBe(ac);
    expect(group(b)).not.toBe(ac);
    expect(group(a, 256)).not.toBe(ac);
    expect(group(a)).toBe(ac);
    for (const buffer of [a, b, c]) buffer.destroy();
  });
});

gpuDescribe('a lost device', ({ device: shared }) => {
  test('makes encoders fail with gpu-unavailable, while another device carries on', async () => {
    const adapter = await nodeGpuProvider.requestAdapter();
    const device = await adapter!.requestDevice({ label: 'doomed device' });
    expect(await decode(device)).toEqual(decodeRef(bytes, options)); // first use: now watched
    const pool = bufferPool(device);
    const held = pool.acquire(1000, GPUBufferUsage.STORAGE, 'held through the loss');
    pool.release(pool.acquire(5000, GPUBufferUsage.STORAGE, 'idle at the loss'));
    expect(pool.stats().idleBuffers).toBe(1);
    const uploader = new BatchUploader(device, { label: 'doomed uploader' });

    device.destroy();
    const info = await device.lost;
    expect(info.reason).toBe('destroyed');
    await Promise.resolve(); // the kernels' own lost handlers run after ours

    const lost = expect.objectContaining({ code: 'gpu-unavailable', message: expect.stringMatching(/the GPU device was lost: destroyed/) });
    await expect(decode(device)).rejects.toThrow(lost);
    expect(() => computePipeline(device, { label: 'late', code: copyKernel })).toThrow(lost);
    expect(() => uploader.upload(bytes)).toThrow(lost);
    expect(() => pool.acquire(16, GPUBufferUsage.STORAGE, 'late')).toThrow(lost);
    expect(pool.stats().idleBuffers).toBe(0); // idle buffers were destroyed at the loss
    pool.release(held); // and later releases destroy rather than keep
    expect(pool.stats()).toMatchObject({ idleBuffers: 0, inUseBuffers: 0 });

    // Caches are per device: the shared device still decodes, with its own pipelines.
    expect(await decode(shared)).toEqual(decodeRef(bytes, options));
  });
});
