// Independent second reader of the edgelake dataset format, written only from FORMAT.md.
// It reads a dataset root folder on local disk and verifies everything the spec lets a reader
// verify. It deliberately shares no code with src/: its value is that it is independent.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Inflate } from 'fflate';

export const FORMAT = 'edgelake/1';
export const HEX64 = /^[0-9a-f]{64}$/;
export const REF_NAME = /^[A-Za-z0-9._-]{1,100}$/;
export const HTYPES = ['image', 'class_label', 'embedding', 'bbox', 'text', 'generic'] as const;
export const ITEM_SIZE = {
  uint8: 1, int8: 1, uint16: 2, int16: 2, int32: 4, uint32: 4, float16: 2, float32: 4, bytes: 1,
} as const;
export const SAMPLE_COMPRESSION = ['none', 'deflate', 'jpeg', 'png'] as const;
export const CHUNK_COMPRESSION = ['none', 'deflate'] as const;

export type Dtype = keyof typeof ITEM_SIZE;
export interface ChunkRef { hash: string; bytes: number; samples: number; headerHash: string }
export interface TensorInfo {
  htype: (typeof HTYPES)[number]; dtype: Dtype; shape: (number | null)[]; layout?: string;
  classNames?: string[]; quant?: { scale: number[]; zeroPoint: number[] };
  sampleCompression: (typeof SAMPLE_COMPRESSION)[number];
  chunkCompression: (typeof CHUNK_COMPRESSION)[number]; chunks: ChunkRef[];
}
export interface Manifest {
  format: string; parent: string | null; message: string; created: string; length: number;
  splits: Record<string, [number, number][]>; tensors: Record<string, TensorInfo>;
}
export interface Refs { format: string; name: string; head: string; refs: Record<string, string> }
export interface ReaderOptions {
  /** Upper bound on any inflated chunk body or sample payload (default 256 MiB). */
  maxInflatedBytes?: number;
  /** Upper bound on edgelake.json and manifest size (default 64 MiB). */
  maxJsonBytes?: number;
  /** Tolerate JSON keys FORMAT.md does not define (default false: they are refused). */
  allowUnknownKeys?: boolean;
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

const own = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);
const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isUint = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

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

// ---- JSON validation -----------------------------------------------------------------------

function checkKeys(v: Record<string, unknown>, required: string[], optional: string[],
  strict: boolean, where: string, fail: (m: string) => never): void {
  for (const k of required) if (!own(v, k)) fail(`${where}: missing key "${k}"`);
  if (strict) {
    for (const k of Object.keys(v)) {
      if (!required.includes(k) && !optional.includes(k)) fail(`${where}: unknown key "${k}"`);
    }
  }
}

function validateRefs(v: unknown, strict: boolean, fail: (m: string) => never): Refs {
  if (!isObj(v)) fail('not a JSON object');
  checkKeys(v, ['format', 'name', 'head', 'refs'], [], strict, 'refs file', fail);
  if (v.format !== FORMAT) fail(`format is ${JSON.stringify(v.format)}, expected "${FORMAT}"`);
  if (typeof v.name !== 'string' || v.name === '') fail('name must be a non-empty string');
  if (typeof v.head !== 'string' || !REF_NAME.test(v.head)) fail('head is not a valid ref name');
  if (!isObj(v.refs)) fail('refs must be an object');
  for (const [k, id] of Object.entries(v.refs)) {
    if (!REF_NAME.test(k)) fail(`ref name ${JSON.stringify(k)} does not match ${REF_NAME}`);
    if (typeof id !== 'string' || !HEX64.test(id)) fail(`ref "${k}" is not a 64-hex versionId`);
  }
  if (!own(v.refs, v.head)) fail(`head "${v.head}" is not among refs`);
  return v as unknown as Refs;
}

const CREATED = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

