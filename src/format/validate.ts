import { EdgelakeError, type ErrorCode } from '../errors.js';
import { SHA256_HEX } from './hash.js';
import { jsonProblem } from './json-check.js';
import type { ReadLimits } from './limits.js';
import {
  DTYPE_BYTES, FORMAT_VERSION,
  type ChunkRef, type Dtype, type Manifest, type Quant, type Refs, type TensorMeta,
} from './manifest.js';

/** Ref, split and tensor names: safe in paths, URLs and UIs. */
export const NAME = /^[A-Za-z0-9._-]{1,100}$/;
const DTYPES = new Set([...Object.keys(DTYPE_BYTES), 'bytes']);
const HTYPES = new Set(['image', 'class_label', 'embedding', 'bbox', 'text', 'generic']);
const SAMPLE_COMPRESSIONS = new Set(['none', 'deflate', 'jpeg', 'png']);
const CHUNK_COMPRESSIONS = new Set(['none', 'deflate']);
const CREATED = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?Z$/;
const MAX_RANK = 8;
const MAX_EXTENT = 2 ** 31 - 1;
const MAX_DATASET_NAME = 200;
const ZERO_POINT_RANGE = { int8: [-128, 127], uint8: [0, 255] } as const;

const REFS_KEYS = ['format', 'name', 'head', 'refs'];
const REFS_OPTIONAL = ['tags'];
const MANIFEST_KEYS = ['format', 'parent', 'message', 'created', 'length', 'splits', 'tensors'];
const TENSOR_KEYS = ['htype', 'dtype', 'shape', 'sampleCompression', 'chunkCompression', 'chunks'];
const TENSOR_OPTIONAL = ['layout', 'classNames', 'quant', 'linked', 'headers'];
const HEADER_INDEX_KEYS = ['hash', 'bytes'];
const CHUNK_KEYS = ['hash', 'bytes', 'samples', 'headerHash'];

/** A value for an error message, cut short: it may be hostile and huge. */
const show = (v: unknown): string => {
  if (typeof v === 'string') return JSON.stringify(v.length > 80 ? `${v.slice(0, 77)}...` : v);
  return Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v === 'object' ? 'an object' : String(v);
};

/** A field path: `tensors.image.chunks[0]`; keys that are not plain names are quoted. */
const at = (field: string, key: string): string =>
  NAME.test(key) ? (field ? `${field}.${key}` : key) : `${field}[${show(key)}]`;

/** Code points in `s`, counting no further than `max + 1`: a name may be a 64 MiB string. */
function codePoints(s: string, max: number): number {
  let n = 0;
  for (const _ of s) if (++n > max) break;
  return n;
}

/** Null-prototype records, so names like `__proto__` or `constructor` are plain keys. */
export const dict = <T>(): Record<string, T> => Object.create(null) as Record<string, T>;

