// Independent second reader of the edgelake dataset format, written only from docs/FORMAT.md.
// It reads a dataset root folder on local disk and verifies everything the spec lets a reader
// verify. It deliberately shares no code with src/: its value is that it is independent.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Inflate } from 'fflate';
import {
  HEX64, ITEM_SIZE, own, validateManifest, validateRefs,
  type Manifest, type Refs, type TensorInfo,
} from './json.js';

export * from './json.js';

export interface ReaderOptions {
  /** Upper bound on any inflated chunk body or sample payload (default 512 MiB). */
  maxInflatedBytes?: number;
  /** Upper bound on a stored chunk (default 256 MiB). */
  maxChunkBytes?: number;
  /** Upper bound on edgelake.json and manifest size (default 64 MiB). */
  maxJsonBytes?: number;
}
export interface TensorHandle {
  info: TensorInfo;
  readSamplePayloads(): Generator<Uint8Array>;
  readTensorBytes(): Uint8Array;
}
export interface Dataset {
  refs: Refs; versionId: string; manifest: Manifest;
  tensor(name: string): TensorHandle;
  readSamplePayloads(name: string): Generator<Uint8Array>;
  readTensorBytes(name: string): Uint8Array;
  /** Reads and verifies every chunk of every tensor. */
  verifyAll(): void;
}

// ---- small helpers -------------------------------------------------------------------------

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();
export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
export const sha256hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');


/** Concatenates byte arrays. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** Raw DEFLATE (RFC 1951) inflate that refuses to produce more than `limit` bytes. */
function inflateBounded(data: Uint8Array, limit: number, fail: (m: string) => never): Uint8Array {
  if (data.length === 0) fail('empty DEFLATE stream');
  const parts: Uint8Array[] = [];
  let total = 0;
  let ended = false;
  const inf = new Inflate((chunk, final) => {
    total += chunk.length;
    if (total > limit) throw new RangeError(`inflated size exceeds limit ${limit}`);
    parts.push(chunk);
    if (final) ended = true;
  });
  try {
    const step = 4096; // a 4 KiB slice inflates to at most ~4 MiB, so the limit overshoots little
    for (let o = 0; o < data.length; o += step) {
      inf.push(data.subarray(o, o + step), o + step >= data.length);
    }
  } catch (e) {
    fail(`DEFLATE error: ${(e as Error).message}`);
  }
  if (!ended) fail('DEFLATE stream did not end');
  return concat(parts);
}

// ---- the reader ----------------------------------------------------------------------------

