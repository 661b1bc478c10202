// A sequential scan decodes one MCU row at a time into a band, so reconstruction can run band
// by band in bounded memory: the rows of a band are those of the whole image.
import { describe, expect, it } from 'vitest';
import { BitReader } from '../../../../src/format/image/jpeg/bits.js';
import { layoutScan } from '../../../../src/format/image/jpeg/layout.js';
import { newHeaders, readSegments } from '../../../../src/format/image/jpeg/markers.js';
import { readJpegCoefficients } from '../../../../src/format/image/jpeg/index.js';
import { sequentialScan } from '../../../../src/format/image/jpeg/read.js';
import { cjpeg, noTools, photoPnm } from './tools.js';

describe.skipIf(noTools(['nature/Storm.jpg']))('SequentialScan.decodeRow', () => {
  it.each([
    ['4:2:0', ['-sample', '2x2']],
    ['4:2:2 with a restart every 3 MCUs', ['-sample', '2x1', '-restart', '3B']],
  ])('decodes a %s photo into a band one MCU row high, row after row, as the whole', (_, args) => {
    const bytes = cjpeg(photoPnm('nature/Storm.jpg', '1/8'), args);
    const whole = readJpegCoefficients(bytes);

    const h = newHeaders();
    const start = readSegments(bytes, 2, h, Infinity)!;
    const frame = h.frame!;
    const components = start.scan.components.map((c) => frame.components[c]);
    const layout = layoutScan(frame, components);
    const scan = sequentialScan(new BitReader(bytes, start.pos), layout, start.scan, h);
    // The band: each component's v rows of blocks for one MCU row, one component after another.
    const bases = new Int32Array(components.length);
    let blocks = 0;
    components.forEach((c, i) => {
      bases[i] = blocks;
      blocks += c.v * c.blocksWide;
    });
    const band = new Int16Array(blocks * 64);
    expect(scan.rows).toBe(frame.mcusHigh);
    for (let row = 0; row < scan.rows; row++) {
      band.fill(0);
      scan.decodeRow(band, bases);
      components.forEach((c, i) => {
        const inBand = band.subarray(bases[i] * 64, (bases[i] + c.v * c.blocksWide) * 64);
        const first = (c.firstBlock + row * c.v * c.blocksWide) * 64;
        expect(inBand, `row ${row}, component ${i}`).toEqual(whole.coefficients.subarray(first, first + inBand.length));
      });
    }
  });
});
