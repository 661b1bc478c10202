import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { halfToFloat } from '../../../src/kernels/index.js';
import { float32Tensor, SAFETENSORS_ITEM_BYTES, tensorFloat32 } from '../../../src/runtime/model/safetensors.js';
import { mulberry32 } from '../../support/random.js';
import { hasCommand, missing } from '../../support/system.js';
import { decodeSafetensors, encodeSafetensors, type NamedTensor, type SafetensorsDtype } from '../../../src/index.js';

const seed = Number(process.env.EDGELAKE_SEED ?? Date.now() % 2 ** 32);
const DTYPES = Object.keys(SAFETENSORS_ITEM_BYTES) as SafetensorsDtype[];
const ascii = (text: string) => new TextEncoder().encode(text);

/** A file from its parts: header text as given (no padding), and a declared length if it lies. */
function file(header: string, buffer: Uint8Array | number = 0, declared?: bigint): Uint8Array {
  const [json, data] = [ascii(header), typeof buffer === 'number' ? new Uint8Array(buffer) : buffer];
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, declared ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** Values as read_safetensors.py prints them: I64 as strings, non-finite floats by name. */
function valuesOf(t: NamedTensor): unknown[] {
  const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const size = SAFETENSORS_ITEM_BYTES[t.dtype];
  const read: Record<SafetensorsDtype, (at: number) => unknown> = {
    F64: (at) => view.getFloat64(at, true), F32: (at) => view.getFloat32(at, true),
    F16: (at) => halfToFloat(view.getUint16(at, true)), BF16: (at) => new Float32Array(Uint32Array.of(view.getUint16(at, true) << 16).buffer)[0],
    F8_E5M2: (at) => tensorFloat32({ dtype: 'F8_E5M2', shape: [1], data: t.data.subarray(at, at + 1) }, 'e5m2')[0],
    F8_E4M3: (at) => tensorFloat32({ dtype: 'F8_E4M3', shape: [1], data: t.data.subarray(at, at + 1) }, 'e4m3')[0],
    I64: (at) => view.getBigInt64(at, true).toString(), U64: (at) => view.getBigUint64(at, true).toString(), I32: (at) => view.getInt32(at, true), U32: (at) => view.getUint32(at, true),
    I16: (at) => view.getInt16(at, true), U16: (at) => view.getUint16(at, true), I8: (at) => view.getInt8(at), U8: (at) => view.getUint8(at),
    BOOL: (at) => view.getUint8(at) !== 0,
  };
  return Array.from({ length: t.data.byteLength / size }, (_, i) => {
    const v = read[t.dtype](i * size);
    return typeof v !== 'number' || Number.isFinite(v) ? v : Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
  });
}

function randomTensors(random: () => number): Record<string, NamedTensor> {
  const tensors: Record<string, NamedTensor> = {};
  for (const [i, dtype] of DTYPES.entries()) {
    const shape = Array.from({ length: Math.floor(random() * 4) }, () => Math.floor(random() * 5));
    const bytes = shape.reduce((a, b) => a * b, 1) * SAFETENSORS_ITEM_BYTES[dtype];
    const data = new Uint8Array(bytes).map(() => (dtype === 'BOOL' ? Math.floor(random() * 2) : Math.floor(random() * 256)));
    tensors[`layer${i % 3}.${dtype.toLowerCase()}`] = { dtype, shape, data };
  }
  return tensors;
}

describe('safetensors writer and reader', () => {
  test('round trip of every dtype, random shapes (zero extents, scalars) and bytes', () => {
    const tensors = randomTensors(mulberry32(seed));
    const metadata = { format: 'pt', epoch: '3', note: 'ünïcode ✓' };
    const bytes = encodeSafetensors(tensors, metadata);
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8, 'the header is padded to 8 bytes').toBe(0);
    const decoded = decodeSafetensors(bytes, { name: 'round-trip.safetensors' });
    expect(decoded.metadata).toEqual(metadata);
    expect(decoded.tensors, `seed ${seed}`).toEqual(tensors);
    for (const [name, t] of Object.entries(decoded.tensors)) {
      const offset = t.data.byteOffset - bytes.byteOffset;
      expect(offset % SAFETENSORS_ITEM_BYTES[t.dtype], `${name} is aligned to its item size`).toBe(0);
    }
  });

  test('byte for byte as the reference writer: its own test vectors', () => {
    // huggingface/safetensors tensor.rs tests test_empty and test_serialization_forced_alignement.
    const spaces = (k: number) => ' '.repeat(k);
    expect(encodeSafetensors({})).toEqual(file(`{}${spaces(6)}`));
    expect(encodeSafetensors({}, { framework: 'pt' })).toEqual(file(`{"__metadata__":{"framework":"pt"}}${spaces(5)}`));
    const attn0 = float32Tensor([1, 1, 2, 3], Float32Array.of(0, 1, 2, 3, 4, 5));
    const header = `{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}${spaces(7)}`;
    const bytes = new Uint8Array(Float32Array.of(0, 1, 2, 3, 4, 5).buffer);
    expect(encodeSafetensors({ attn0 })).toEqual(file(header, bytes));
  });

  test('layout: widest dtype first (the reference enum order), then name; metadata first', () => {
    const tensors = {
      b: { dtype: 'U8', shape: [3], data: Uint8Array.of(1, 2, 3) },
      a: { dtype: 'U8', shape: [1], data: Uint8Array.of(9) },
      z: { dtype: 'I64', shape: [1], data: new Uint8Array(new BigInt64Array([-2n]).buffer) },
      w: float32Tensor([2], Float32Array.of(1.5, -2)),
    } satisfies Record<string, NamedTensor>;
    const header = '{"__metadata__":{"k":"v"},"z":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},'
      + '"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},"a":{"dtype":"U8","shape":[1],"data_offsets":[16,17]},'
      + '"b":{"dtype":"U8","shape":[3],"data_offsets":[17,20]}}';
    expect(header.length % 8).toBe(1); // so 7 spaces of padding
    const data = Uint8Array.of(0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0xc0, 0x3f, 0, 0, 0, 0xc0, 9, 1, 2, 3);
    expect(encodeSafetensors(tensors, { k: 'v' })).toEqual(file(header + ' '.repeat(7), data));
  });

  test('tensorFloat32 converts F16, BF16 and F64 weights to float32, as PyTorch loads them into float32 parameters', () => {
    const values = [0.5, -1.25, 3, 65504, -0, Infinity];
    const f64 = new Uint8Array(Float64Array.from([...values, 0.1]).buffer);
    const bfloats = [0.5, -1.25, 3, 65280, -0, Infinity]; // 65504 needs more than bfloat16's 8 bits of mantissa
    const bf16 = new Uint8Array(Uint16Array.from(new Uint32Array(Float32Array.from(bfloats).buffer), (u) => u >>> 16).buffer);
    const f16 = new Uint8Array(Uint16Array.of(0x3800, 0xbd00, 0x4200, 0x7bff, 0x8000, 0x7c00, 0x0001).buffer); // the last, 2^-24, is subnormal
    const { tensors } = decodeSafetensors(encodeSafetensors({ a: { dtype: 'F64', shape: [7], data: f64 }, b: { dtype: 'BF16', shape: [6], data: bf16 }, c: { dtype: 'F16', shape: [7], data: f16 } }));
    expect([...tensorFloat32(tensors.a, 'a')]).toEqual([...values, Math.fround(0.1)]);
    expect([...tensorFloat32(tensors.b, 'b')]).toEqual(bfloats);
    expect([...tensorFloat32(tensors.c, 'c')]).toEqual([...values, 2 ** -24]);
  });

  test('tensorFloat32 converts both 8-bit floats: E5M2 as float16 cut short, E4M3 with no infinities (PyTorch float8_e4m3fn)', () => {
    const { tensors } = decodeSafetensors(encodeSafetensors({
      e5m2: { dtype: 'F8_E5M2', shape: [5], data: Uint8Array.of(0x3c, 0xc0, 0x7b, 0x7c, 0x01) },
      e4m3: { dtype: 'F8_E4M3', shape: [6], data: Uint8Array.of(0x38, 0xc0, 0x7e, 0x7f, 0x01, 0x80) },
    }));
    expect([...tensorFloat32(tensors.e5m2, 'e5m2')]).toEqual([1, -2, 57344, Infinity, 2 ** -16]);
    expect([...tensorFloat32(tensors.e4m3, 'e4m3')]).toEqual([1, -2, 448, NaN, 2 ** -9, -0]);
  });

  test('tensorFloat32 copies into an aligned array; float32Tensor checks its shape', () => {
    const bytes = encodeSafetensors({ u: { dtype: 'U8', shape: [1], data: Uint8Array.of(7) }, w: float32Tensor([3], Float32Array.of(1, 2, 3)) });
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1); // every tensor now sits at an odd address
    const { tensors } = decodeSafetensors(shifted.subarray(1));
    expect([...tensorFloat32(tensors.w, 'w')]).toEqual([1, 2, 3]);
    expect(() => tensorFloat32(tensors.u, 'u')).toThrow(expect.objectContaining({ code: 'invalid-input', message: "tensor 'u' is U8, not a floating-point type (F32, F16, BF16, F64, F8_E5M2, F8_E4M3)" }));
    expect(() => float32Tensor([2, 2], new Float32Array(3))).toThrow(/F32 \[2, 2\] needs 16 bytes, data holds 12/);
    expect(() => encodeSafetensors({ __metadata__: float32Tensor([], Float32Array.of(1)) })).toThrow(/reserved/);
    expect(() => encodeSafetensors({ x: { dtype: 'F8' as SafetensorsDtype, shape: [1], data: Uint8Array.of(1) } })).toThrow(/tensor 'x': unknown dtype "F8"/);
  });

  test("a tensor named '__proto__' stays a tensor", () => {
    const tensors = Object.fromEntries([['__proto__', float32Tensor([1], Float32Array.of(4))]]);
    const decoded = decodeSafetensors(encodeSafetensors(tensors));
    expect(Object.keys(decoded.tensors)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(decoded.tensors)).toBe(Object.prototype);
  });
});

