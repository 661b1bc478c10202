import { expect, test } from 'vitest';
import {
  BatchUploader, bufferPool, cachedBindGroup, computePipeline, createBindGroup, decodeRef, encodeDecode, paramsBindGroup, readBuffer,
  shaderHeader, storageBinding, Transients, uploadBuffer, type DecodeKernelOptions,
} from '../../src/kernels/index.js';
import { gpuDescribe } from './gpu.js';
import { nodeGpuProvider } from '../../src/node.js';

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

gpuDescribe('the shared shader header and buffer validator', ({ device }) => {
  test('invocationIndex covers a 2-D grid once; Params and bindings sit where paramsBindGroup and createBindGroup put them', async () => {
    const code = /* wgsl */ `
${shaderHeader({ workgroupSize: 64, params: ['count: u32', 'scale: u32 // multiplies the index'], bindings: { 0: ['read offset: array<u32>'], 1: ['read_write out: array<u32>'] } })}
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = invocationIndex(id, groups);
  if (i < params.count) {
    out[i] = i * params.scale + offset[0];
  }
}
`;
    const count = 4 * 32 - 5; // a 2 x 2 grid of 32-wide workgroups, the last one partly idle
    const pipeline = computePipeline(device, { label: 'header test', code, constants: { WORKGROUP_SIZE: 32 } });
    const transients = new Transients();
    const offset = transients.add(uploadBuffer(device, 'header test offset', GPUBufferUsage.STORAGE, Uint32Array.of(1000)));
    const out = device.createBuffer({ label: 'header test out', size: 4 * 32 * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
    const encoder = device.createCommandEncoder({ label: 'header test' });
    const pass = encoder.beginComputePass({ label: 'header test' });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, paramsBindGroup(device, transients, pipeline, 'header test', Uint32Array.of(count, 3, 0, 0), [{ buffer: offset }]));
    pass.setBindGroup(1, createBindGroup(device, pipeline, 1, 'header test', [storageBinding(device, 'header test', 'out', out, 4 * 32)]));
    pass.dispatchWorkgroups(2, 2);
    pass.end();
    device.queue.submit([encoder.finish()]);
    transients.destroy();
    const values = new Uint32Array(await readBuffer(device, out, 4 * 32 * 4));
    out.destroy();
    expect([...values]).toEqual(Array.from({ length: 4 * 32 }, (_, i) => (i < count ? 1000 + 3 * i : 0)));
  });

  test('storageBinding names the kernel, the argument and the buffer, and says what is held and needed', () => {
    const { STORAGE, COPY_DST } = GPUBufferUsage;
    const small = device.createBuffer({ label: 'small', size: 16, usage: STORAGE });
    const mapped = device.createBuffer({ label: 'not storage', size: 64, usage: COPY_DST });
    const fails = (f: () => unknown, code: string, message: RegExp) => expect(f).toThrow(expect.objectContaining({ code, message: expect.stringMatching(message) }));
    expect(storageBinding(device, 'k', 'input', small, 4)).toEqual({ buffer: small, size: 16 });
    fails(() => storageBinding(device, 'k', 'input', small, 5), 'invalid-input', /^k: input 'small' holds 16 bytes, needs 20 \(5 values\)$/);
    fails(() => storageBinding(device, 'k', 'input', small, 8, '2 x 4 probabilities'), 'invalid-input', /needs 32 \(2 x 4 probabilities\)$/);
    fails(() => storageBinding(device, 'k', 'output', mapped, 1), 'invalid-input', /^k: output 'not storage' needs GPUBufferUsage.STORAGE$/);
    fails(() => storageBinding(device, 'k', 'output', undefined as unknown as GPUBuffer, 1), 'invalid-input', /^k: output must be a GPUBuffer$/);
    const limit = device.limits.maxStorageBufferBindingSize;
    fails(() => storageBinding(device, 'k', 'input', small, limit / 4 + 1), 'limit', /^k: input 'small': \d+ bytes exceed this device's \d+-byte storage binding; split the batch$/);
    for (const buffer of [small, mapped]) buffer.destroy();
  });

  test('shaderHeader leaves WORKGROUP_SIZE and invocationIndex out for shaders that shape their own workgroups', () => {
    const header = shaderHeader({ params: ['m: u32'] });
    expect(header).not.toMatch(/WORKGROUP_SIZE|invocationIndex/);
    expect(header).toMatch(/fn workgroupIndex/);
    expect(header).toMatch(/@group\(0\) @binding\(0\) var<uniform> params: Params;/);
    expect(() => shaderHeader({ bindings: { 1: ['write out: array<u32>'] } })).toThrow(/must start with read or read_write/);
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
