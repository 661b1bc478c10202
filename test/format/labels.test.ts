// Class labels are checked against their classNames whenever a chunk is decoded: label value i is
// class classNames[i] (FORMAT.md), so 99, -5 or 2^31-1 with 10 classes is a broken chunk, not data.
import { describe, expect, it } from 'vitest';
import { decodeChunk, decodeSamplePayload, DEFAULT_LIMITS, deflate, encodeChunk, type TensorMeta } from '../../src/format/index.js';
import { sampleAtOffset } from '../../src/format/labels.js';
import { EdgelakeError } from '../../src/index.js';

const TEN = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const where = { dataset: 'labels', version: 'f'.repeat(64), tensor: 'label', chunk: 4 };
const label = (over: Partial<TensorMeta> = {}): TensorMeta => ({
  htype: 'class_label', dtype: 'int32', shape: [], classNames: TEN, sampleCompression: 'none', chunkCompression: 'none', chunks: [], ...over,
});
const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const int32s = (...v: number[]): Uint8Array => bytesOf(Int32Array.from(v));

/** Encodes one payload per sample and decodes the chunk again, as a reader does. */
async function roundTrip(payloads: Uint8Array[], t: TensorMeta) {
  const { stored, ref } = await encodeChunk(payloads, t.chunkCompression);
  return decodeChunk(stored, ref, t, DEFAULT_LIMITS, where);
}
/** The refusal of `p`: an EdgelakeError 'invalid-chunk' with this message. */
async function refusal(p: Promise<unknown>): Promise<string> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(EdgelakeError);
  expect((e as EdgelakeError).code).toBe('invalid-chunk');
  return (e as EdgelakeError).message;
}
const prefix = `dataset labels, version ${'f'.repeat(12)}, tensor label, chunk 4`;

describe('class labels outside their classNames are refused when a chunk is decoded', () => {
  it('accepts every label from 0 to classNames.length - 1', async () => {
    const chunk = await roundTrip([0, 9, 3, 5].map((v) => int32s(v)), label());
    expect(new Int32Array(chunk.body.buffer, chunk.body.byteOffset + chunk.header.payloadStart, 4)).toEqual(Int32Array.of(0, 9, 3, 5));
  });

  it('names dataset, tensor, chunk, sample and label, for the tester\'s 99, -5 and 2^31-1', async () => {
    for (const [bad, at] of [[99, 1], [-5, 2], [2 ** 31 - 1, 3], [10, 0]]) {
      const labels = [1, 2, 3, 4];
      labels[at] = bad;
      for (const chunkCompression of ['none', 'deflate'] as const) {
        expect(await refusal(roundTrip(labels.map((v) => int32s(v)), label({ chunkCompression }))))
          .toBe(`${prefix}: sample ${at} has label ${bad}, but the tensor has 10 classNames (labels 0 to 9)`);
      }
    }
  });

  it('checks sample-DEFLATEd labels after inflating them, naming the sample', async () => {
    const t = label({ sampleCompression: 'deflate' });
    expect([...new Int32Array(decodeSamplePayload(deflate(int32s(7)), t, DEFAULT_LIMITS, where, 5).slice().buffer)]).toEqual([7]);
    expect(await refusal(Promise.resolve().then(() => decodeSamplePayload(deflate(int32s(12)), t, DEFAULT_LIMITS, where, 5))))
      .toMatch(/sample 5 has label 12,/);
  });

  it('finds the sample of a bad label among samples of several labels each (shape [null])', async () => {
    const payloads = [int32s(0, 1), int32s(), int32s(2), int32s(3, 42)];
    expect(await refusal(roundTrip(payloads, label({ shape: [null] })))).toMatch(/sample 3 has label 42,/);
  });

  it('reads every dtype as the loader does: uint8, uint16, float32 and float16 labels', async () => {
    expect(await refusal(roundTrip([Uint8Array.of(10)], label({ dtype: 'uint8' })))).toMatch(/sample 0 has label 10,/);
    expect(await refusal(roundTrip([bytesOf(Uint16Array.of(3)), bytesOf(Uint16Array.of(65535))], label({ dtype: 'uint16' })))).toMatch(/sample 1 has label 65535,/);
    expect(await refusal(roundTrip([bytesOf(Float32Array.of(2.5))], label({ dtype: 'float32' })))).toMatch(/label 2.5,/);
    expect(await refusal(roundTrip([bytesOf(Float32Array.of(NaN))], label({ dtype: 'float32' })))).toMatch(/label NaN,/);
    // float16 bits: 0x4200 is 3, 0x4900 is 10.
    await expect(roundTrip([bytesOf(Uint16Array.of(0x4200))], label({ dtype: 'float16' }))).resolves.toBeDefined();
    expect(await refusal(roundTrip([bytesOf(Uint16Array.of(0x4900))], label({ dtype: 'float16' })))).toMatch(/label 10,/);
  });

  it('leaves labels alone when the tensor declares no classNames, and other tensors alone', async () => {
    await expect(roundTrip([int32s(99), int32s(-5)], label({ classNames: undefined }))).resolves.toBeDefined();
    await expect(roundTrip([int32s(99)], label({ htype: 'generic', classNames: undefined }))).resolves.toBeDefined();
  });
});

describe('sampleAtOffset', () => {
  it('maps a byte of the payload area to its sample, skipping empty samples', () => {
    const offsets = Uint32Array.of(0, 8, 8, 12, 20);
    expect([0, 7, 8, 11, 12, 19].map((b) => sampleAtOffset(offsets, b))).toEqual([0, 0, 2, 2, 3, 3]);
  });
});
