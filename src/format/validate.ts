import { EdgelakeError } from '../errors.js';
import { SHA256_HEX } from './hash.js';
import type { ReadLimits } from './limits.js';
import {
  DTYPE_BYTES, FORMAT_VERSION,
  type ChunkRef, type Dtype, type Manifest, type Refs, type TensorMeta,
} from './manifest.js';

/** Ref, split and tensor names: safe in paths, URLs and UIs. */
export const NAME = /^[A-Za-z0-9._-]{1,100}$/;
const DTYPES = new Set(['uint8', 'int8', 'uint16', 'int16', 'int32', 'uint32', 'float16', 'float32', 'bytes']);
const HTYPES = new Set(['image', 'class_label', 'embedding', 'bbox', 'text', 'generic']);
const SAMPLE_COMPRESSIONS = new Set(['none', 'deflate', 'jpeg', 'png']);
const CHUNK_COMPRESSIONS = new Set(['none', 'deflate']);
const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const MAX_RANK = 8;

/** Collects the path to the field being checked, so an error says `tensors.image.chunks[3].bytes`. */
class Checker {
  constructor(readonly file: string) {}
  fail(field: string, problem: string): never {
    throw new EdgelakeError('invalid-manifest', `${this.file}: ${field} ${problem}`);
  }
  object(v: unknown, field: string): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(field, 'must be an object');
    return v as Record<string, unknown>;
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
    if (typeof v !== 'string' || !SHA256_HEX.test(v)) this.fail(field, 'must be 64 lowercase hex characters (a SHA-256)');
    return v;
  }
  name(v: unknown, field: string): string {
    if (typeof v !== 'string' || !NAME.test(v)) this.fail(field, `must match ${NAME.source}`);
    return v;
  }
}

export function parseJson(bytes: Uint8Array, file: string, limits: ReadLimits): unknown {
  if (bytes.length > limits.maxManifestBytes) {
    throw new EdgelakeError('limit', `${file}: ${bytes.length} bytes, more than the ${limits.maxManifestBytes}-byte limit`);
  }
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new EdgelakeError('invalid-manifest', `${file}: not valid UTF-8 JSON (${(e as Error).message})`, { cause: e });
  }
}

/** Validates edgelake.json. */
export function validateRefs(json: unknown, file = 'edgelake.json'): Refs {
  const c = new Checker(file);
  const o = c.object(json, 'the file');
  if (o.format !== FORMAT_VERSION) c.fail('format', `must be "${FORMAT_VERSION}"`);
  const name = c.string(o.name, 'name');
  const refsObj = c.object(o.refs, 'refs');
  const refs: Record<string, string> = {};
  for (const [k, v] of Object.entries(refsObj)) refs[c.name(k, `refs key "${k}"`)] = c.hash(v, `refs.${k}`);
  const head = c.name(o.head, 'head');
  if (!(head in refs)) c.fail('head', `names ref "${head}", which is not in refs`);
  return { format: FORMAT_VERSION, name, head, refs };
}

/** Validates a version manifest against every rule of FORMAT.md and the reader's limits. */
export function validateManifest(json: unknown, file: string, limits: ReadLimits): Manifest {
  const c = new Checker(file);
  const o = c.object(json, 'the file');
  if (o.format !== FORMAT_VERSION) c.fail('format', `must be "${FORMAT_VERSION}"`);
  const parent = o.parent === null ? null : c.hash(o.parent, 'parent');
  const message = c.string(o.message, 'message');
  const created = c.string(o.created, 'created');
  if (!ISO_DATE.test(created) || Number.isNaN(Date.parse(created))) c.fail('created', 'must be an ISO 8601 date-time');
  const length = c.integer(o.length, 'length', 0, limits.maxSamples);

  const splits: Manifest['splits'] = {};
  for (const [name, ranges] of Object.entries(c.object(o.splits, 'splits'))) {
    c.name(name, `splits key "${name}"`);
    splits[name] = c.array(ranges, `splits.${name}`).map((r, i) => {
      const f = `splits.${name}[${i}]`;
      const pair = c.array(r, f);
      if (pair.length !== 2) c.fail(f, 'must be [start, end]');
      const start = c.integer(pair[0], `${f}[0]`, 0, length);
      const end = c.integer(pair[1], `${f}[1]`, start, length);
      return [start, end] as [number, number];
    });
  }

  const tensors: Manifest['tensors'] = {};
  for (const [name, t] of Object.entries(c.object(o.tensors, 'tensors'))) {
    c.name(name, `tensors key "${name}"`);
    tensors[name] = validateTensor(c, t, `tensors.${name}`, length, limits);
  }
  return { format: FORMAT_VERSION, parent, message, created, length, splits, tensors };
}

