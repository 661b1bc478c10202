import { randomWgsl } from '../random/random.wgsl.js';
import { shaderHeader } from '../shader.js';

// The mask and scale, shared by the out-of-place and in-place kernels (forward and backward alike).
const dropoutCommon = (data: string[]) => /* wgsl */ `
${randomWgsl}
${shaderHeader({
  workgroupSize: 256,
  params: [
    'count: u32',
    'seed: u32',
    'stream: u32',
    'step: u32',
    'threshold: f32 // ceil(rate * 2^24) / 2^24: uniform24 is a multiple of 2^-24, so >= compares exactly',
    'scale: f32 // float32(1 / (1 - rate))',
  ],
  bindings: { 1: data },
})}
// A select, not a multiply by a 0/1 mask: dropped elements are +0 even when x is inf or NaN.
fn dropout(i: u32, x: f32) -> f32 {
  let keep = uniform24(params.seed, params.stream, params.step, i) >= params.threshold;
  return select(0.0, x * params.scale, keep);
}
`;

/**
 * Dropout, forward or backward (the same operation on activations or on gradients): element i is
 * kept and scaled iff uniform24(seed, stream, step, i) >= rate; the mask is never stored.
 */
export const dropoutWgsl = /* wgsl */ `
${dropoutCommon(['read input: array<f32>', 'read_write output: array<f32>'])}
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = invocationIndex(id, groups);
  if (i >= params.count) {
    return;
  }
  output[i] = dropout(i, input[i]);
}
`;

/** dropoutWgsl when input and output are one buffer: WebGPU forbids binding it twice for writing. */
export const dropoutInPlaceWgsl = /* wgsl */ `
${dropoutCommon(['read_write data: array<f32>'])}
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = invocationIndex(id, groups);
  if (i >= params.count) {
    return;
  }
  data[i] = dropout(i, data[i]);
}
`;
