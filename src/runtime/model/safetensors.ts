import { EdgelakeError } from '../../errors.js';
import { halfToFloat } from '../../kernels/decode/decode.ref.js';

/**
 * The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
 * u64 N, N bytes of UTF-8 JSON header {name: {dtype, shape, data_offsets: [begin, end]},
 * "__metadata__"?: {string: string}}, then the byte buffer. Offsets are relative to the buffer
 * start; tensors are row-major, little-endian, contiguous, and cover the buffer exactly.
 */
export type SafetensorsDtype = 'F32' | 'F16' | 'I32' | 'U32' | 'I8' | 'U8' | 'F64' | 'I64' | 'U64' | 'BF16' | 'BOOL' | 'I16' | 'U16' | 'F8_E5M2' | 'F8_E4M3';

/** One tensor: raw little-endian bytes, row-major. */
export interface NamedTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: Uint8Array;
}

export interface DecodedSafetensors {
  tensors: Record<string, NamedTensor>;
  metadata: Record<string, string>;
}

export const SAFETENSORS_ITEM_BYTES: Record<SafetensorsDtype, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
};
// The reference writer's Dtype enum order; it lays tensors out by descending rank, then name,
// which keeps every tensor aligned to its item size.
const DTYPE_RANK: Record<SafetensorsDtype, number> = {
  BOOL: 0, U8: 1, I8: 2, F8_E5M2: 3, F8_E4M3: 4, I16: 5, U16: 6, F16: 7, BF16: 8, I32: 9, U32: 10, F32: 11, F64: 12, I64: 13, U64: 14,
};
const METADATA = '__metadata__';
/** The reference reader's limit on N. */
export const SAFETENSORS_MAX_HEADER_BYTES = 100_000_000;

/**
 * Serializes `tensors` as the reference writer does, byte for byte: tensors ordered by dtype
 * (widest first, the reference's enum order) then by name (code point order), `__metadata__`
 * first in the header, compact JSON padded with spaces to a multiple of 8 bytes.
 */
export function encodeSafetensors(tensors: Record<string, NamedTensor>, metadata?: Record<string, string>): Uint8Array {
  const entries = Object.entries(tensors);
  for (const [name, t] of entries) checkTensor(`tensor '${name}'`, t);
  if (METADATA in tensors) throw new EdgelakeError('invalid-input', `safetensors: '${METADATA}' is reserved, not a tensor name`);
  for (const [key, value] of Object.entries(metadata ?? {})) {
    if (typeof value !== 'string') throw new EdgelakeError('invalid-input', `safetensors: metadata '${key}' must be a string, got ${typeof value}`);
  }
  entries.sort(([a, ta], [b, tb]) => DTYPE_RANK[tb.dtype] - DTYPE_RANK[ta.dtype] || compareCodePoints(a, b));
  let offset = 0;
  const infos = entries.map(([name, { dtype, shape, data }]) => {
    const info = { dtype, shape, data_offsets: [offset, (offset += data.byteLength)] };
    return [name, info] as const;
  });
  // fromEntries defines own properties: a tensor named '__proto__' stays a tensor.
  const header = Object.fromEntries(metadata ? [[METADATA, metadata], ...infos] : infos);
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerBytes = json.length + ((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + headerBytes + offset).fill(0x20, 8 + json.length, 8 + headerBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes), true);
  out.set(json, 8);
  let at = 8 + headerBytes;
  for (const [, { data }] of entries) {
    out.set(data, at);
    at += data.byteLength;
  }
  return out;
}

/**
 * Parses a safetensors file; tensor data are views into `bytes` (no copy). Refuses broken or
 * hostile files with EdgelakeError 'invalid-input' naming the file (options.name) and the field,
 * as strictly as the reference reader and also on duplicate keys. Unknown fields of a tensor
 * entry are ignored, as the reference does.
 */
