import { encodeChunk } from '../chunk.js';
import { chunkPath, type ChunkCompression, type ChunkRef } from '../manifest.js';
import type { Sink } from '../sink.js';

/**
 * Encodes stored sample payloads into one chunk and writes it, unless `stored` already holds its
 * hash (the parent's chunks, or one this commit wrote): a chunk with the parent's bytes is the
 * parent's chunk, shared. A hash written here joins `stored`.
 */
export async function writeChunk(sink: Sink, payloads: Uint8Array[], compression: ChunkCompression, stored: Set<string>): Promise<ChunkRef> {
  const { stored: bytes, ref } = await encodeChunk(payloads, compression);
  if (!stored.has(ref.hash)) await sink.write(chunkPath(ref.hash), bytes);
  stored.add(ref.hash);
  return ref;
}

/** Every chunk hash a manifest's tensors hold: what a child version need not write again. */
export function storedHashes(tensors: Record<string, { chunks: ChunkRef[] }>): Set<string> {
  return new Set(Object.values(tensors).flatMap((t) => t.chunks.map((c) => c.hash)));
}
