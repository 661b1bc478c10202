import jpegJs from 'jpeg-js';
import { expect, test } from 'vitest';
import { packJpegCoefficients, readJpegCoefficients, unpackJpegCoefficients } from '../../../src/format/index.js';
import { reconstructJpegRef, type JpegScale } from '../../../src/kernels/index.js';
import { mulberry32 } from '../../support/random.js';

/** A JPEG of noise (4:4:4), by jpeg-js's encoder. */
function noiseJpeg(width: number, height: number): Uint8Array {
  const random = mulberry32(7);
  const data = Uint8Array.from({ length: width * height * 4 }, () => Math.floor(random() * 256));
  return new Uint8Array(jpegJs.encode({ data, width, height }, 80).data);
}

test('packed coefficients unpack to what was packed; the reader\'s are packed where they lie, without a copy', () => {
  const coef = readJpegCoefficients(noiseJpeg(37, 21), { name: 'noise' });
  const copy = { ...coef, coefficients: coef.coefficients.slice(), quantTables: coef.quantTables.slice() };

  const copied = packJpegCoefficients(copy, 1);
  expect(copied.buffer).not.toBe(copy.coefficients.buffer);
  const inPlace = packJpegCoefficients(coef, 1);
  expect(inPlace.buffer, 'the buffer under the reader\'s coefficients').toBe(coef.coefficients.buffer);
  expect(inPlace).toEqual(copied);

  const { coef: back, scale } = unpackJpegCoefficients(inPlace, 'noise');
  expect(scale).toBe(1);
  expect({ ...back, coefficients: [...back.coefficients], quantTables: [...back.quantTables] })
    .toEqual({ ...copy, coefficients: [...copy.coefficients], quantTables: [...copy.quantTables] });
});

test('below 1/1 only what that scale reads is packed: at 1/8 a 4:4:4 JPEG\'s DC alone, 1/64; the same pixels', () => {
  const coef = readJpegCoefficients(noiseJpeg(203, 141), { name: 'noise' });
  const full = coef.coefficients.byteLength;
  const kept: Record<JpegScale, number> = { 1: 64, 2: 49, 4: 25, 8: 1 }; // 4:4:4: every component's IDCT is 8 / scale
  for (const scale of [1, 2, 4, 8] as const) {
    const expected = reconstructJpegRef(coef, scale, 'noise');
    const packed = packJpegCoefficients(coef, scale);
    const { coef: back, scale: got } = unpackJpegCoefficients(packed, 'noise');
    expect(got).toBe(scale);
    expect(back.reducedFor).toBe(scale === 1 ? undefined : scale);
    // Padded to a whole block of 64, as a batch places its images.
    expect(back.coefficients.length).toBe(Math.ceil((full / 2 / 64) * kept[scale] / 64) * 64);
    expect(reconstructJpegRef(back, scale, 'noise'), `1/${scale}`).toEqual(expected);
    if (scale !== 1) expect(() => reconstructJpegRef(back, 1, 'noise')).toThrow(`coefficients reduced for 1/${scale} cannot reconstruct at 1/1`);
  }
});
