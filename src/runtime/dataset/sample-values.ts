import { EdgelakeError } from '../../errors.js';
import { deflate } from '../../format/inflate.js';
import { sniffImageType } from '../../format/image/image.js';
import { checkClassLabels } from '../../format/labels.js';
import type { TensorMeta } from '../../format/manifest.js';
import { fixedSampleBytes, payloadRule } from '../../format/validate.js';
import { typedArrayFor, type TypedArray } from './batch.js';

/**
 * New values for `n` samples of one tensor. A tensor of fixed-size numeric samples stored without
 * png/jpeg takes one typed array of its dtype holding the n samples back to back (float16 as raw
 * bits in a Uint16Array); every other tensor takes one array per sample: the encoded file for
 * png/jpeg, the bytes for `bytes`, a typed array of the dtype for a shape with a `null` extent.
 */
export type SampleValues = TypedArray | readonly (Uint8Array | TypedArray)[];


/** `values` as the n payloads a chunk stores (sample DEFLATE applied), or an 'invalid-input' error naming what is wrong. */
export function samplePayloads(dataset: string, name: string, t: TensorMeta, values: SampleValues, n: number): Uint8Array[] {
  const fail: (problem: string) => never = (problem) => {
    throw new EdgelakeError('invalid-input', `commit: dataset ${dataset}, tensor ${name} (${t.dtype} [${t.shape.map((d) => d ?? '?').join(', ')}], ${t.sampleCompression}): ${problem}`);
  };
  const size = t.sampleCompression === 'png' || t.sampleCompression === 'jpeg' ? undefined : fixedSampleBytes({ ...t, sampleCompression: 'none' });
  const expected = t.dtype === 'bytes' || t.sampleCompression === 'png' || t.sampleCompression === 'jpeg' ? Uint8Array : typedArrayFor(t.dtype, new ArrayBuffer(0)).constructor;
  let raw: Uint8Array[];
  if (size !== undefined) {
    if (!ArrayBuffer.isView(values) || !(values instanceof expected)) fail(`values must be one ${expected.name} of all ${n} samples`);
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    if (bytes.length !== n * size) fail(`${n} samples need ${(n * size) / (values.BYTES_PER_ELEMENT)} values, not ${values.length}`);
    raw = Array.from({ length: n }, (_, i) => bytes.slice(i * size, (i + 1) * size));
  } else {
    if (ArrayBuffer.isView(values) || values.length !== n) fail(`values must be a list of ${n} ${expected.name}s, one per sample`);
    const rule = t.sampleCompression === 'png' || t.sampleCompression === 'jpeg' ? undefined : payloadRule({ ...t, sampleCompression: 'none' });
    raw = (values as readonly TypedArray[]).map((v, i) => {
      if (!ArrayBuffer.isView(v) || !(v instanceof expected)) fail(`the value of sample ${i} of the list must be a ${expected.name}`);
      const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength).slice();
      if (rule && (rule.unit === 0 ? bytes.length !== 0 : bytes.length % rule.unit !== 0)) fail(`the value of sample ${i} of the list has ${bytes.length} bytes, not a multiple of ${rule.unit}`);
      return bytes;
    });
  }
  raw.forEach((bytes, i) => {
    // Either kind: readers decode each image by its signature (FORMAT.md); one without is refused by any reader.
    const image = t.sampleCompression === 'png' || t.sampleCompression === 'jpeg';
    if (image && !sniffImageType(bytes)) fail(`sample ${i} of the list is neither a JPEG nor a PNG file (the stored payload is the encoded file)`);
    try {
      checkClassLabels(bytes, t, { dataset, tensor: name }, () => i);
    } catch (e) {
      fail(`${(e as Error).message.replace(/^.*: sample/, 'value')}`);
    }
  });
  return t.sampleCompression === 'deflate' ? raw.map((r) => deflate(r)) : raw;
}