/** Checks values against the rules of FORMAT.md; every error names the file and the field path. */
class Checker {
  constructor(readonly file: string) {}
  fail(field: string, problem: string, code: ErrorCode = 'invalid-manifest'): never {
    throw new EdgelakeError(code, `${this.file}: ${field || 'the file'} ${problem}`);
  }
  limit(field: string, problem: string): never {
    return this.fail(field, problem, 'limit');
  }
  object(v: unknown, field: string): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(field, 'must be an object');
    return v as Record<string, unknown>;
  }
  /** Version 1 refuses unknown keys: new meaning bumps `format` instead of being silently skipped. */
  keys(o: Record<string, unknown>, field: string, required: string[], optional: string[] = []): void {
    for (const k of required) if (!Object.hasOwn(o, k)) this.fail(at(field, k), 'is missing');
    for (const k of Object.keys(o)) {
      if (!required.includes(k) && !optional.includes(k)) this.fail(at(field, k), 'is not a key of format edgelake/1');
    }
  }
  array(v: unknown, field: string): unknown[] {
    if (!Array.isArray(v)) this.fail(field, 'must be an array');
    return v;
  }
  string(v: unknown, field: string): string {
    if (typeof v !== 'string') this.fail(field, 'must be a string');
    return v;
  }
  integer(v: unknown, field: string, min: number, max: number): number {
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(field, 'must be an integer');
    if (v < min || v > max) this.fail(field, `is ${v}, outside [${min}, ${max}]`);
    return v;
  }
  oneOf<T extends string>(v: unknown, field: string, allowed: Set<string>): T {
    if (typeof v !== 'string' || !allowed.has(v)) this.fail(field, `must be one of ${[...allowed].join(', ')}`);
    return v as T;
  }
  hash(v: unknown, field: string): string {
    if (typeof v !== 'string' || !SHA256_HEX.test(v)) this.fail(field, `is ${show(v)}; it must be 64 lowercase hex characters (a SHA-256)`);
    return v;
  }
  name(v: unknown, field: string): string {
    if (typeof v !== 'string' || !NAME.test(v)) this.fail(field, `must match ${NAME.source}`);
    return v;
  }
  /** Checks the key of a record entry (a ref, split or tensor name). */
  key(k: string, field: string): string {
    if (!NAME.test(k)) this.fail(at(field, k), `has a name that does not match ${NAME.source}`);
    return k;
  }
}

/**
 * Parses a refs file or manifest: UTF-8 JSON within the size limit, with no key twice in one
 * object (JSON.parse would keep the last silently). Errors say where, never quote the text: it
 * may be any file that a symlink points at.
 */
