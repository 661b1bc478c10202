import { execFileSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { DEFAULT_LIMITS, unpackJpegCoefficients } from '../../../src/format/index.js';
import { reconstructJpegRef } from '../../../src/kernels/index.js';
import { decodeSample } from '../../../src/runtime/dataset/decode.js';
import { jpeg, meta, noCjpeg, rgbImage } from './workers/fixtures.js';

// What a decode worker hands the GPU half (jpeg-batch.ts) for a photo much larger than its fit.
it.skipIf(noCjpeg)('a worker packs a photo for a 32 px fit at 1/8: its luma\'s DC and chroma\'s 5x5 alone, the pixels djpeg -scale 1/8 gives', () => {
  const [w, h] = [800, 600];
  const file = jpeg(w, h, rgbImage(11, w, h)); // cjpeg's default 4:2:0
  const tensor = meta({ htype: 'image', shape: [null, null, 3], sampleCompression: 'jpeg' });
  const crop = { size: [32, 32] as const, crop: 'center' as const, seed: 0, epoch: 0, firstId: 0 };
  const where = { dataset: 'd', tensor: 'image', chunk: '0' };
  const { data, shape } = decodeSample(file, tensor, DEFAULT_LIMITS, where, 0, { crop, coefficients: true });
  expect(shape).toEqual([75, 100, 3]);

  const { coef, scale } = unpackJpegCoefficients(data, 'photo');
  expect(scale).toBe(8);
  // Full size would be 1.5 coefficients a pixel (2 bytes each); 1/8 keeps 4 x 1 + 2 x 25 of each MCU's 6 x 64.
  const full = Math.ceil(w / 16) * Math.ceil(h / 16) * 6 * 64 * 2;
  expect(coef.coefficients.byteLength).toBeLessThanOrEqual(Math.ceil((full * (4 + 2 * 25)) / (6 * 64) / 128) * 128);
  expect(data.byteLength).toBeLessThan(full / 7);

  const expected = execFileSync('djpeg', ['-scale', '1/8', '-pnm'], { input: file });
  const pixels = expected.subarray(expected.length - 75 * 100 * 3);
  expect(Buffer.from(reconstructJpegRef(coef, scale, 'photo').data).equals(pixels)).toBe(true);
});
