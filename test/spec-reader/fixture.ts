// A tiny edgelake dataset written by hand, straight from FORMAT.md, with its own hashing and
// chunk encoding (no code from src/). Lets any reader be tested against files it did not write.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'fflate';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

// Bitwise IEEE crc32 (deliberately not the reader's table version).
export function bitwiseCrc32(data: Uint8Array): number {
  let c = ~0 >>> 0;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

export interface EncodeOptions {
  /** Replace the crc32 of sample i by this value (to craft a bad chunk). */
  crcOverride?: Record<number, number>;
}

/** Encodes a chunk body: "ELC1", n, flags 0, offsets[n+1], crc32[n], payloads. */
export function encodeChunkBody(payloads: Uint8Array[], opts: EncodeOptions = {}): Uint8Array {
  const n = payloads.length;
  const P = 12 + 4 * (n + 1) + 4 * n;
  const total = P + payloads.reduce((s, p) => s + p.length, 0);
  const body = new Uint8Array(total);
  const dv = new DataView(body.buffer);
  body.set([0x45, 0x4c, 0x43, 0x31]); // "ELC1"
  dv.setUint32(4, n, true);
  dv.setUint32(8, 0, true);
  let off = 0;
  for (let i = 0; i < n; i++) {
    dv.setUint32(12 + 4 * i, off, true);
    dv.setUint32(12 + 4 * (n + 1) + 4 * i, opts.crcOverride?.[i] ?? bitwiseCrc32(payloads[i]), true);
    body.set(payloads[i], P + off);
    off += payloads[i].length;
  }
  dv.setUint32(12 + 4 * n, off, true);
  return body;
}

export interface ChunkEntry { hash: string; bytes: number; samples: number; headerHash: string }

/** Stores a chunk under chunks/<h0h1>/<hash> and returns its manifest entry. */
export function storeChunk(dir: string, payloads: Uint8Array[], chunkCompression: 'none' | 'deflate',
  opts: EncodeOptions = {}): ChunkEntry {
  const body = encodeChunkBody(payloads, opts);
  const n = payloads.length;
  const P = 12 + 4 * (n + 1) + 4 * n;
  const stored = chunkCompression === 'deflate' ? deflateSync(body, { level: 9 }) : body;
  const hash = sha256(stored);
  mkdirSync(join(dir, 'chunks', hash.slice(0, 2)), { recursive: true });
  writeFileSync(join(dir, 'chunks', hash.slice(0, 2), hash), stored);
  return { hash, bytes: stored.length, samples: n, headerHash: sha256(body.subarray(0, P)) };
}

/** Writes a manifest as versions/<sha256>.json and points `ref` (and head) at it. */
export function writeVersion(dir: string, manifest: unknown, name = 'handmade', ref = 'main'): string {
  const raw = new TextEncoder().encode(JSON.stringify(manifest, null, 2) + '\n');
  const versionId = sha256(raw);
  mkdirSync(join(dir, 'versions'), { recursive: true });
  writeFileSync(join(dir, 'versions', `${versionId}.json`), raw);
  const refs = { format: 'edgelake/1', name, head: ref, refs: { [ref]: versionId } };
  writeFileSync(join(dir, 'edgelake.json'), JSON.stringify(refs, null, 2) + '\n');
  return versionId;
}

/** The expected decoded contents of the hand-made dataset. */
export const EXPECTED = {
  name: 'handmade',
  length: 5,
  splits: { train: [[0, 3]], test: [[3, 5]] } as Record<string, [number, number][]>,
  /** image: uint8 [2,2,1] HWC; sample i holds bytes 10*i + [0,1,2,3]. */
  image: [0, 1, 2, 3, 4].map((i) => Uint8Array.from([10 * i, 10 * i + 1, 10 * i + 2, 10 * i + 3])),
  /** label: int32 [] with classNames. */
  label: [2, 0, 1, 2, 1],
  classNames: ['cat', 'dog', 'bird'],
  /** embedding: int8 [3], quant scale 0.5 zeroPoint 1, per-sample DEFLATE. */
  embedding: [[-128, 0, 127], [1, 2, 3], [-1, -2, -3], [5, 5, 5], [0, 0, 0]],
  quant: { scale: [0.5], zeroPoint: [1] },
  /** Chunk layout: image [3, 2] deflate chunks; label [5] plain; embedding [2, 3] plain. */
  chunkSamples: { image: [3, 2], label: [5], embedding: [2, 3] },
};

const int32le = (v: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
};

/** Builds the manifest of the hand-made dataset, storing its chunks under dir. */
export function handmadeManifest(dir: string): Record<string, unknown> {
  const e = structuredClone(EXPECTED); // callers may edit the returned manifest
  const img = e.image;
  const lab = e.label.map(int32le);
  const emb = e.embedding.map((v) => deflateSync(new Uint8Array(Int8Array.from(v).buffer)));
  return {
    format: 'edgelake/1',
    parent: null,
    message: 'hand-made from FORMAT.md',
    created: '2026-11-21T12:00:00Z',
    length: e.length,
    splits: e.splits,
    tensors: {
      image: {
        htype: 'image', dtype: 'uint8', shape: [2, 2, 1], layout: 'HWC',
        sampleCompression: 'none', chunkCompression: 'deflate',
        chunks: [storeChunk(dir, img.slice(0, 3), 'deflate'), storeChunk(dir, img.slice(3), 'deflate')],
      },
      label: {
        htype: 'class_label', dtype: 'int32', shape: [], classNames: e.classNames,
        sampleCompression: 'none', chunkCompression: 'none',
        chunks: [storeChunk(dir, lab, 'none')],
      },
      embedding: {
        htype: 'embedding', dtype: 'int8', shape: [3], quant: e.quant,
        sampleCompression: 'deflate', chunkCompression: 'none',
        chunks: [storeChunk(dir, emb.slice(0, 2), 'none'), storeChunk(dir, emb.slice(2), 'none')],
      },
    },
  };
}

/** Writes the whole hand-made dataset into dir and returns its versionId. */
export function writeHandmadeDataset(dir: string): string {
  return writeVersion(dir, handmadeManifest(dir), EXPECTED.name);
}
