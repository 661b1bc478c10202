/**
 * The elementwise and reduction steps of a dense layer's backward pass (its products are matmuls).
 * Invocation indices continue across the rows of a 2-D grid (workgroupGrid), so counts past
 * 65535 workgroups work.
 */

/** gradInput[i] = output[i] > 0 ? gradOutput[i] : 0; a NaN output counts as not positive. */
export const reluBackwardWgsl = /* wgsl */ `
override WORKGROUP_SIZE: u32 = 256u;

@group(0) @binding(0) var<uniform> count: u32;
@group(1) @binding(0) var<storage, read> gradOutput: array<f32>;
@group(1) @binding(1) var<storage, read> output: array<f32>;
@group(1) @binding(2) var<storage, read_write> gradInput: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = id.x + id.y * groups.x * WORKGROUP_SIZE;
  if (i < count) {
    gradInput[i] = select(0.0, gradOutput[i], output[i] > 0.0);
  }
}
`;

/** The same in place: grad holds gradOutput and receives gradInput (one read-write binding). */
export const reluBackwardInPlaceWgsl = /* wgsl */ `
override WORKGROUP_SIZE: u32 = 256u;

@group(0) @binding(0) var<uniform> count: u32;
@group(1) @binding(0) var<storage, read_write> grad: array<f32>;
@group(1) @binding(1) var<storage, read> output: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = id.x + id.y * groups.x * WORKGROUP_SIZE;
  if (i < count && !(output[i] > 0.0)) {
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
override WORKGROUP_SIZE: u32 = 64u;
override CHUNK: u32 = 256u;
override ACCUMULATE: bool = false;

struct Params {
  rows: u32,
  cols: u32,
  colGroups: u32, // workgroups across the columns
  chunks: u32,    // ceil(rows / CHUNK)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(1) @binding(0) var<storage, read> input: array<f32>;
@group(1) @binding(1) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(workgroup_id) group: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_id) local: vec3u,
) {
  let g = group.x + group.y * groups.x;
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
