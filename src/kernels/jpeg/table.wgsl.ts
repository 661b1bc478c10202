/**
 * WGSL shared by the batch kernels, whose `table: array<vec4u>` holds entries of `stride` vec4s
 * sorted by a key (vec4 `at` of the entry, component `field`): the entry an index belongs to,
 * and the row of an index within it.
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

// n / d for n < 2^27, d < 2^16: a float division, corrected by one (a CPU adapter divides integers lane by lane).
fn quotient(n: u32, d: u32) -> u32 {
  var q = u32(f32(n) / f32(d));
  if (q * d > n) {
    q -= 1u;
  } else if ((q + 1u) * d <= n) {
    q += 1u;
  }
  return q;
}
`;