function validateManifest(v: unknown, strict: boolean, fail: (m: string) => never): Manifest {
  if (!isObj(v)) fail('not a JSON object');
  checkKeys(v, ['format', 'parent', 'message', 'created', 'length', 'splits', 'tensors'], [],
    strict, 'manifest', fail);
  if (v.format !== FORMAT) fail(`format is ${JSON.stringify(v.format)}, expected "${FORMAT}"`);
  if (v.parent !== null && !(typeof v.parent === 'string' && HEX64.test(v.parent))) {
    fail('parent must be null or a 64-hex versionId');
  }
  if (typeof v.message !== 'string') fail('message must be a string');
  if (typeof v.created !== 'string' || !CREATED.test(v.created) || isNaN(Date.parse(v.created))) {
    fail('created must be an ISO 8601 UTC timestamp like 2026-11-21T12:00:00Z');
  }
  if (!isUint(v.length)) fail('length must be a non-negative integer');
  const length = v.length;
  if (!isObj(v.splits)) fail('splits must be an object');
  for (const [name, ranges] of Object.entries(v.splits)) {
    if (!Array.isArray(ranges)) fail(`split "${name}" must be a list of ranges`);
    for (const r of ranges) {
      if (!Array.isArray(r) || r.length !== 2 || !isUint(r[0]) || !isUint(r[1]) ||
        r[0] > r[1] || r[1] > length) {
        fail(`split "${name}": ${JSON.stringify(r)} is not a range [start, end) within 0..${length}`);
      }
    }
  }
  if (!isObj(v.tensors)) fail('tensors must be an object');
  for (const [name, t] of Object.entries(v.tensors)) {
    const w = `tensor "${name}"`;
    if (name === '') fail('tensor name is empty');
    if (!isObj(t)) fail(`${w} is not an object`);
    checkKeys(t, ['htype', 'dtype', 'shape', 'sampleCompression', 'chunkCompression', 'chunks'],
      ['layout', 'classNames', 'quant'], strict, w, fail);
    if (!(HTYPES as readonly unknown[]).includes(t.htype)) fail(`${w}: unknown htype`);
    if (typeof t.dtype !== 'string' || !own(ITEM_SIZE, t.dtype)) fail(`${w}: unknown dtype`);
    if (!Array.isArray(t.shape) || !t.shape.every((d) => d === null || isUint(d))) {
      fail(`${w}: shape must be a list of non-negative integers or null`);
    }
    if (t.layout !== undefined && (typeof t.layout !== 'string' || t.layout === '')) {
      fail(`${w}: layout must be a non-empty string`);
    }
    if (t.classNames !== undefined &&
      !(Array.isArray(t.classNames) && t.classNames.every((c) => typeof c === 'string'))) {
      fail(`${w}: classNames must be a list of strings`);
    }
    if (t.quant !== undefined) {
      const q = t.quant;
      if (t.dtype !== 'int8' && t.dtype !== 'uint8') fail(`${w}: quant only for int8/uint8`);
      if (!isObj(q)) fail(`${w}: quant must be an object`);
      checkKeys(q, ['scale', 'zeroPoint'], [], strict, `${w} quant`, fail);
      const last = t.shape.length ? t.shape[t.shape.length - 1] : 1;
      for (const k of ['scale', 'zeroPoint'] as const) {
        const a = q[k];
        if (!Array.isArray(a) || !a.every((x) => typeof x === 'number' && isFinite(x)) ||
          !(a.length === 1 || (a.length > 1 && a.length === last))) {
          fail(`${w}: quant.${k} must hold 1 number or one per channel (last shape extent)`);
        }
      }
    }
    if (!(SAMPLE_COMPRESSION as readonly unknown[]).includes(t.sampleCompression)) {
      fail(`${w}: unknown sampleCompression`);
    }
    if (!(CHUNK_COMPRESSION as readonly unknown[]).includes(t.chunkCompression)) {
      fail(`${w}: unknown chunkCompression`);
    }
    if (t.sampleCompression !== 'none' && t.chunkCompression !== 'none') {
      fail(`${w}: at most one of sampleCompression and chunkCompression may be set`);
    }
    if (!Array.isArray(t.chunks)) fail(`${w}: chunks must be a list`);
    let sum = 0;
    t.chunks.forEach((c: unknown, i: number) => {
      const cw = `${w} chunk ${i}`;
      if (!isObj(c)) fail(`${cw} is not an object`);
      checkKeys(c, ['hash', 'bytes', 'samples', 'headerHash'], [], strict, cw, fail);
      if (typeof c.hash !== 'string' || !HEX64.test(c.hash)) {
        fail(`${cw}: hash ${JSON.stringify(c.hash)} is not 64 lowercase hex`);
      }
      if (typeof c.headerHash !== 'string' || !HEX64.test(c.headerHash)) {
        fail(`${cw}: headerHash is not 64 lowercase hex`);
      }
      if (!isUint(c.bytes) || !isUint(c.samples)) fail(`${cw}: bytes/samples must be integers`);
      sum += c.samples;
    });
    if (sum !== length) fail(`${w}: chunk samples sum to ${sum}, length is ${length}`);
  }
  return v as unknown as Manifest;
}

// ---- the reader ----------------------------------------------------------------------------

export function readDataset(root: string, ref?: string, opts: ReaderOptions = {}): Dataset {
  const maxInflated = opts.maxInflatedBytes ?? 256 * 2 ** 20;
  const maxJson = opts.maxJsonBytes ?? 64 * 2 ** 20;
  const strict = !opts.allowUnknownKeys;

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
  const refs = validateRefs(readJson('edgelake.json', refsFail).value, strict, refsFail);
  const refName = ref ?? refs.head;
  let versionId: string;
  if (own(refs.refs, refName)) versionId = refs.refs[refName];
  else if (HEX64.test(refName)) versionId = refName; // a pinned version id
  else refsFail(`no ref named ${JSON.stringify(refName)}`);
  const versionPath = `versions/${versionId!}.json`;
  const vFail = (m: string): never => {
    throw new Error(`${versionPath} (dataset "${refs.name}"): ${m}`);
  };
  const { raw, value } = readJson(versionPath, vFail);
  if (sha256hex(raw) !== versionId!) vFail(`SHA-256 of the file is ${sha256hex(raw)}, not its name`);
  const manifest = validateManifest(value, strict, vFail);

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

  const readTensorBytes = (name: string): Uint8Array => concat([...readSamplePayloads(name)]);
  return {
    refs, versionId: versionId!, manifest,
    tensor: (name) => ({
      info: getTensor(name),
      readSamplePayloads: () => readSamplePayloads(name),
      readTensorBytes: () => readTensorBytes(name),
    }),
    readSamplePayloads, readTensorBytes,
    verifyAll() { for (const name of Object.keys(manifest.tensors)) for (const _ of readSamplePayloads(name)); },
  };
}
