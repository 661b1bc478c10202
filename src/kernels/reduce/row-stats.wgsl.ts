import { shaderHeader } from '../shader.js';

/**
 * Per row of uint8 values packed four to a u32 (byte order little-endian, rows back to back and
 * not aligned): the sum, min and max, as u32s at output[3 * row ..]. One workgroup a row:
 * invocation t takes values t, t + WORKGROUP_SIZE..., then a halving tree combines them. Integer
 * sums, so the order does not matter and the CPU reference agrees exactly.
 */
export const rowStatsWgsl = /* wgsl */ `
${shaderHeader({
  workgroupSize: 64, // a power of two
  params: ['rows: u32', 'size: u32 // values in a row'],
  bindings: { 1: ['read input: array<u32>', 'read_write output: array<u32>'] },
})}
var<workgroup> sums: array<u32, WORKGROUP_SIZE>;
var<workgroup> lows: array<u32, WORKGROUP_SIZE>;
var<workgroup> highs: array<u32, WORKGROUP_SIZE>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(local_invocation_index) t: u32,
  @builtin(workgroup_id) group: vec3u,
  @builtin(num_workgroups) groups: vec3u,
) {
  let row = workgroupIndex(group, groups);
  if (row >= params.rows) {
    return;
  }
  var sum = 0u;
  var lo = 255u;
  var hi = 0u;
  let start = row * params.size;
  for (var k = t; k < params.size; k += WORKGROUP_SIZE) {
    let i = start + k;
    let v = (input[i >> 2u] >> ((i & 3u) * 8u)) & 255u;
    sum += v;
    lo = min(lo, v);
    hi = max(hi, v);
  }
  sums[t] = sum;
  lows[t] = lo;
  highs[t] = hi;
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride >>= 1u) {
    if (t < stride) {
      sums[t] += sums[t + stride];
      lows[t] = min(lows[t], lows[t + stride]);
      highs[t] = max(highs[t], highs[t + stride]);
    }
    workgroupBarrier();
  }
  if (t == 0u) {
    output[3u * row] = sums[0];
    output[3u * row + 1u] = lows[0];
    output[3u * row + 2u] = highs[0];
  }
}
`;
