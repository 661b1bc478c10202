// JSON half of the independent spec reader: the rules of FORMAT.md for edgelake.json and
// version manifests. Like reader.ts, it shares no code with src/.

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
  headers?: { hash: string; bytes: number };
}
export interface Manifest {
  format: string; parent: string | null; message: string; created: string; length: number;
  splits: Record<string, [number, number][]>; tensors: Record<string, TensorInfo>;
}
export interface Refs { format: string; name: string; head: string; refs: Record<string, string>; tags?: Record<string, string> }

export const own = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);
export const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
export const isUint = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

// ---- JSON validation -----------------------------------------------------------------------

// FORMAT.md: a version-1 reader refuses keys it does not know.
function checkKeys(v: Record<string, unknown>, required: string[], optional: string[],
  where: string, fail: (m: string) => never): void {
  for (const k of required) if (!own(v, k)) fail(`${where}: missing key "${k}"`);
  for (const k of Object.keys(v)) {
    if (!required.includes(k) && !optional.includes(k)) fail(`${where}: unknown key "${k}"`);
  }
}

/** Code points in s, stopping past max (a hostile name may be huge). */
function countCodePoints(s: string, max: number): number {
  let n = 0;
  for (const _ of s) if (++n > max) break;
  return n;
}

export function validateRefs(v: unknown, fail: (m: string) => never): Refs {
  if (!isObj(v)) fail('not a JSON object');
  checkKeys(v, ['format', 'name', 'head', 'refs'], ['tags'], 'refs file', fail);
  if (v.format !== FORMAT) fail(`format is ${JSON.stringify(v.format)}, expected "${FORMAT}"`);
  if (typeof v.name !== 'string' || v.name === '' || countCodePoints(v.name, 200) > 200) {
    fail('name must be a string of 1 to 200 characters');
  }
  if (typeof v.head !== 'string' || !REF_NAME.test(v.head)) fail('head is not a valid ref name');
  if (!isObj(v.refs)) fail('refs must be an object');
  for (const [k, id] of Object.entries(v.refs)) {
    if (!REF_NAME.test(k)) fail(`ref name ${JSON.stringify(k)} does not match ${REF_NAME}`);
    if (typeof id !== 'string' || !HEX64.test(id)) fail(`ref "${k}" is not a 64-hex versionId`);
  }
  if (!own(v.refs, v.head)) fail(`head "${v.head}" is not among refs`);
  if (own(v, 'tags')) {
    if (!isObj(v.tags)) fail('tags must be an object');
    for (const [k, id] of Object.entries(v.tags)) {
      if (!REF_NAME.test(k)) fail(`tag name ${JSON.stringify(k)} does not match ${REF_NAME}`);
      if (own(v.refs, k)) fail(`"${k}" is both a ref and a tag`);
      if (typeof id !== 'string' || !HEX64.test(id)) fail(`tag "${k}" is not a 64-hex versionId`);
    }
  }
  return v as unknown as Refs;
}

const CREATED = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?Z$/;
/** RFC 3339 in UTC with a real calendar date (Date.parse accepts Feb 30, so count days here). */
function isCreated(s: string): boolean {
  const m = CREATED.exec(s);
  if (!m) return false;
  const [y, mo, d, hh, mm, ss] = m.slice(1, 7).map(Number);
  const feb = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  const monthDays = [0, 31, feb, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo] ?? 0;
  return d >= 1 && d <= monthDays && hh < 24 && mm < 60 && ss <= 60;
}
const ZERO_POINT: Record<string, [number, number]> = { int8: [-128, 127], uint8: [0, 255] };

