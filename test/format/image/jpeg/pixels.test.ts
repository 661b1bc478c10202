// The coefficients mean the right pixels: reconstructed plainly (./reconstruct.ts), they match what
// djpeg makes of the same file with the same choices (float IDCT, no smoothing of chroma).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readJpegCoefficients } from '../../../../src/format/image/jpeg/index.js';
import { psnr, reconstruct } from './reconstruct.js';
import { cjpeg, djpeg, MATE, noTools, photoPnm } from './tools.js';

const PHOTOS = ['nature/Dune.jpg', 'nature/FreshFlower.jpg', 'nature/Storm.jpg'];

describe.skipIf(noTools(PHOTOS))('coefficients reconstructed to pixels, against djpeg -dct float -nosmooth', () => {
  const check = (bytes: Uint8Array, what: string) => {
    const c = readJpegCoefficients(bytes, { name: what });
    const ours = reconstruct(c);
    const reference = djpeg(bytes, ['-dct', 'float', '-nosmooth']);
    expect({ width: ours.width, height: ours.height, channels: ours.channels }, what).toEqual({
      width: reference.width,
      height: reference.height,
      channels: reference.channels,
    });
    expect(psnr(ours, reference), what).toBeGreaterThan(30);
    return c;
  };

  it('a full-size progressive original (FreshFlower, 4:2:0)', () => {
    check(new Uint8Array(readFileSync(join(MATE, 'nature/FreshFlower.jpg'))), 'nature/FreshFlower.jpg');
  });

  it.each([
    ['4:4:4', ['-sample', '1x1']],
    ['4:2:2', ['-sample', '2x1']],
    ['4:4:0', ['-sample', '1x2']],
    ['4:2:0 progressive', ['-sample', '2x2', '-progressive']],
    ['gray', ['-grayscale']],
    ['4x1 luma, restarts', ['-sample', '4x1,1x1,1x1', '-restart', '1']],
  ])('photos re-encoded %s', (_, args) => {
    for (const photo of PHOTOS) check(cjpeg(photoPnm(photo, '1/4'), ['-quality', '90', ...args]), `${photo} ${args.join(' ')}`);
  });

  it('RGB without colour transform (cjpeg -rgb: Adobe APP14 transform 0)', () => {
    const c = check(cjpeg(photoPnm('nature/Dune.jpg', '1/4'), ['-rgb']), 'nature/Dune.jpg -rgb');
    expect(c.color).toBe('rgb');
  });
});
