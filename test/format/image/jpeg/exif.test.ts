// What APPn segments say: EXIF orientation (APP1, either byte order) and the colour of three
// components (JFIF APP0, Adobe APP14's transform flag, else libjpeg's guess from component ids).
import { describe, expect, it } from 'vitest';
import { readJpegCoefficients } from '../../../../src/format/image/jpeg/index.js';
import { cjpeg, exif, noTools, segment, segments, splice, syntheticPnm } from './tools.js';

describe.skipIf(noTools())('readJpegCoefficients: orientation and colour from APPn segments', () => {
  const jpeg = cjpeg(syntheticPnm(24, 16, 7), []);
  const afterSoi = (b: Uint8Array, insert: Uint8Array) => splice(b, 2, 0, insert);

  it('reads EXIF orientation in Intel (II) and Motorola (MM) byte order', () => {
    for (const orientation of [1, 3, 6, 8]) {
      expect(readJpegCoefficients(afterSoi(jpeg, exif('II', orientation))).orientation).toBe(orientation);
      expect(readJpegCoefficients(afterSoi(jpeg, exif('MM', orientation))).orientation).toBe(orientation);
    }
    expect(readJpegCoefficients(jpeg).orientation).toBe(1); // no EXIF: as stored
  });

  it('takes a damaged or odd EXIF segment as no orientation, without reading outside it', () => {
    const good = exif('MM', 6);
    const cases = {
      'cut inside the IFD': good.subarray(0, 30),
      'IFD offset past the end': splice(good, 4 + 6 + 4, 4, [0x7f, 0xff, 0xff, 0xff]),
      'orientation 9': splice(good, good.length - 8, 2, [0, 9]),
      'not a TIFF header': splice(good, 4 + 6, 2, [0x58, 0x58]),
    };
    for (const [what, app1] of Object.entries(cases)) {
      // Fix the segment length after cutting, so only the EXIF payload is damaged.
      const fixed = splice(app1, 2, 2, [(app1.length - 2) >> 8, (app1.length - 2) & 255]);
      expect(readJpegCoefficients(afterSoi(jpeg, fixed), { name: what }).orientation, what).toBe(1);
    }
  });

  it('three components: JFIF means YCbCr; Adobe transform 0 means RGB (cjpeg -rgb writes it)', () => {
    expect(readJpegCoefficients(jpeg).color).toBe('ycbcr');
    const rgb = cjpeg(syntheticPnm(24, 16, 7), ['-rgb']);
    expect(segments(rgb).map((s) => s.marker)).toContain(0xee);
    expect(segments(rgb).map((s) => s.marker)).not.toContain(0xe0);
    expect(readJpegCoefficients(rgb).color).toBe('rgb');
    const adobe = segment(rgb, 0xee);
    // transform 1 (YCbCr): the flag is the segment's last byte
    expect(readJpegCoefficients(splice(rgb, adobe.end - 1, 1, [1])).color).toBe('ycbcr');
    // a JFIF APP0 wins over Adobe, as in libjpeg
    const jfif = segment(jpeg, 0xe0);
    expect(readJpegCoefficients(afterSoi(rgb, jpeg.subarray(jfif.start, jfif.end))).color).toBe('ycbcr');
  });

  it('three components without JFIF or Adobe: ids R, G, B mean RGB, any others YCbCr (libjpeg)', () => {
    const rgb = cjpeg(syntheticPnm(24, 16, 7), ['-rgb']);
    const adobe = segment(rgb, 0xee);
    const bare = splice(rgb, adobe.start, adobe.end - adobe.start);
    expect(readJpegCoefficients(bare).color).toBe('rgb');
    // Rename the components 1, 2, 3 in the frame and scan headers.
    let renamed = bare;
    const sof = segment(bare, 0xc0);
    const sos = segment(bare, 0xda);
    for (let i = 0; i < 3; i++) {
      renamed = splice(renamed, sof.start + 10 + 3 * i, 1, [i + 1]);
      renamed = splice(renamed, sos.start + 5 + 2 * i, 1, [i + 1]);
    }
    expect(readJpegCoefficients(renamed).color).toBe('ycbcr');
  });

  it('one component is gray, whatever the markers say', () => {
    const gray = cjpeg(syntheticPnm(24, 16, 7), ['-grayscale']);
    expect(readJpegCoefficients(gray).color).toBe('gray');
    expect(readJpegCoefficients(gray).components).toHaveLength(1);
  });
});
