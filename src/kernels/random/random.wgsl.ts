/**
 * The counter-based hash RNG of random.ts in WGSL, bit for bit: a random number is a
 * pure function of (seed, a, b, c), e.g. (seed, epoch, sample id, draw), so the GPU kernels and
 * their CPU references draw the same augmentation parameters. Include it in a shader's source.
 */
export const randomWgsl = /* wgsl */ `
fn pcg_hash(x: u32) -> u32 {
  let state = x * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

fn hash4(seed: u32, a: u32, b: u32, c: u32) -> u32 {
  return pcg_hash(pcg_hash(pcg_hash(pcg_hash(seed) ^ a) ^ b) ^ c);
}

// [0, 1) with 24 bits, exact in f32; the TypeScript twin is uniform24().
fn uniform24(seed: u32, a: u32, b: u32, c: u32) -> f32 {
  return f32(hash4(seed, a, b, c) >> 8u) * (1.0 / 16777216.0);
}
`;