export function decodeSafetensors(bytes: Uint8Array, options: { name?: string; maxHeaderBytes?: number } = {}): DecodedSafetensors {
  const file = options.name ?? 'safetensors file';
  const fail = (why: string): never => {
    throw new EdgelakeError('invalid-input', `${file}: ${why}`);
  };
  const maxHeaderBytes = options.maxHeaderBytes ?? SAFETENSORS_MAX_HEADER_BYTES;
  if (bytes.byteLength < 8) fail(`${bytes.byteLength} bytes is too short for the 8-byte header length`);
  const declared = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (declared > BigInt(maxHeaderBytes)) fail(`not a safetensors file: the header length ${declared} is above the ${maxHeaderBytes}-byte limit`);
  const n = Number(declared);
  if (8 + n > bytes.byteLength) fail(`the header length ${n} runs past the end of the ${bytes.byteLength}-byte file`);
  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    fail('the header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (error) {
    fail(`the header is not valid JSON (${(error as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('the header is not a JSON object');
  const duplicate = duplicateKey(text);
  if (duplicate !== undefined) fail(`the header repeats the key '${duplicate}'`);

  const dataStart = 8 + n;
  const bufferBytes = bytes.byteLength - dataStart;
  const metadata: [string, string][] = [];
  const spans: { name: string; begin: number; end: number }[] = [];
  const tensors: [string, NamedTensor][] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === METADATA) {
      if (typeof info !== 'object' || info === null || Array.isArray(info)) fail(`'${METADATA}' must be an object of strings`);
      for (const [key, value] of Object.entries(info as object)) {
        if (typeof value !== 'string') fail(`'${METADATA}' value '${key}' must be a string, got ${JSON.stringify(value)}`);
        metadata.push([key, value as string]);
      }
      continue;
    }
    const where = `tensor '${name}'`;
    if (typeof info !== 'object' || info === null || Array.isArray(info)) fail(`${where} must be an object with dtype, shape and data_offsets`);
    const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
    if (typeof dtype !== 'string' || !Object.hasOwn(SAFETENSORS_ITEM_BYTES, dtype)) {
      fail(`${where} has an unknown dtype ${JSON.stringify(dtype)}; known: ${Object.keys(SAFETENSORS_ITEM_BYTES).join(', ')}`);
    }
    if (!Array.isArray(shape) || !shape.every(isCount)) fail(`${where}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
      fail(`${where}: data_offsets must be [begin, end] non-negative integers, got ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    const elements = (shape as number[]).reduce((a, b) => a * b, 1);
    const expected = elements * SAFETENSORS_ITEM_BYTES[dtype as SafetensorsDtype];
    if (!Number.isSafeInteger(expected)) fail(`${where}: shape ${JSON.stringify(shape)} overflows`);
    if (end < begin) fail(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
    if (end - begin !== expected) {
      fail(`${where}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes, ${dtype} ${JSON.stringify(shape)} needs ${expected}`);
    }
    if (end > bufferBytes) fail(`${where}: data_offsets [${begin}, ${end}] run past the ${bufferBytes}-byte buffer`);
    spans.push({ name, begin, end });
    const data = bytes.subarray(dataStart + begin, dataStart + end);
    tensors.push([name, { dtype: dtype as SafetensorsDtype, shape: shape as number[], data }]);
  }
  // The reference requires the tensors, in offset order, to tile the buffer exactly.
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous = 'the start of the buffer';
  for (const { name, begin, end } of spans) {
    if (begin < covered) fail(`tensor '${name}' (bytes ${begin}..${end}) overlaps ${previous}, which ends at ${covered}`);
    if (begin > covered) fail(`${begin - covered} bytes between ${previous} and tensor '${name}' belong to no tensor`);
    [covered, previous] = [end, `tensor '${name}'`];
  }
  if (covered !== bufferBytes) fail(`${bufferBytes - covered} trailing bytes after ${previous} belong to no tensor`);
  // fromEntries, not assignment: a hostile '__proto__' key cannot reach the prototype.
  return { tensors: Object.fromEntries(tensors), metadata: Object.fromEntries(metadata) };
}

/** An F32 tensor holding a copy of `values`. */
export function float32Tensor(shape: number[], values: Float32Array): NamedTensor {
  const tensor: NamedTensor = { dtype: 'F32', shape: [...shape], data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice() };
  checkTensor('float32Tensor', tensor);
  return tensor;
}

/**
 * The values of a floating-point tensor as float32, in a fresh (so aligned) array: F16, BF16, F64
 * and the 8-bit floats are converted, as PyTorch's load_state_dict converts to its parameters' dtype.
 */
export function tensorFloat32(t: NamedTensor, name: string): Float32Array {
  if (!FLOATS.includes(t.dtype)) throw new EdgelakeError('invalid-input', `tensor '${name}' is ${t.dtype}, not a floating-point type (${FLOATS.join(', ')})`);
  checkTensor(`tensor '${name}'`, t);
  // Copied byte-wise: slice() of a Node Buffer would share its pool. Little-endian in the
  // file and on every platform JavaScript runs on.
  const bytes = new Uint8Array(t.data.byteLength);
  bytes.set(t.data);
  if (t.dtype === 'F64') return Float32Array.from(new Float64Array(bytes.buffer));
  if (t.dtype === 'F16') return Float32Array.from(new Uint16Array(bytes.buffer), halfToFloat);
  if (t.dtype === 'BF16') return new Float32Array(Uint32Array.from(new Uint16Array(bytes.buffer), (h) => h << 16).buffer); // float32's upper half
  if (t.dtype === 'F8_E5M2') return Float32Array.from(bytes, (b) => halfToFloat(b << 8)); // float16's upper half
  if (t.dtype === 'F8_E4M3') return Float32Array.from(bytes, e4m3ToFloat);
  return new Float32Array(bytes.buffer);
}

const FLOATS: readonly string[] = ['F32', 'F16', 'BF16', 'F64', 'F8_E5M2', 'F8_E4M3'];

/** OCP's float8 E4M3 ("fn", PyTorch's float8_e4m3fn): bias 7, no infinities, S.1111.111 is NaN. */
function e4m3ToFloat(b: number): number {
  const sign = b & 0x80 ? -1 : 1;
  const [exponent, mantissa] = [(b >> 3) & 15, b & 7];
  if (exponent === 15 && mantissa === 7) return NaN;
  return sign * (exponent === 0 ? (mantissa / 8) * 2 ** -6 : (1 + mantissa / 8) * 2 ** (exponent - 7));
}

function checkTensor(where: string, t: NamedTensor): void {
  const fail = (why: string): never => {
    throw new EdgelakeError('invalid-input', `${where}: ${why}`);
  };
  if (!Object.hasOwn(SAFETENSORS_ITEM_BYTES, t.dtype)) fail(`unknown dtype ${JSON.stringify(t.dtype)}`);
  if (!Array.isArray(t.shape) || !t.shape.every(isCount)) fail(`shape must be non-negative integers, got ${JSON.stringify(t.shape)}`);
  const bytes = t.shape.reduce((a, b) => a * b, 1) * SAFETENSORS_ITEM_BYTES[t.dtype];
  if (t.data.byteLength !== bytes) fail(`${t.dtype} [${t.shape.join(', ')}] needs ${bytes} bytes, data holds ${t.data.byteLength}`);
}

function isCount(value: unknown): boolean {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

// Rust compares names as UTF-8 bytes, which is code point order; JS `<` compares UTF-16 units.
function compareCodePoints(a: string, b: string): number {
  const [x, y] = [[...a], [...b]];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0)! - y[i].codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/**
 * The first key repeated within one object of `json` (already known to be valid JSON), which
 * JSON.parse would silently resolve to its last value.
 */
function duplicateKey(json: string): string | undefined {
  const objects: (Set<string> | null)[] = []; // null: an array
  for (let i = 0; i < json.length; i++) {
    const ch = json[i];
    if (ch === '{') objects.push(new Set());
    else if (ch === '[') objects.push(null);
    else if (ch === '}' || ch === ']') objects.pop();
    else if (ch === '"') {
      let end = i + 1;
      while (json[end] !== '"') end += json[end] === '\\' ? 2 : 1;
      const keys = objects[objects.length - 1];
      let next = end + 1;
      while (/\s/.test(json[next] ?? '')) next++;
      if (keys && json[next] === ':') {
        const key = JSON.parse(json.slice(i, end + 1)) as string;
        if (keys.has(key)) return key;
        keys.add(key);
      }
      i = end;
    }
  }
  return undefined;
}
