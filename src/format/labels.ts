import { EdgelakeError } from '../errors.js';
import { describeWhere, type Where } from './limits.js';
import { DTYPE_BYTES, type TensorMeta } from './manifest.js';

/**
 * Refuses a class label that names no class: with `classNames`, label value `i` is class
 * `classNames[i]` (FORMAT.md), so every value must be an integer in [0, classNames.length).
 * `data` holds decoded payloads back to back; `sampleAt(byte)` says which sample of the chunk
 * the byte at `data[byte]` belongs to. One pass over the values; nothing to do for other tensors.
 */
export function checkClassLabels(data: Uint8Array, tensor: TensorMeta, where: Where, sampleAt: (byte: number) => number): void {
  const classes = tensor.classNames?.length;
  if (tensor.htype !== 'class_label' || classes === undefined || tensor.dtype === 'bytes') return;
  const size = DTYPE_BYTES[tensor.dtype];
  const values = valuesOf(data.byteOffset % size === 0 ? data : data.slice(), tensor.dtype);
  for (let k = 0; k < values.length; k++) {
    const v = values[k];
    // Written so that NaN fails too; integers only (a float32 label of 2.5 is no class).
    if (!(v >= 0 && v < classes && Number.isInteger(v))) {
      throw new EdgelakeError('invalid-chunk',
        `${describeWhere(where)}: sample ${sampleAt(k * size)} has label ${v}, but the tensor has ${classes} classNames (labels 0 to ${classes - 1})`);
    }
  }
}

/**
 * The sample of a chunk that byte `byte` of its payload area lies in: offsets[i] <= byte <
 * offsets[i+1] (binary search; the last such i when samples are empty). Also finds a dataset
 * sample's chunk among the chunks' first samples (locateSample).
 */
export function sampleAtOffset(offsets: ArrayLike<number>, byte: number): number {
  let lo = 0;
  let hi = offsets.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (offsets[mid] <= byte) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Little-endian elements, as typedArrayFor reads them; float16 decoded to numbers. */
function valuesOf(d: Uint8Array, dtype: Exclude<TensorMeta['dtype'], 'bytes'>): ArrayLike<number> {
  const n = Math.floor(d.length / DTYPE_BYTES[dtype]);
  switch (dtype) {
    case 'uint8': return d;
    case 'int8': return new Int8Array(d.buffer, d.byteOffset, n);
    case 'uint16': return new Uint16Array(d.buffer, d.byteOffset, n);
    case 'int16': return new Int16Array(d.buffer, d.byteOffset, n);
    case 'int32': return new Int32Array(d.buffer, d.byteOffset, n);
    case 'uint32': return new Uint32Array(d.buffer, d.byteOffset, n);
    case 'float32': return new Float32Array(d.buffer, d.byteOffset, n);
    case 'float16': return Array.from(new Uint16Array(d.buffer, d.byteOffset, n), half);
  }
}

/** IEEE 754 binary16 bits to a number. */
function half(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (exp ? 1 + frac / 1024 : frac / 1024) * 2 ** ((exp || 1) - 15);
}
