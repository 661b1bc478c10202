/**
 * out[i] = (in[i] * scale - mean[c]) / std[c], c = i % channels, for u8 values packed four to a
 * u32 word (little-endian, as WebGPU buffers are). It computes (in[i] - mean[c] / scale) *
 * (scale / std[c]) with both per-channel factors precomputed in float32: a subtraction then a
 * multiplication, each rounded once, leaves no multiply-add for a compiler to fuse, so the
 * result equals the CPU reference (normalize.ref.ts) bit for bit.
 */
export const normalizeU8Wgsl = /* wgsl */ `
override WORKGROUP_SIZE: u32 = 256u;

struct Params {
  count: u32,
  channels: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<u32>;
// Per channel: (mean / scale, scale / std).
@group(0) @binding(2) var<storage, read> channelStats: array<vec2f>;
@group(0) @binding(3) var<storage, read_write> output: array<f32>;

fn loadU8(i: u32) -> u32 {
  return extractBits(input[i >> 2u], (i & 3u) * 8u, 8u);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  // Rows of a 2-D grid continue the index where the previous row ended.
  let i = id.x + id.y * groups.x * WORKGROUP_SIZE;
  if (i >= params.count) {
    return;
  }
  let stats = channelStats[i % params.channels];
  output[i] = (f32(loadU8(i)) - stats.x) * stats.y;
}
`;
