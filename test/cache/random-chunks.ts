import { sha256Hex } from '../../src/format/index.js';

/** mulberry32: a tiny seeded PRNG, so every process derives the same chunks from the same seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Chunk `index` of `seed`: random bytes of a random size in [minBytes, maxBytes], named by their real SHA-256. */
export async function randomChunk(seed: number, index: number, minBytes: number, maxBytes: number) {
  const next = mulberry32(Math.imul(seed + 1, 0x9e3779b1) ^ index);
  const size = minBytes + (next() % (maxBytes - minBytes + 1));
  const words = new Uint32Array(Math.ceil(size / 4));
  for (let i = 0; i < words.length; i++) words[i] = next();
  const bytes = new Uint8Array(words.buffer, 0, size);
  return { hash: await sha256Hex(bytes), bytes };
}

export function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a !== undefined && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}
