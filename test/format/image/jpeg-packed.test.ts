import jpegJs from 'jpeg-js';
import { expect, test } from 'vitest';
import { packJpegCoefficients, readJpegCoefficients, unpackJpegCoefficients } from '../../../src/format/index.js';
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

  const copied = packJpegCoefficients(copy, 2);
  expect(copied.buffer).not.toBe(copy.coefficients.buffer);
  const inPlace = packJpegCoefficients(coef, 2);
  expect(inPlace.buffer, 'the buffer under the reader\'s coefficients').toBe(coef.coefficients.buffer);
  expect(inPlace).toEqual(copied);

  const { coef: back, scale } = unpackJpegCoefficients(inPlace, 'noise');
  expect(scale).toBe(2);
  expect({ ...back, coefficients: [...back.coefficients], quantTables: [...back.quantTables] })
    .toEqual({ ...copy, coefficients: [...copy.coefficients], quantTables: [...copy.quantTables] });
});