export function readDataset(root: string, ref?: string, opts: ReaderOptions = {}): Dataset {
  const maxInflated = opts.maxInflatedBytes ?? 512 * 2 ** 20;
  const maxChunk = opts.maxChunkBytes ?? 256 * 2 ** 20;
  const maxJson = opts.maxJsonBytes ?? 64 * 2 ** 20;

  const readFile = (rel: string, maxBytes: number, fail: (m: string) => never): Uint8Array => {
    let size: number;
    try { size = statSync(join(root, rel)).size; } catch (e) { fail(`cannot stat: ${(e as Error).message}`); }
    if (size > maxBytes) fail(`file is ${size} bytes, more than the ${maxBytes} allowed`);
    return new Uint8Array(readFileSync(join(root, rel)));
  };
  const readJson = (rel: string, fail: (m: string) => never): { raw: Uint8Array; value: unknown } => {
    const raw = readFile(rel, maxJson, fail);
    try {
      return { raw, value: JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw)) };
    } catch (e) {
      fail(`invalid JSON: ${(e as Error).message}`);
    }
  };

  const refsFail = (m: string): never => { throw new Error(`edgelake.json: ${m}`); };
  const refs = validateRefs(readJson('edgelake.json', refsFail).value, refsFail);
  const refName = ref ?? refs.head;
  let versionId: string;
  if (own(refs.refs, refName)) versionId = refs.refs[refName];
  else if (refs.tags && own(refs.tags, refName)) versionId = refs.tags[refName];
  else if (HEX64.test(refName)) versionId = refName; // a pinned version id
  else refsFail(`no ref named ${JSON.stringify(refName)}`);
  const versionPath = `versions/${versionId!}.json`;
  const vFail = (m: string): never => {
    throw new Error(`${versionPath} (dataset "${refs.name}"): ${m}`);
  };
  const { raw, value } = readJson(versionPath, vFail);
  if (sha256hex(raw) !== versionId!) vFail(`SHA-256 of the file is ${sha256hex(raw)}, not its name`);
  const manifest = validateManifest(value, maxChunk, vFail);

  const getTensor = (name: string): TensorInfo => {
    if (!own(manifest.tensors, name)) vFail(`no tensor named ${JSON.stringify(name)}`);
    return manifest.tensors[name];
  };

  /** Expected payload byte length of one decoded sample, or null if shape varies. */
  const fixedSize = (t: TensorInfo): number | null =>
    t.shape.some((d) => d === null) ? null
      : t.shape.reduce<number>((a, d) => a * (d as number), 1) * ITEM_SIZE[t.dtype];

  function* readSamplePayloads(name: string): Generator<Uint8Array> {
    const t = getTensor(name);
    const sampleSize = fixedSize(t);
    const fixedDims = t.shape.reduce<number>((a, d) => a * (d ?? 1), 1) * ITEM_SIZE[t.dtype];
    for (let ci = 0; ci < t.chunks.length; ci++) {
      const c = t.chunks[ci];
      const path = `chunks/${c.hash.slice(0, 2)}/${c.hash}`;
      const fail = (m: string): never => {
        throw new Error(`${path} (dataset "${refs.name}", version ${versionId}, tensor "${name}", chunk ${ci}): ${m}`);
      };
      if (!HEX64.test(c.hash)) fail('chunk name is not 64 lowercase hex'); // re-checked: names a path
      const stored = readFile(path, c.bytes, fail);
      if (stored.length !== c.bytes) fail(`stored size ${stored.length} != manifest bytes ${c.bytes}`);
      if (sha256hex(stored) !== c.hash) fail('SHA-256 of stored bytes does not match its name');
      const n = c.samples;
      const P = 12 + 4 * (n + 1) + 4 * n;
      let body = stored;
      if (t.chunkCompression === 'deflate') {
        const exact = sampleSize !== null && t.sampleCompression === 'none' ? P + n * sampleSize : Infinity;
        body = inflateBounded(stored, Math.min(maxInflated, exact), fail);
      }
      if (body.length < P) fail(`body is ${body.length} bytes, shorter than its header (${P})`);
      const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
      if (body[0] !== 0x45 || body[1] !== 0x4c || body[2] !== 0x43 || body[3] !== 0x31) fail('bad magic');
      if (dv.getUint32(4, true) !== n) fail(`n is ${dv.getUint32(4, true)}, manifest says ${n}`);
      if (dv.getUint32(8, true) !== 0) fail('flags must be 0');
      if (sha256hex(body.subarray(0, P)) !== c.headerHash) fail('headerHash mismatch');
      const off = (i: number): number => dv.getUint32(12 + 4 * i, true);
      if (off(0) !== 0) fail('offsets[0] must be 0');
      if (P + off(n) !== body.length) fail(`payload area ends at ${P + off(n)}, body is ${body.length}`);
      for (let i = 0; i < n; i++) if (off(i + 1) < off(i)) fail(`offsets not monotone at sample ${i}`);
      for (let i = 0; i < n; i++) {
        let payload = body.subarray(P + off(i), P + off(i + 1));
        if (crc32(payload) !== dv.getUint32(12 + 4 * (n + 1) + 4 * i, true)) fail(`crc32 mismatch at sample ${i}`);
        if (t.sampleCompression === 'deflate') {
          payload = inflateBounded(payload, Math.min(maxInflated, sampleSize ?? Infinity), fail);
        }
        if (t.sampleCompression === 'none' || t.sampleCompression === 'deflate') {
          if (t.dtype !== 'bytes' && (sampleSize !== null ? payload.length !== sampleSize
            : fixedDims === 0 ? payload.length !== 0 : payload.length % fixedDims !== 0)) {
            fail(`sample ${i} is ${payload.length} bytes, which does not fit shape ${JSON.stringify(t.shape)} of ${t.dtype}`);
          }
        }
        yield payload;
      }
    }
  }

  /** The tensor's header index, when it has one: its SHA-256, and each chunk's header in it against headerHash. */
  function verifyHeaderIndex(name: string): void {
    const t = getTensor(name);
    if (!t.headers) return;
    const path = `chunks/${t.headers.hash.slice(0, 2)}/${t.headers.hash}`;
    const fail = (m: string): never => {
      throw new Error(`${path} (dataset "${refs.name}", version ${versionId}, tensor "${name}", header index): ${m}`);
    };
    const index = readFile(path, t.headers.bytes, fail);
    if (index.length !== t.headers.bytes || sha256hex(index) !== t.headers.hash) fail('size or SHA-256 does not match the manifest');
    let at = 0;
    t.chunks.forEach((c, ci) => {
      const P = 12 + 4 * (c.samples + 1) + 4 * c.samples;
      if (sha256hex(index.subarray(at, at + P)) !== c.headerHash) fail(`header of chunk ${ci} does not match its headerHash`);
      at += P;
    });
  }

  const readTensorBytes = (name: string): Uint8Array => concat([...readSamplePayloads(name)]);
  return {
    refs, versionId: versionId!, manifest,
    tensor: (name) => ({
      info: getTensor(name),
      readSamplePayloads: () => readSamplePayloads(name),
      readTensorBytes: () => readTensorBytes(name),
    }),
    readSamplePayloads, readTensorBytes,
    verifyAll() {
      for (const name of Object.keys(manifest.tensors)) {
        verifyHeaderIndex(name);
        for (const _ of readSamplePayloads(name));
      }
    },
  };
}