export function validateManifest(v: unknown, maxChunkBytes: number, fail: (m: string) => never): Manifest {
  if (!isObj(v)) fail('not a JSON object');
  checkKeys(v, ['format', 'parent', 'message', 'created', 'length', 'splits', 'tensors'], [],
    'manifest', fail);
  if (v.format !== FORMAT) fail(`format is ${JSON.stringify(v.format)}, expected "${FORMAT}"`);
  if (v.parent !== null && !(typeof v.parent === 'string' && HEX64.test(v.parent))) {
    fail('parent must be null or a 64-hex versionId');
  }
  if (typeof v.message !== 'string') fail('message must be a string');
  if (typeof v.created !== 'string' || !isCreated(v.created)) {
    fail('created must be an RFC 3339 UTC date-time like 2026-11-21T12:00:00Z');
  }
  if (!isUint(v.length)) fail('length must be a non-negative integer');
  const length = v.length;
  if (!isObj(v.splits)) fail('splits must be an object');
  for (const [name, ranges] of Object.entries(v.splits)) {
    if (!REF_NAME.test(name)) fail(`split name ${JSON.stringify(name)} does not match ${REF_NAME}`);
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
    if (!REF_NAME.test(name)) fail(`tensor name ${JSON.stringify(name)} does not match ${REF_NAME}`);
    if (!isObj(t)) fail(`${w} is not an object`);
    checkKeys(t, ['htype', 'dtype', 'shape', 'sampleCompression', 'chunkCompression', 'chunks'],
      ['layout', 'classNames', 'quant', 'headers'], w, fail);
    if (!(HTYPES as readonly unknown[]).includes(t.htype)) fail(`${w}: unknown htype`);
    if (typeof t.dtype !== 'string' || !own(ITEM_SIZE, t.dtype)) fail(`${w}: unknown dtype`);
    if (!Array.isArray(t.shape) || t.shape.length > 8 ||
      !t.shape.every((d) => d === null || (isUint(d) && d < 2 ** 31))) {
      fail(`${w}: shape must be at most 8 extents, each null or an integer in [0, 2^31)`);
    }
    if (t.layout !== undefined && (typeof t.layout !== 'string' || !/^[A-Za-z]*$/.test(t.layout) ||
      t.layout.length !== t.shape.length || t.layout.length === 0 || new Set(t.layout).size !== t.layout.length)) {
      fail(`${w}: layout must be one distinct letter per shape dimension`);
    }
    if (t.classNames !== undefined) {
      if (t.htype !== 'class_label') fail(`${w}: classNames only on class_label tensors`);
      if (!(Array.isArray(t.classNames) && t.classNames.every((c) => typeof c === 'string'))) {
        fail(`${w}: classNames must be a list of strings`);
      }
    }
    if (t.quant !== undefined) {
      const q = t.quant;
      if (t.dtype !== 'int8' && t.dtype !== 'uint8') fail(`${w}: quant only for int8/uint8`);
      if (!isObj(q)) fail(`${w}: quant must be an object`);
      checkKeys(q, ['scale', 'zeroPoint'], [], `${w} quant`, fail);
      const last = t.shape.length ? t.shape[t.shape.length - 1] : null;
      const [lo, hi] = ZERO_POINT[t.dtype];
      for (const k of ['scale', 'zeroPoint'] as const) {
        const a = q[k];
        if (!Array.isArray(a) || !(a.length === 1 || (a.length > 1 && a.length === last))) {
          fail(`${w}: quant.${k} must hold 1 number or one per channel (last shape extent)`);
        }
      }
      if (!(q.scale as unknown[]).every((x) => typeof x === 'number' && isFinite(x) && x > 0)) {
        fail(`${w}: quant.scale entries must be finite and > 0`);
      }
      if (!(q.zeroPoint as unknown[]).every((x) => Number.isInteger(x) && (x as number) >= lo && (x as number) <= hi)) {
        fail(`${w}: quant.zeroPoint entries must be integers in [${lo}, ${hi}]`);
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
    if ((t.sampleCompression === 'jpeg' || t.sampleCompression === 'png') && t.dtype !== 'uint8') {
      fail(`${w}: ${t.sampleCompression} needs dtype uint8`);
    }
    if ((t.sampleCompression === 'jpeg' || t.sampleCompression === 'png') && !(t.shape.length === 3 && [3, null].includes(t.shape[2]))) {
      fail(`${w}: ${t.sampleCompression} images decode to RGB, so shape must be [H, W, 3]`);
    }
    if (!Array.isArray(t.chunks)) fail(`${w}: chunks must be a list`);
    let sum = 0;
    t.chunks.forEach((c: unknown, i: number) => {
      const cw = `${w} chunk ${i}`;
      if (!isObj(c)) fail(`${cw} is not an object`);
      checkKeys(c, ['hash', 'bytes', 'samples', 'headerHash'], [], cw, fail);
      if (typeof c.hash !== 'string' || !HEX64.test(c.hash)) {
        fail(`${cw}: hash ${JSON.stringify(c.hash)} is not 64 lowercase hex`);
      }
      if (typeof c.headerHash !== 'string' || !HEX64.test(c.headerHash)) {
        fail(`${cw}: headerHash is not 64 lowercase hex`);
      }
      if (!isUint(c.bytes) || !isUint(c.samples)) fail(`${cw}: bytes/samples must be integers`);
      if (c.bytes < 1 || c.samples < 1 || c.samples > 2 ** 32 - 1) fail(`${cw}: bytes must be >= 1, samples in [1, 2^32)`);
      if (c.bytes > maxChunkBytes) fail(`${cw}: bytes ${c.bytes} is more than the ${maxChunkBytes} allowed`);
      sum += c.samples;
    });
    if (sum !== length) fail(`${w}: chunk samples sum to ${sum}, length is ${length}`);
    if (t.headers !== undefined) {
      const h = t.headers;
      if (!isObj(h)) fail(`${w}: headers must be an object`);
      checkKeys(h, ['hash', 'bytes'], [], `${w} headers`, fail);
      if (typeof h.hash !== 'string' || !HEX64.test(h.hash)) fail(`${w}: headers.hash is not 64 lowercase hex`);
      const P = (t.chunks as { samples: number }[]).reduce((a, c) => a + 12 + 8 * c.samples + 4, 0);
      if (h.bytes !== P) fail(`${w}: headers.bytes must be ${P}, the sum of the chunks' header sizes`);
    }
  }
  return v as unknown as Manifest;
}