const python = !missing('python3', 'apt-get install python3', hasCommand('python3'));
describe.skipIf(!python)('an independent Python reader (json + struct)', () => {
  const script = fileURLToPath(new URL('./read_safetensors.py', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'edgelake-safetensors-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const run = (command: string, path: string) => JSON.parse(execFileSync('python3', [script, command, path], { encoding: 'utf8' }));

  test('reads the file we wrote, with the same values', () => {
    const tensors = randomTensors(mulberry32(seed ^ 1));
    const path = join(dir, 'ours.safetensors');
    writeFileSync(path, encodeSafetensors(tensors, { framework: 'edgelake' }));
    const expected = Object.fromEntries(Object.entries(tensors).map(([name, t]) => [name, { dtype: t.dtype, shape: t.shape, values: valuesOf(t) }]));
    expect(run('read', path), `seed ${seed}`).toEqual({ metadata: { framework: 'edgelake' }, tensors: expected });
  });

  test('we read the file Python wrote (unsorted, unpadded header, metadata last)', () => {
    const path = join(dir, 'python.safetensors');
    const written = run('write', path);
    const { tensors, metadata } = decodeSafetensors(readFileSync(path), { name: path });
    expect(metadata).toEqual({ format: 'pt', note: 'écrit par Python' });
    const ours = Object.fromEntries(Object.entries(tensors).map(([name, t]) => [name, { dtype: t.dtype, shape: t.shape, values: valuesOf(t) }]));
    expect(ours).toEqual(written.tensors);
    expect(ours.ids.values).toEqual(['-3', String(2n ** 60n + 1n)]);
    expect([...tensorFloat32(tensors.weight, 'weight')]).toEqual([0.5, -1.25, 3, Math.fround(1e-8), -0, 65504]);
    expect(tensors.empty.shape).toEqual([0, 4]);
  });
});

describe('hostile or broken files are refused, naming the file and the field', () => {
  const name = 'hostile.safetensors';
  const f32 = (offsets: string, shape = '[1]') => `{"dtype":"F32","shape":${shape},"data_offsets":${offsets}}`;
  const cases: [string, Uint8Array, RegExp, number?][] = [
    ['shorter than 8 bytes', new Uint8Array(5), /5 bytes is too short/],
    ['a header length beyond the file', file('{}', 0, 1000n), /header length 1000 runs past the end of the 10-byte file/],
    ['a header length of 2^64 - 1', file('{}', 0, 2n ** 64n - 1n), /header length 18446744073709551615 is above the 100000000-byte limit/],
    ['a header above maxHeaderBytes', file(`{"w":${f32('[0,4]')}}`, 4), /above the 16-byte limit/, 16],
    ['a header that is not UTF-8', file('{"x":1}').map((b, i) => (i === 10 ? 0xff : b)), /not valid UTF-8/],
    ['a header that is not JSON', file('{"w":'), /not valid JSON/],
    ['a header that is a JSON array', file('[1,2]'), /not a JSON object/],
    ['an unknown dtype', file('{"w":{"dtype":"Q4_0","shape":[1],"data_offsets":[0,1]}}', 1), /tensor 'w' has an unknown dtype "Q4_0"/],
    ['a negative extent', file(`{"w":${f32('[0,4]', '[-1]')}}`, 4), /tensor 'w': shape must be an array of non-negative integers, got \[-1\]/],
    ['a fractional extent', file(`{"w":${f32('[0,4]', '[1.5]')}}`, 4), /tensor 'w': shape must be/],
    ['an extent as a string', file(`{"w":${f32('[0,4]', '["1"]')}}`, 4), /tensor 'w': shape must be/],
    ['a shape that overflows', file(`{"w":${f32('[0,4]', '[1073741824,1073741824,1073741824]')}}`, 4), /tensor 'w': shape .* overflows/],
    ['offsets not matching dtype and shape', file(`{"w":${f32('[0,4]', '[2]')}}`, 4), /tensor 'w': data_offsets \[0, 4\] hold 4 bytes, F32 \[2\] needs 8/],
    ['offsets that are not a pair', file(`{"w":${f32('[0]')}}`, 4), /tensor 'w': data_offsets must be \[begin, end\]/],
    ['offsets ending before they begin', file(`{"w":${f32('[8,4]')}}`, 8), /tensor 'w': data_offsets \[8, 4\] end before they begin/],
    ['offsets past the buffer', file(`{"w":${f32('[4,8]')}}`, 4), /tensor 'w': data_offsets \[4, 8\] run past the 4-byte buffer/],
    ['overlapping tensors', file(`{"a":${f32('[0,8]', '[2]')},"b":${f32('[4,8]')}}`, 8), /tensor 'b' \(bytes 4..8\) overlaps tensor 'a', which ends at 8/],
    ['a gap between tensors', file(`{"a":${f32('[0,4]')},"b":${f32('[8,12]')}}`, 12), /4 bytes between tensor 'a' and tensor 'b' belong to no tensor/],
    ['a gap before the first tensor', file(`{"a":${f32('[4,8]')}}`, 8), /4 bytes between the start of the buffer and tensor 'a'/],
    ['trailing bytes', file(`{"a":${f32('[0,4]')}}`, 6), /2 trailing bytes after tensor 'a' belong to no tensor/],
    ['a repeated tensor name', file(`{"a":${f32('[0,4]')},"a":${f32('[0,4]')}}`, 4), /repeats the key 'a'/],
    ['a repeated field', file('{"a":{"dtype":"F32","dtype":"U8","shape":[1],"data_offsets":[0,4]}}', 4), /repeats the key 'dtype'/],
    ['a metadata value that is not a string', file('{"__metadata__":{"epoch":3}}'), /'__metadata__' value 'epoch' must be a string, got 3/],
    ['metadata that is not an object', file('{"__metadata__":"pt"}'), /'__metadata__' must be an object of strings/],
    ['a tensor entry that is not an object', file('{"a":3}'), /tensor 'a' must be an object with dtype, shape and data_offsets/],
    ['a tensor entry without data_offsets', file('{"a":{"dtype":"U8","shape":[1]}}', 1), /tensor 'a': data_offsets must be/],
  ];
  test.each(cases)('%s', (_, bytes, message, maxHeaderBytes) => {
    expect(() => decodeSafetensors(bytes, { name, maxHeaderBytes })).toThrow(
      expect.objectContaining({ code: 'invalid-input', message: expect.stringMatching(new RegExp(`^${name}: .*${message.source}`)) }),
    );
  });
});
