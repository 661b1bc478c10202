import { sha256Hex } from './hash.js';
import type { ChunkRef, HeaderIndexRef, TensorSpec } from './manifest.js';
import { chunkHeaderBytes } from './validate.js';

/*
 * A tensor's header index (FORMAT.md, "Header index"): the headers of its chunks, concatenated in
 * chunk order, stored like a chunk under its SHA-256. A view that reads a few samples of many
 * uncompressed chunks learns where they lie from this one file, not from one request per chunk
 * (Deep Lake keeps its chunks' byte positions beside them for the same reason).
 */

/** Whether a writer gives `spec`'s `chunks` a header index: only ranges of uncompressed chunks use one, and one chunk's header is one read anyway. */
export function wantsHeaderIndex(spec: TensorSpec, chunks: number): boolean {
  return spec.chunkCompression === 'none' && !spec.linked && chunks > 1;
}

/** The index of `headers` (each chunk's body bytes [0, P), in chunk order) and its manifest entry. */
export async function encodeHeaderIndex(headers: Uint8Array[]): Promise<{ bytes: Uint8Array; ref: HeaderIndexRef }> {
  const bytes = new Uint8Array(headers.reduce((a, h) => a + h.length, 0));
  let at = 0;
  for (const h of headers) {
    bytes.set(h, at);
    at += h.length;
  }
  return { bytes, ref: { hash: await sha256Hex(bytes), bytes: bytes.length } };
}

/** Where each chunk's header starts in the index, plus its length at the end: chunk c's is [at[c], at[c+1]). */
export function headerIndexOffsets(chunks: readonly Pick<ChunkRef, 'samples'>[]): number[] {
  const at = [0];
  for (const c of chunks) at.push(at[at.length - 1] + chunkHeaderBytes(c.samples));
  return at;
}