function validateTensor(c: Checker, v: unknown, f: string, length: number, limits: ReadLimits): TensorMeta {
  const o = c.object(v, f);
  const htype = c.oneOf<TensorMeta['htype']>(o.htype, `${f}.htype`, HTYPES);
  const dtype = c.oneOf<Dtype>(o.dtype, `${f}.dtype`, DTYPES);
  const shapeArr = c.array(o.shape, `${f}.shape`);
  if (shapeArr.length > MAX_RANK) c.fail(`${f}.shape`, `has rank ${shapeArr.length}, more than ${MAX_RANK}`);
  const shape = shapeArr.map((d, i) => (d === null ? null : c.integer(d, `${f}.shape[${i}]`, 0, 2 ** 31 - 1)));
  const sampleCompression = c.oneOf<TensorMeta['sampleCompression']>(o.sampleCompression, `${f}.sampleCompression`, SAMPLE_COMPRESSIONS);
  const chunkCompression = c.oneOf<TensorMeta['chunkCompression']>(o.chunkCompression, `${f}.chunkCompression`, CHUNK_COMPRESSIONS);
  if (sampleCompression !== 'none' && chunkCompression !== 'none') {
    c.fail(f, 'has both sampleCompression and chunkCompression; at most one may be other than "none"');
  }
  if ((sampleCompression === 'jpeg' || sampleCompression === 'png') && dtype !== 'uint8') {
    c.fail(`${f}.sampleCompression`, `is ${sampleCompression}, which needs dtype uint8`);
  }
  const meta: TensorMeta = { htype, dtype, shape, sampleCompression, chunkCompression, chunks: [] };
  if (o.layout !== undefined) meta.layout = c.string(o.layout, `${f}.layout`);
  if (o.classNames !== undefined) {
    meta.classNames = c.array(o.classNames, `${f}.classNames`).map((n, i) => c.string(n, `${f}.classNames[${i}]`));
  }
  if (o.quant !== undefined) meta.quant = validateQuant(c, o.quant, `${f}.quant`, dtype, shape);

  const bytesPerSample = fixedSampleBytes(meta);
  let total = 0;
  meta.chunks = c.array(o.chunks, `${f}.chunks`).map((ch, i): ChunkRef => {
    const cf = `${f}.chunks[${i}]`;
    const co = c.object(ch, cf);
    const ref: ChunkRef = {
      hash: c.hash(co.hash, `${cf}.hash`),
      bytes: c.integer(co.bytes, `${cf}.bytes`, 1, limits.maxChunkBytes),
      samples: c.integer(co.samples, `${cf}.samples`, 0, limits.maxSamples),
      headerHash: c.hash(co.headerHash, `${cf}.headerHash`),
    };
    const bodyBytes = bodyBytesFor(ref.samples, bytesPerSample);
    if (bodyBytes !== undefined && bodyBytes > limits.maxInflatedBytes) {
      c.fail(cf, `declares ${ref.samples} samples of ${bytesPerSample} bytes (${bodyBytes} bytes), more than the ${limits.maxInflatedBytes}-byte limit`);
    }
    if (chunkCompression === 'none' && bodyBytes !== undefined && ref.bytes !== bodyBytes) {
      c.fail(`${cf}.bytes`, `is ${ref.bytes}, but ${ref.samples} samples of ${bytesPerSample} bytes make a ${bodyBytes}-byte chunk`);
    }
    const headerBytes = chunkHeaderBytes(ref.samples);
    if (headerBytes > limits.maxInflatedBytes || (chunkCompression === 'none' && headerBytes > ref.bytes)) {
      c.fail(cf, `declares ${ref.samples} samples, whose ${headerBytes}-byte header cannot fit the chunk`);
    }
    total += ref.samples;
    return ref;
  });
  if (total !== length) c.fail(`${f}.chunks`, `hold ${total} samples in all, but length is ${length}`);
  return meta;
}

function validateQuant(c: Checker, v: unknown, f: string, dtype: Dtype, shape: (number | null)[]): TensorMeta['quant'] {
  if (dtype !== 'int8' && dtype !== 'uint8') c.fail(f, `is only allowed for int8 or uint8 tensors, not ${dtype}`);
  const o = c.object(v, f);
  const scale = c.array(o.scale, `${f}.scale`).map((s, i) => {
    if (typeof s !== 'number' || !Number.isFinite(s) || s <= 0) c.fail(`${f}.scale[${i}]`, 'must be a positive finite number');
    return s;
  });
  const zeroPoint = c.array(o.zeroPoint, `${f}.zeroPoint`).map((z, i) => c.integer(z, `${f}.zeroPoint[${i}]`, -128, 255));
  const channels = shape.length > 0 ? shape[shape.length - 1] : 1;
  for (const [name, list] of [['scale', scale], ['zeroPoint', zeroPoint]] as const) {
    if (list.length !== 1 && list.length !== channels) {
      c.fail(`${f}.${name}`, `has ${list.length} entries; it needs 1 or one per channel (${channels})`);
    }
  }
  return { scale, zeroPoint };
}

/** Bytes of one sample's payload when every sample has the same size, else undefined. */
export function fixedSampleBytes(t: Pick<TensorMeta, 'dtype' | 'shape' | 'sampleCompression'>): number | undefined {
  if (t.dtype === 'bytes' || t.sampleCompression !== 'none' || t.shape.some((d) => d === null)) return undefined;
  return (t.shape as number[]).reduce((a, d) => a * d, DTYPE_BYTES[t.dtype]);
}

/** Chunk header length P for n samples: magic, n, flags, n+1 offsets, n crcs. */
export const chunkHeaderBytes = (n: number): number => 12 + 4 * (n + 1) + 4 * n;

function bodyBytesFor(samples: number, bytesPerSample: number | undefined): number | undefined {
  return bytesPerSample === undefined ? undefined : chunkHeaderBytes(samples) + samples * bytesPerSample;
}
