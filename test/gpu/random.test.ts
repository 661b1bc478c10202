import { expect, test } from 'vitest';
import { computePipeline, hash4, randomWgsl, readBuffer, uniform24, uploadBuffer } from '../../src/kernels/index.js';
import { gpuDescribe } from './gpu.js';

const seed = Number(process.env.EDGELAKE_SEED ?? Date.now() % 2 ** 32);

// For each key (seed, a, b, c): hash4 and the bits of uniform24, side by side.
const rngKernel = /* wgsl */ `
${randomWgsl}
@group(0) @binding(0) var<storage, read> keys: array<vec4u>;
@group(0) @binding(1) var<storage, read_write> out: array<vec2u>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3u) {
  if (id.x >= arrayLength(&keys)) {
    return;
  }
  let k = keys[id.x];
  out[id.x] = vec2u(hash4(k.x, k.y, k.z, k.w), bitcast<u32>(uniform24(k.x, k.y, k.z, k.w)));
}
`;

/** Every combination of edge values in the four key slots, then random keys from `seed`. */
function testKeys(randomCount: number): Uint32Array {
  const edges = [0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
  const keys: number[] = [];
  for (const s of edges) for (const a of edges) for (const b of edges) for (const c of edges) keys.push(s, a, b, c);
  let state = seed >>> 0;
  for (let i = 0; i < randomCount * 4; i++) {
    state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    keys.push(i % 4 === 3 ? i >> 2 : state); // draws counted up as the kernels do
  }
  return new Uint32Array(keys);
}

gpuDescribe('the WGSL hash RNG equals src/runtime/random.ts', ({ device }) => {
  test('hash4 and uniform24 for 1296 edge keys and 4001 random ones, bit for bit', async () => {
    const keys = testKeys(4001);
    const count = keys.length / 4;
    const pipeline = computePipeline(device, { label: 'rng test', code: rngKernel });
    const input = uploadBuffer(device, 'rng test keys', GPUBufferUsage.STORAGE, keys);
    const output = device.createBuffer({
      label: 'rng test results',
      size: count * 8,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
    });
    const bindGroup = device.createBindGroup({
      label: 'rng test',
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: input } },
        { binding: 1, resource: { buffer: output } },
      ],
    });
    const encoder = device.createCommandEncoder({ label: 'rng test' });
    const pass = encoder.beginComputePass({ label: 'rng test' });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(Math.ceil(count / 64));
    pass.end();
    device.queue.submit([encoder.finish()]);
    const results = new Uint32Array(await readBuffer(device, output, count * 8));
    input.destroy();
    output.destroy();

    const floats = new Float32Array(results.buffer);
    const wrong: string[] = [];
    for (let i = 0; i < count; i++) {
      const [s, a, b, c] = keys.subarray(i * 4, i * 4 + 4);
      const [hash, uniform] = [hash4(s, a, b, c), uniform24(s, a, b, c)];
      if (results[i * 2] !== hash || floats[i * 2 + 1] !== uniform) {
        wrong.push(`(${s}, ${a}, ${b}, ${c}): GPU ${results[i * 2]} ${floats[i * 2 + 1]}, CPU ${hash} ${uniform}`);
      }
      if (!(uniform >= 0 && uniform < 1)) wrong.push(`(${s}, ${a}, ${b}, ${c}): uniform24 ${uniform} outside [0, 1)`);
    }
    expect(wrong.slice(0, 10), `seed ${seed}`).toEqual([]);
  });
});
