// Edits a dataset folder the way an attacker would, but consistently: every file it writes is
// stored under its real SHA-256, so a reader gets past the hash checks to the rule being tested.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chunkPath, decodeChunk, DEFAULT_LIMITS, encodeChunk, type ChunkRef, type Manifest } from '../../src/format/index.js';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** A dataset folder's head version: its id, manifest file and parsed manifest. */
export function head(dir: string): { id: string; file: string; manifest: Manifest } {
  const refs = JSON.parse(readFileSync(join(dir, 'edgelake.json'), 'utf8'));
  const id = refs.refs[refs.head] as string;
  const file = join(dir, 'versions', `${id}.json`);
  return { id, file, manifest: JSON.parse(readFileSync(file, 'utf8')) };
}

/** Stores `bytes` as a manifest named by their SHA-256 and points the head ref at it; returns the id. */
export function putManifest(dir: string, bytes: Uint8Array): string {
  const id = sha256(bytes);
  writeFileSync(join(dir, 'versions', `${id}.json`), bytes);
  const refs = JSON.parse(readFileSync(join(dir, 'edgelake.json'), 'utf8'));
  refs.refs[refs.head] = id;
  writeFileSync(join(dir, 'edgelake.json'), JSON.stringify(refs));
  return id;
}

/** Rewrites the head manifest through `edit` (on parsed JSON), stored under its new SHA-256. */
export function editManifest(dir: string, edit: (m: Json) => void): string {
  const { manifest } = head(dir);
  edit(manifest);
  return putManifest(dir, new TextEncoder().encode(JSON.stringify(manifest)));
}

/** Stores raw bytes as a chunk file named by their SHA-256; returns the hash. */
export function putChunk(dir: string, stored: Uint8Array): string {
  const hash = sha256(stored);
  mkdirSync(join(dir, 'chunks', hash.slice(0, 2)), { recursive: true });
  writeFileSync(join(dir, chunkPath(hash)), stored);
  return hash;
}

/**
 * Re-encodes chunk `index` of `tensor` with its sample payloads passed through `edit`: new crc32s,
 * header hash, DEFLATE and name, all consistent; the manifest is updated to match.
 */
export async function editChunk(dir: string, tensor: string, index: number, edit: (payloads: Uint8Array[]) => void): Promise<ChunkRef> {
  const meta = head(dir).manifest.tensors[tensor];
  const ref = meta.chunks[index];
  const chunk = await decodeChunk(readFileSync(join(dir, chunkPath(ref.hash))), ref, meta, DEFAULT_LIMITS, { tensor });
  const payloads = Array.from({ length: ref.samples }, (_, i) => chunk.payload(i).slice());
  edit(payloads);
  const encoded = await encodeChunk(payloads, meta.chunkCompression);
  putChunk(dir, encoded.stored);
  editManifest(dir, (m) => { m.tensors[tensor].chunks[index] = encoded.ref; });
  return encoded.ref;
}

/** An int32 payload, as class labels are stored. */
export const int32 = (v: number): Uint8Array => new Uint8Array(Int32Array.of(v).buffer);
