import { EdgelakeError } from '../../errors.js';
import type { Dtype } from '../../format/manifest.js';

export type TypedArray = Uint8Array | Int8Array | Uint16Array | Int16Array | Int32Array | Uint32Array | Float32Array;

/** The typed array a dtype is read into; float16 stays raw bits in a Uint16Array. */
export function typedArrayFor(dtype: Dtype, buffer: ArrayBuffer): TypedArray {
  switch (dtype) {
    case 'uint8': case 'bytes': return new Uint8Array(buffer);
    case 'int8': return new Int8Array(buffer);
    case 'uint16': case 'float16': return new Uint16Array(buffer);
    case 'int16': return new Int16Array(buffer);
    case 'int32': return new Int32Array(buffer);
    case 'uint32': return new Uint32Array(buffer);
    case 'float32': return new Float32Array(buffer);
  }
  throw new EdgelakeError('invalid-input', `unknown dtype ${dtype as string}`);
}

/**
 * Packs samples into one tensor: a typed array of batch x sample elements when every sample has
 * the same size, else the samples as a list (variable shapes cannot stack).
 */
export function stack(dtype: Dtype, samples: Uint8Array[]): TypedArray | Uint8Array[] {
  const size = samples[0]?.length ?? 0;
  if (dtype === 'bytes' || samples.some((s) => s.length !== size)) return samples.map((s) => s.slice());
  const out = new Uint8Array(size * samples.length);
  samples.forEach((s, i) => out.set(s, i * size));
  return typedArrayFor(dtype, out.buffer);
}
