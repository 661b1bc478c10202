/**
 * A counter-based hash RNG: every random number is a pure function of its key, so any draw can be
 * made in any order, on any thread, and (with the same hash in WGSL) on the GPU. The mixer is
 * the PCG hash (Jarzynski & Olano, "Hash Functions for GPU Rendering", 2020), u32 only.
 */
export function pcgHash(x: number): number {
  const state = (Math.imul(x >>> 0, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

/** u32 for the key (seed, a, b, c): e.g. (seed, epoch, sample id, draw). */
export function hash4(seed: number, a: number, b: number, c: number): number {
  return pcgHash((pcgHash((pcgHash((pcgHash(seed) ^ a) >>> 0) ^ b) >>> 0) ^ c) >>> 0);
}

/** A float in [0, 1) for the key. */
export function uniform(seed: number, a: number, b: number, c: number): number {
  return hash4(seed, a, b, c) / 4294967296;
}

/**
 * A float in [0, 1) from the top 24 bits, exactly representable in float32: the same value the
 * WGSL `uniform24` gives, so GPU and CPU augmentations draw identical parameters.
 */
export function uniform24(seed: number, a: number, b: number, c: number): number {
  return (hash4(seed, a, b, c) >>> 8) / 16777216;
}

/** Fisher-Yates shuffle in place, each swap drawn from the key (seed, a, b, position). */
export function shuffleInPlace<T extends { length: number; [i: number]: unknown }>(items: T, seed: number, a: number, b: number): T {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(uniform(seed, a, b, i) * (i + 1));
    const t = items[i];
    items[i] = items[j];
    items[j] = t;
  }
  return items;
}
