/**
 * WGSL shared by the batch kernels, whose `table: array<vec4u>` holds entries of `stride` vec4s
 * sorted by a key (vec4 `at` of the entry, component `field`): the entry an index belongs to.
 */
export const lastEntryWgsl = /* wgsl */ `
// The last entry whose key is at or before \`key\` (binary search).
fn lastEntry(key: u32, count: u32, stride: u32, at: u32, field: u32) -> u32 {
  var lo = 0u;
  var hi = count;
  while (hi - lo > 1u) {
    let mid = (lo + hi) / 2u;
    if (table[mid * stride + at][field] <= key) { lo = mid; } else { hi = mid; }
  }
  return lo;
}
`;