export function parseJson(bytes: Uint8Array, file: string, limits: ReadLimits): unknown {
  if (bytes.length > limits.maxManifestBytes) {
    throw new EdgelakeError('limit', `${file}: ${bytes.length} bytes, more than the ${limits.maxManifestBytes}-byte limit`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    throw new EdgelakeError('invalid-manifest', `${file}: not valid UTF-8 JSON (it holds bytes that are not UTF-8)`, { cause: e });
  }
  const problem = jsonProblem(text);
  if (problem !== undefined) throw new EdgelakeError('invalid-manifest', `${file}: not valid UTF-8 JSON (${problem})`);
  try {
    return JSON.parse(text);
  } catch (e) {
    // jsonProblem accepts what JSON.parse does; this guards the message should they ever differ.
    throw new EdgelakeError('invalid-manifest', `${file}: not valid UTF-8 JSON`, { cause: e });
  }
}

/** Validates edgelake.json. */
export function validateRefs(json: unknown, file = 'edgelake.json'): Refs {
  const c = new Checker(file);
  const o = c.object(json, '');
  if (o.format !== FORMAT_VERSION) c.fail('format', `must be "${FORMAT_VERSION}"`);
  c.keys(o, '', REFS_KEYS, REFS_OPTIONAL);
  const name = c.string(o.name, 'name');
  // Characters are code points, so a name has the same length in every language.
  if (name === '' || codePoints(name, MAX_DATASET_NAME) > MAX_DATASET_NAME) c.fail('name', `must have 1 to ${MAX_DATASET_NAME} characters`);
  const refs = dict<string>();
  for (const [k, v] of Object.entries(c.object(o.refs, 'refs'))) refs[c.key(k, 'refs')] = c.hash(v, at('refs', k));
  const head = c.name(o.head, 'head');
  if (!Object.hasOwn(refs, head)) c.fail('head', `names ref "${head}", which is not in refs`);
  if (o.tags === undefined) return { format: FORMAT_VERSION, name, head, refs };
  const tags = dict<string>();
  for (const [k, v] of Object.entries(c.object(o.tags, 'tags'))) {
    if (Object.hasOwn(refs, c.key(k, 'tags'))) c.fail(at('tags', k), 'is also a ref: a name is a ref or a tag, not both');
    tags[k] = c.hash(v, at('tags', k));
  }
  return { format: FORMAT_VERSION, name, head, refs, tags };
}

/** Validates a version manifest against every rule of FORMAT.md and the reader's limits. */
export function validateManifest(json: unknown, file: string, limits: ReadLimits): Manifest {
  const c = new Checker(file);
  const o = c.object(json, '');
  if (o.format !== FORMAT_VERSION) c.fail('format', `must be "${FORMAT_VERSION}"`);
  c.keys(o, '', MANIFEST_KEYS);
  const parent = o.parent === null ? null : c.hash(o.parent, 'parent');
  const message = c.string(o.message, 'message');
  const created = c.string(o.created, 'created');
  if (!isUtcDateTime(created)) c.fail('created', `is ${show(created)}; it must be an RFC 3339 date-time in UTC, like 2026-11-21T12:00:00Z`);
  const length = c.integer(o.length, 'length', 0, Number.MAX_SAFE_INTEGER);
  if (length > limits.maxSamples) c.limit('length', `is ${length}, more than the ${limits.maxSamples}-sample limit`);

  const splits = dict<[number, number][]>();
  for (const [name, ranges] of Object.entries(c.object(o.splits, 'splits'))) {
    const f = at('splits', c.key(name, 'splits'));
    splits[name] = c.array(ranges, f).map((r, i) => {
      const pair = c.array(r, `${f}[${i}]`);
      if (pair.length !== 2) c.fail(`${f}[${i}]`, 'must be [start, end]');
      const start = c.integer(pair[0], `${f}[${i}][0]`, 0, length);
      const end = c.integer(pair[1], `${f}[${i}][1]`, start, length);
      return [start, end] as [number, number];
    });
  }

  const tensors = dict<TensorMeta>();
  for (const [name, t] of Object.entries(c.object(o.tensors, 'tensors'))) {
    tensors[name] = validateTensor(c, t, at('tensors', c.key(name, 'tensors')), length, limits);
  }
  return { format: FORMAT_VERSION, parent, message, created, length, splits, tensors };
}

function validateTensor(c: Checker, v: unknown, f: string, length: number, limits: ReadLimits): TensorMeta {
  const o = c.object(v, f);
  c.keys(o, f, TENSOR_KEYS, TENSOR_OPTIONAL);
  const htype = c.oneOf<TensorMeta['htype']>(o.htype, `${f}.htype`, HTYPES);
  const dtype = c.oneOf<Dtype>(o.dtype, `${f}.dtype`, DTYPES);
  const shapeArr = c.array(o.shape, `${f}.shape`);
  if (shapeArr.length > MAX_RANK) c.fail(`${f}.shape`, `has rank ${shapeArr.length}, more than ${MAX_RANK}`);
  const shape = shapeArr.map((d, i) => (d === null ? null : c.integer(d, `${f}.shape[${i}]`, 0, MAX_EXTENT)));
  const sampleCompression = c.oneOf<TensorMeta['sampleCompression']>(o.sampleCompression, `${f}.sampleCompression`, SAMPLE_COMPRESSIONS);
  const chunkCompression = c.oneOf<TensorMeta['chunkCompression']>(o.chunkCompression, `${f}.chunkCompression`, CHUNK_COMPRESSIONS);
  const linked = o.linked === undefined ? undefined : o.linked === true ? true : c.fail(`${f}.linked`, 'must be true when present');
  if (linked && sampleCompression !== 'jpeg' && sampleCompression !== 'png') {
    c.fail(`${f}.linked`, `is true, so sampleCompression must name the files' format (jpeg or png), not ${sampleCompression}`);
  }
  // A linked tensor's chunks hold URLs, which chunk DEFLATE suits; its sampleCompression is the files'.
  if (!linked && sampleCompression !== 'none' && chunkCompression !== 'none') {
    c.fail(`${f}.chunkCompression`, `is ${chunkCompression} and sampleCompression is ${sampleCompression}; at most one may be other than "none"`);
  }
  if ((sampleCompression === 'jpeg' || sampleCompression === 'png') && dtype !== 'uint8') {
    c.fail(`${f}.sampleCompression`, `is ${sampleCompression}, which needs dtype uint8, not ${dtype}`);
  }
  // Readers decode every image to RGB: another shape would be read as the wrong values, or fail on every sample.
  if ((sampleCompression === 'jpeg' || sampleCompression === 'png') && !(shape.length === 3 && (shape[2] === 3 || shape[2] === null))) {
    c.fail(`${f}.shape`, `is [${shape.join(', ')}], and ${sampleCompression} samples decode to RGB: [H, W, 3] (H and W may be null)`);
  }
  const meta: TensorMeta = { htype, dtype, shape, sampleCompression, chunkCompression, chunks: [] };
  if (linked) meta.linked = true;
  if (o.layout !== undefined) meta.layout = validateLayout(c, o.layout, `${f}.layout`, shape.length);
  if (o.classNames !== undefined) {
    if (htype !== 'class_label') c.fail(`${f}.classNames`, `is only allowed on class_label tensors, not ${htype}`);
    meta.classNames = c.array(o.classNames, `${f}.classNames`).map((n, i) => c.string(n, `${f}.classNames[${i}]`));
  }
  if (o.quant !== undefined) meta.quant = validateQuant(c, o.quant, `${f}.quant`, dtype, shape);

  const decoded = decodedSampleBytes(meta);
  if (decoded !== undefined && decoded > limits.maxInflatedBytes) {
    c.limit(`${f}.shape`, `makes one sample ${decoded} bytes, more than the ${limits.maxInflatedBytes}-byte limit`);
  }
  const sampleBytes = fixedSampleBytes(meta);
  let total = 0;
  meta.chunks = c.array(o.chunks, `${f}.chunks`).map((ch, i): ChunkRef => {
    const cf = `${f}.chunks[${i}]`;
    const co = c.object(ch, cf);
    c.keys(co, cf, CHUNK_KEYS);
    const ref: ChunkRef = {
      hash: c.hash(co.hash, `${cf}.hash`),
      bytes: c.integer(co.bytes, `${cf}.bytes`, 1, Number.MAX_SAFE_INTEGER),
      samples: c.integer(co.samples, `${cf}.samples`, 1, 2 ** 32 - 1),
      headerHash: c.hash(co.headerHash, `${cf}.headerHash`),
    };
    if (ref.bytes > limits.maxChunkBytes) {
      c.limit(`${cf}.bytes`, `is ${ref.bytes}, more than the ${limits.maxChunkBytes}-byte limit on a stored chunk`);
    }
    // The smallest body these samples can have: the header, plus the payloads when their size is fixed.
    const P = chunkHeaderBytes(ref.samples);
    const body = sampleBytes === undefined ? P : P + ref.samples * sampleBytes;
    if (body > limits.maxInflatedBytes) {
      c.limit(`${cf}.samples`, `is ${ref.samples}, which makes a body of at least ${body} bytes, more than the ${limits.maxInflatedBytes}-byte limit`);
    }
    if (chunkCompression === 'none' && sampleBytes !== undefined && ref.bytes !== body) {
      c.fail(`${cf}.bytes`, `is ${ref.bytes}, but ${ref.samples} samples of ${sampleBytes} bytes make a ${body}-byte chunk`);
    }
    if (chunkCompression === 'none' && ref.bytes < P) {
      c.fail(`${cf}.bytes`, `is ${ref.bytes}, less than the ${P}-byte header of ${ref.samples} samples`);
    }
    total += ref.samples;
    return ref;
  });
  if (total !== length) c.fail(`${f}.chunks`, `hold ${total} samples in all, but length is ${length}`);
  if (o.headers !== undefined) {
    const ho = c.object(o.headers, `${f}.headers`);
    c.keys(ho, `${f}.headers`, HEADER_INDEX_KEYS);
    meta.headers = { hash: c.hash(ho.hash, `${f}.headers.hash`), bytes: c.integer(ho.bytes, `${f}.headers.bytes`, 1, Number.MAX_SAFE_INTEGER) };
    const expected = meta.chunks.reduce((a, ch) => a + chunkHeaderBytes(ch.samples), 0);
    if (meta.headers.bytes !== expected) c.fail(`${f}.headers.bytes`, `is ${meta.headers.bytes}, but the headers of its ${meta.chunks.length} chunks make ${expected} bytes`);
  }
  return meta;
}

/** One letter per dimension, none twice: it names the dimensions, it never reorders them. */
function validateLayout(c: Checker, v: unknown, f: string, rank: number): string {
  const layout = c.string(v, f);
  if (!/^[A-Za-z]+$/.test(layout) || layout.length !== rank || new Set(layout).size !== rank) {
    c.fail(f, `is ${show(layout)}; it needs one distinct letter per dimension of shape (${rank})`);
  }
  return layout;
}

function validateQuant(c: Checker, v: unknown, f: string, dtype: Dtype, shape: (number | null)[]): Quant {
  if (dtype !== 'int8' && dtype !== 'uint8') c.fail(f, `is only allowed on int8 and uint8 tensors, not ${dtype}`);
  const o = c.object(v, f);
  c.keys(o, f, ['scale', 'zeroPoint']);
  const scale = c.array(o.scale, `${f}.scale`).map((s, i) => {
    if (typeof s !== 'number' || !Number.isFinite(s) || s <= 0) c.fail(`${f}.scale[${i}]`, 'must be a positive finite number');
    return s;
  });
  const [lo, hi] = ZERO_POINT_RANGE[dtype];
  const zeroPoint = c.array(o.zeroPoint, `${f}.zeroPoint`).map((z, i) => c.integer(z, `${f}.zeroPoint[${i}]`, lo, hi));
  const channels = shape.length > 0 ? shape[shape.length - 1] : null;
  const perChannel = channels === null ? 'the last dimension of shape is not fixed' : `or ${channels}, one per channel of the last dimension`;
  for (const [name, list] of [['scale', scale], ['zeroPoint', zeroPoint]] as const) {
    if (list.length !== 1 && list.length !== channels) c.fail(`${f}.${name}`, `has ${list.length} entries; it needs 1 (${perChannel})`);
  }
  return { scale, zeroPoint };
}

/** `YYYY-MM-DDThh:mm:ss[.fff…]Z` with a real calendar date; second 60 is RFC 3339's leap second. */
function isUtcDateTime(s: string): boolean {
  const m = CREATED.exec(s);
  if (!m) return false;
  const [y, mo, d, h, mi, sec] = m.slice(1, 7).map(Number);
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1];
  return days !== undefined && d >= 1 && d <= days && h <= 23 && mi <= 59 && sec <= 60;
}

