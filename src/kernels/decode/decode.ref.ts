import { EdgelakeError } from '../../errors.js';

export type DecodeDtype = 'uint8' | 'int8' | 'uint16' | 'int16' | 'float16' | 'float32';
export const DECODE_ITEM_BYTES: Record<DecodeDtype, number> = {
  uint8: 1, int8: 1, uint16: 2, int16: 2, float16: 2, float32: 4,
};

/** What to decode, without the buffers: the CPU reference's arguments. */
export interface DecodeKernelOptions {
  samples: number;
  /** One sample, e.g. [H, W, C] or [D]; the last dimension is the channel. */
  shape: readonly number[];
  dtype: DecodeDtype;
  /** Multiplies the (dequantized) value before the mean; 1 by default, e.g. 1 / 255. */
  scale?: number;
  /** Per channel, or one for all; 0 and 1 by default. */
  mean?: readonly number[];
  std?: readonly number[];
  /** Write each sample channels-first: [H, W, C] -> [C, H, W] (the last dimension moves first). */
  toCHW?: boolean;
  /** FORMAT.md `quant` of int8/uint8 tensors: value = scale[c] * (q - zeroPoint[c]). */
  quant?: { scale: readonly number[]; zeroPoint: readonly number[] };
  /** Bytes before the first sample's first element; a multiple of the item size. */
  inputOffset?: number;
}

/** The validated geometry and the per-channel factors (a, b) in float32, as the shader reads them. */
export interface DecodePlan {
  total: number;
  perSample: number;
  channels: number;
  inner: number;
  itemBytes: number;
  inputOffset: number;
  /** The input bytes read: inputOffset + total * itemBytes. */
  inputBytes: number;
  factors: Float32Array;
}

/** out = ((quant ? qscale[c] * (x - zp[c]) : x) * scale - mean[c]) / std[c] as (x - a[c]) * b[c]. */
export function decodePlan(o: DecodeKernelOptions): DecodePlan {
  const fail = (why: string): never => {
    throw new EdgelakeError('invalid-input', `decode ${o.dtype} [${o.shape.join(', ')}]: ${why}`);
  };
  const itemBytes = DECODE_ITEM_BYTES[o.dtype] ?? fail(`dtype must be one of ${Object.keys(DECODE_ITEM_BYTES).join(', ')}`);
  if (!Number.isInteger(o.samples) || o.samples < 0) fail(`samples must be a non-negative integer, got ${o.samples}`);
  if (o.shape.some((d) => !Number.isInteger(d) || d < 0)) fail('shape needs non-negative integer extents');
  const perSample = o.shape.reduce((a, b) => a * b, 1);
  const channels = o.shape.length > 0 ? o.shape[o.shape.length - 1] : 1;
  const total = o.samples * perSample;
  const inputOffset = o.inputOffset ?? 0;
  if (!Number.isInteger(inputOffset) || inputOffset < 0 || inputOffset % itemBytes !== 0) {
    fail(`inputOffset must be a non-negative multiple of ${itemBytes}, got ${inputOffset}`);
  }
  const scale = o.scale ?? 1;
  if (!Number.isFinite(scale) || scale === 0) fail(`scale must be finite and non-zero, got ${scale}`);
  const perChannel = (name: string, list: readonly number[] | undefined, fallback: number) => {
    if (list === undefined) return () => fallback;
    if (list.length !== 1 && list.length !== channels) {
      fail(`${name} needs 1 or ${channels} (channel) entries, got ${list.length}`);
    }
    return (c: number) => list[list.length === 1 ? 0 : c];
  };
  const mean = perChannel('mean', o.mean, 0);
  const std = perChannel('std', o.std, 1);
  const qscale = perChannel('quant.scale', o.quant?.scale, 1);
  const zeroPoint = perChannel('quant.zeroPoint', o.quant?.zeroPoint, 0);
  if (o.quant && o.dtype !== 'int8' && o.dtype !== 'uint8') fail('quant applies to int8 and uint8 only');
  const [zpMin, zpMax] = o.dtype === 'int8' ? [-128, 127] : [0, 255];
  const factors = new Float32Array(channels * 2);
  for (let c = 0; c < channels; c++) {
    const [m, s, q, z] = [mean(c), std(c), qscale(c), zeroPoint(c)];
    if (!Number.isFinite(m) || !Number.isFinite(s) || s === 0) {
      fail(`channel ${c} needs a finite mean and a finite non-zero std, got ${m} and ${s}`);
    }
    if (!(Number.isFinite(q) && q > 0)) fail(`channel ${c}: quant scale must be finite and > 0, got ${q}`);
    if (o.quant && !(Number.isInteger(z) && z >= zpMin && z <= zpMax)) {
      fail(`channel ${c}: quant zeroPoint must be an integer in ${zpMin}..${zpMax}, got ${z}`);
    }
    // Folded in double, rounded once to float32: the shader then needs one subtract and one multiply.
    factors[c * 2] = z + m / (q * scale);
    factors[c * 2 + 1] = (q * scale) / s;
    if (!Number.isFinite(factors[c * 2]) || !Number.isFinite(factors[c * 2 + 1]) || factors[c * 2 + 1] === 0) {
      fail(`channel ${c} overflows or underflows float32 with scale ${scale}`);
    }
  }
  const inner = channels > 0 ? perSample / channels : 0;
  return { total, perSample, channels, inner, itemBytes, inputOffset, inputBytes: inputOffset + total * itemBytes, factors };
}

