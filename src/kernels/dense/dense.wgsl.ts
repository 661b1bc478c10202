import { shaderHeader } from '../shader.js';

/**
 * The elementwise and reduction steps of a dense layer's backward pass (its products are matmuls).
 * Invocation indices continue across the rows of a 2-D grid (workgroupGrid), so counts past
 * 65535 workgroups work.
 */

/** gradInput[i] = output[i] > 0 ? gradOutput[i] : 0; a NaN output counts as not positive. */
export const reluBackwardWgsl = /* wgsl */ `
${shaderHeader({
  workgroupSize: 256,
  params: ['count: u32'],
  bindings: { 1: ['read gradOutput: array<f32>', 'read output: array<f32>', 'read_write gradInput: array<f32>'] },
})}
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = invocationIndex(id, groups);
  if (i < params.count) {
    gradInput[i] = select(0.0, gradOutput[i], output[i] > 0.0);
  }
}
`;

/** The same in place: grad holds gradOutput and receives gradInput (one read-write binding). */
export const reluBackwardInPlaceWgsl = /* wgsl */ `
${shaderHeader({
  workgroupSize: 256,
  params: ['count: u32'],
  bindings: { 1: ['read_write grad: array<f32>', 'read output: array<f32>'] },
})}
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = invocationIndex(id, groups);
  if (i < params.count && !(output[i] > 0.0)) {
    grad[i] = 0.0;
  }
}
`;

/**
 * One level of a column sum: out[chunk * cols + c] (+)= sum of input[r * cols + c] over the CHUNK
 * rows r of that chunk. encodeColumnSum applies it until one chunk is left: rows -> ceil(rows /
 * CHUNK) partial rows -> ... -> 1, so long columns (a convolution's bias over batch x pixels)
 * are summed by many invocations at once, each over at most CHUNK values.
 */
export const columnSumWgsl = /* wgsl */ `
${shaderHeader({
  workgroupSize: 64,
  params: ['rows: u32', 'cols: u32', 'colGroups: u32 // workgroups across the columns', 'chunks: u32 // ceil(rows / CHUNK)'],
  bindings: { 1: ['read input: array<f32>', 'read_write out: array<f32>'] },
})}
override CHUNK: u32 = 256u;
override ACCUMULATE: bool = false;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(workgroup_id) group: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_id) local: vec3u,
) {
  let g = workgroupIndex(group, groups);
  let chunk = g / params.colGroups;
  let c = (g % params.colGroups) * WORKGROUP_SIZE + local.x;
  if (chunk >= params.chunks || c >= params.cols) {
    return;
  }
  let end = min((chunk + 1u) * CHUNK, params.rows);
  var sum = 0.0;
  for (var r = chunk * CHUNK; r < end; r++) {
    sum += input[r * params.cols + c];
  }
  if (ACCUMULATE) {
    sum += out[chunk * params.cols + c];
  }
  out[chunk * params.cols + c] = sum;
}
`;