/** Bytes of one sample's payload as stored in the body, when every sample has the same size. */
export function fixedSampleBytes(t: Pick<TensorMeta, 'dtype' | 'shape' | 'sampleCompression'>): number | undefined {
  return t.sampleCompression === 'none' ? decodedSampleBytes(t) : undefined;
}

/** Bytes of one decoded sample (after sample DEFLATE) when shape and dtype fix it; jpeg/png are opaque files. */
export function decodedSampleBytes(t: Pick<TensorMeta, 'dtype' | 'shape' | 'sampleCompression'>): number | undefined {
  const rule = payloadRule(t);
  return rule?.exact ? rule.unit : undefined;
}

/**
 * What FORMAT.md says a decoded payload's length must be: exactly `unit` bytes (fixed shape), a
 * multiple of `unit` (shape with null extents; 0 bytes if `unit` is 0), or anything (undefined).
 */
export function payloadRule(t: Pick<TensorMeta, 'dtype' | 'shape' | 'sampleCompression'>): { unit: number; exact: boolean } | undefined {
  if (t.dtype === 'bytes' || t.sampleCompression === 'jpeg' || t.sampleCompression === 'png') return undefined;
  const unit = t.shape.reduce<number>((a, d) => a * (d ?? 1), DTYPE_BYTES[t.dtype]);
  return { unit, exact: !t.shape.includes(null) };
}

/** Chunk header length P for n samples: magic, n, flags, n+1 offsets, n crcs. */
export const chunkHeaderBytes = (n: number): number => 12 + 4 * (n + 1) + 4 * n;