/**
 * CPU reference of the decode kernel (decode.wgsl.ts), bit for bit: each element read as the
 * shader reads it, then (x - a[c]) * b[c] as two float32 operations, each rounded once. It is
 * also the loader's decode where no adapter is, so its loops read typed arrays with no division.
 */
export function decodeRef(bytes: Uint8Array, options: DecodeKernelOptions): Float32Array {
  const plan = decodePlan(options);
  const { total, perSample, channels, inner, inputOffset, factors } = plan;
  if (bytes.byteLength < plan.inputBytes) {
    throw new EdgelakeError('invalid-input', `decode: ${plan.inputBytes} input bytes needed, got ${bytes.byteLength}`);
  }
  const values = elements(bytes, options.dtype, inputOffset, total);
  const out = new Float32Array(total);
  // Channel by channel, its factors in locals. Element (p, c) of sample s lies at s * perSample +
  // p * channels + c and goes there, or channels first to s * perSample + c * inner + p. Each step
  // is rounded once to float32, as the shader's subtract then multiply (no fma): CPU == GPU bit for bit.
  const [step, plane] = options.toCHW ? [1, inner] : [channels, 1];
  for (let c = 0; c < channels; c++) {
    const [a, b] = [factors[c * 2], factors[c * 2 + 1]];
    for (let s = 0; s < total; s += perSample) {
      for (let p = 0, e = s + c, to = s + c * plane; p < inner; p++, e += channels, to += step) out[to] = Math.fround(values[e] - a) * b;
    }
  }
  return out;
}

/** The `total` input elements from byte `offset`, as numbers: little-endian, as the shader reads them, whatever the host. */
function elements(bytes: Uint8Array, dtype: DecodeDtype, offset: number, total: number): ArrayLike<number> {
  if (dtype === 'uint8') return bytes.subarray(offset, offset + total);
  if (dtype === 'int8') return new Int8Array(bytes.buffer, bytes.byteOffset + offset, total);
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, total * DECODE_ITEM_BYTES[dtype]);
  const out = dtype === 'uint16' ? new Uint16Array(total) : dtype === 'int16' ? new Int16Array(total) : new Float32Array(total);
  if (dtype === 'uint16') for (let i = 0; i < total; i++) out[i] = view.getUint16(2 * i, true);
  else if (dtype === 'int16') for (let i = 0; i < total; i++) out[i] = view.getInt16(2 * i, true);
  else if (dtype === 'float16') for (let i = 0; i < total; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
  else for (let i = 0; i < total; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}

const scratch = new DataView(new ArrayBuffer(4));

/** IEEE binary16 bits to a number, built from the bits exactly as halfToFloatBits in the shader. */
export function halfToFloat(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  let bits: number;
  if (exponent === 0x1f) bits = sign | 0x7f800000 | (mantissa << 13);
  else if (exponent !== 0) bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  else if (mantissa === 0) bits = sign;
  else {
    const top = 31 - Math.clz32(mantissa);
    bits = sign | ((top + 103) << 23) | ((mantissa << (23 - top)) & 0x7fffff);
  }
  scratch.setUint32(0, bits >>> 0);
  return scratch.getFloat32(0);
}
