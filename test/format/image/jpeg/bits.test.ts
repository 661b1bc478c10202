// Restart markers: a scan with one RSTn a row resyncs as libjpeg's jpeg_resync_to_restart does
// when one is misnumbered or garbage precedes it; an interval left without its data is refused.
import { describe, expect, it } from 'vitest';
import { readJpegCoefficients } from '../../../../src/format/image/jpeg/index.js';
import type { JpegCoefficients } from '../../../../src/kernels/jpeg/coefficients.js';
import { cjpeg, noTools, segment, splice, syntheticPnm } from './tools.js';

/** Where each RSTn marker of the first scan starts (its 0xFF). */
function restartMarkers(b: Uint8Array): number[] {
  const out = [];
  for (let i = segment(b, 0xda).end; i + 1 < b.length; i++) if (b[i] === 0xff && b[i + 1] >= 0xd0 && b[i + 1] <= 0xd7) out.push(i);
  return out;
}

/** The coefficients of one MCU row of a gray image (8 pixel rows). */
const row = (c: JpegCoefficients, r: number) => c.coefficients.subarray(r * c.components[0].blocksWide * 64, (r + 1) * c.components[0].blocksWide * 64);

describe.skipIf(noTools())('restart markers', () => {
  // Gray, 4:4:4 sampling: one MCU row is one row of blocks, one restart interval.
  const jpeg = cjpeg(syntheticPnm(64, 64, 11), ['-grayscale', '-restart', '1']);
  const whole = readJpegCoefficients(jpeg);
  const markers = restartMarkers(jpeg);

  it('a file with one RST a row holds 7 of them, RST0..RST6 in turn, and decodes', () => {
    expect(markers.map((at) => jpeg[at + 1] - 0xd0)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(row(whole, 7).some((v) => v !== 0)).toBe(true);
  });

  // libjpeg skips the interval a lost RST leaves without data (zeros, gray); we refuse the file.
  it('a missing RST: the interval after it has no data, an error', () => {
    const damaged = splice(jpeg, markers[2], 2); // RST2, between rows 2 and 3
    expect(() => readJpegCoefficients(damaged, { name: 'rst.jpg' })).toThrow(/^rst\.jpg: entropy-coded data ends before the last block of its scan/);
  });

  it('a misnumbered RST far from the expected one is taken for it, and all decodes exactly', () => {
    const damaged = splice(jpeg, markers[2] + 1, 1, [0xd0 + ((2 + 4) & 7)]);
    expect(readJpegCoefficients(damaged).coefficients).toEqual(whole.coefficients);
  });

  it('an RST from before is skipped with the data after it: the interval it ends has none, an error', () => {
    const damaged = splice(jpeg, markers[3] + 1, 1, [0xd0 + 2]); // RST3 reads RST2: "behind"
    expect(() => readJpegCoefficients(damaged)).toThrow(/entropy-coded data ends before the last block/);
  });

  it('garbage bytes before an RST are skipped', () => {
    const damaged = splice(jpeg, markers[4], 0, [0x12, 0x34, 0xff, 0x00, 0x56]);
    expect(readJpegCoefficients(damaged).coefficients).toEqual(whole.coefficients);
  });
});
