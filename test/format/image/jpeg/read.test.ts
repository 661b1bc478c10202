// readJpegCoefficients against libjpeg-turbo without a reference decoder of coefficients: jpegtran
// rewrites a JPEG losslessly (progressive, restart markers, optimized tables), so every rewrite
// of a file must give the very same coefficients, quantization tables and layout.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readJpegCoefficients } from '../../../../src/format/image/jpeg/index.js';
import type { JpegCoefficients } from '../../../../src/kernels/jpeg/coefficients.js';
import { fourComponentJpeg } from '../../../../scripts/jpeg-four-components.js';
import { cjpeg, jpegtran, MATE, noTools, photoPnm, segments, syntheticPnm } from './tools.js';

/** The rewrites jpegtran makes without touching a coefficient. */
const REWRITES = [['-progressive'], ['-restart', '1'], ['-optimize'], ['-restart', '3B', '-progressive']];

/** Whether block `block` is one of the image's own, not MCU padding (which a one-component scan does not code). */
function isOwn(c: JpegCoefficients, block: number): boolean {
  const { h, v, blocksWide, firstBlock } = c.components.filter((x) => x.firstBlock <= block).pop()!;
  const i = block - firstBlock;
  return i % blocksWide < Math.ceil(Math.ceil((c.width * h) / c.maxH) / 8) && Math.floor(i / blocksWide) < Math.ceil(Math.ceil((c.height * v) / c.maxV) / 8);
}

/**
 * Asserts that a rewrite decodes to exactly what the original does. libjpeg codes padding blocks
 * with the DC of their neighbour and no AC; a rewrite whose DC scans code one component at a
 * time leaves them zero, so padding 'zero' expects zeros there instead; 'any' leaves them
 * unchecked (an original that never coded them, rewritten with interleaved scans).
 */
function expectSame(original: JpegCoefficients, rewrite: JpegCoefficients, what: string, padding: 'same' | 'zero' | 'any' = 'same') {
  const { coefficients, quantTables, ...layout } = original;
  const { coefficients: c2, quantTables: q2, ...layout2 } = rewrite;
  expect(layout2, what).toEqual(layout);
  expect(q2, what).toEqual(quantTables);
  // toEqual on 10^5 elements prints badly; count and locate the differences instead.
  let differ = 0;
  let first = -1;
  for (let i = 0; i < coefficients.length; i++) {
    const own = padding === 'same' || isOwn(original, i >> 6);
    const expected = own ? coefficients[i] : 0;
    if (expected !== c2[i] && (own || padding === 'zero')) {
      differ++;
      if (first < 0) first = i;
    }
  }
  expect({ length: c2.length, differ, first }, what).toEqual({ length: coefficients.length, differ: 0, first: -1 });
}

/** A decode that is not trivially zero: most blocks have a DC value, many have AC coefficients. */
function expectContent(c: JpegCoefficients, what: string) {
  let dc = 0;
  let ac = 0;
  for (let i = 0; i < c.coefficients.length; i++) if (c.coefficients[i] !== 0) (i % 64 === 0 ? dc++ : ac++);
  const blocks = c.coefficients.length / 64;
  expect(dc, what).toBeGreaterThan(blocks / 4);
  expect(ac, what).toBeGreaterThan(blocks / 4);
}

function expectRewritesSame(bytes: Uint8Array, what: string) {
  const original = readJpegCoefficients(bytes, { name: what });
  expectContent(original, what);
  for (const args of REWRITES) {
    expectSame(original, readJpegCoefficients(jpegtran(bytes, ['-copy', 'none', ...args])), `${what}, jpegtran ${args.join(' ')}`);
  }
  return original;
}

const PHOTOS = ['nature/Dune.jpg', 'nature/FreshFlower.jpg', 'desktop/GreenTraditional.jpg', 'nature/Storm.jpg'];

describe.skipIf(noTools(PHOTOS))('readJpegCoefficients: every lossless rewrite by jpegtran decodes the same', () => {
  it.each(['nature/Dune.jpg', 'nature/FreshFlower.jpg'])('the full-size original %s (baseline 4:2:2; progressive 4:2:0)', (photo) => {
    const bytes = new Uint8Array(readFileSync(join(MATE, photo)));
    const c = expectRewritesSame(bytes, photo);
    expect(c.color).toBe('ycbcr');
  });

  const SAMPLINGS: Record<string, string[]> = {
    '4:4:4': ['-sample', '1x1'],
    '4:2:2': ['-sample', '2x1'],
    '4:4:0': ['-sample', '1x2'],
    '4:2:0': ['-sample', '2x2'],
    gray: ['-grayscale'],
    '4x1 luma': ['-sample', '4x1,1x1,1x1'],
    '1x4 luma': ['-sample', '1x4,1x1,1x1'],
    '4x2 luma (10 blocks an MCU)': ['-sample', '4x2,1x1,1x1'],
    'chroma finer than luma': ['-sample', '1x1,2x2,1x1'],
    '3x1 luma': ['-sample', '3x1,1x1,1x1'],
  };
  it.each(Object.keys(SAMPLINGS).map((sampling, i) => [sampling, PHOTOS[i % PHOTOS.length]]))('re-encoded %s: %s at 1/8', (sampling, photo) => {
    const bytes = cjpeg(photoPnm(photo, '1/8'), ['-quality', '90', ...SAMPLINGS[sampling]]);
    expectRewritesSame(bytes, `${photo} 1/8 ${sampling}`);
  });

  // libjpeg (jdapimin.c): four components are CMYK; an Adobe marker's transform other than 0 makes them YCCK.
  // jpegtran codes the padding blocks the K scan of the original did not.
  it.each([[undefined, 'cmyk'], [0, 'cmyk'], [1, 'ycck'], [2, 'ycck']] as const)('four components, Adobe transform %s: %s', (transform, color) => {
    const pnm = photoPnm(PHOTOS[2], '1/8');
    const four = fourComponentJpeg(cjpeg(pnm, ['-quality', '90', '-sample', '2x2']), cjpeg(pnm, ['-quality', '80', '-grayscale']), transform);
    const original = readJpegCoefficients(four);
    expectContent(original, color);
    expect({ color: original.color, sampling: original.components.map(({ h, v }) => `${h}x${v}`) }).toEqual({ color, sampling: ['2x2', '1x1', '1x1', '2x2'] });
    for (const args of REWRITES) {
      const rewrite = readJpegCoefficients(jpegtran(four, ['-copy', 'none', ...args]));
      expectSame(original, rewrite, `${color}, jpegtran ${args.join(' ')}`, 'any');
    }
  });

  it('a progressive scan script of every kind (jpegtran -scans): one-component DC scans refined twice, AC bands refined bit by bit', () => {
    const script = [
      '0: 0 0 0 2;', '1: 0 0 0 1;', '2: 0 0 0 0;', '0: 0 0 2 1;', '0: 0 0 1 0;', '1: 0 0 1 0;',
      '0: 1 2 0 3;', '0: 3 9 0 2;', '0: 10 63 0 1;', '2: 1 63 0 2;', '1: 1 63 0 0;',
      '0: 1 2 3 2;', '0: 1 9 2 1;', '0: 10 63 1 0;', '0: 1 9 1 0;', '2: 1 63 2 1;', '2: 1 63 1 0;',
    ];
    const dir = mkdtempSync(join(tmpdir(), 'edgelake-jpeg-scans-'));
    try {
      writeFileSync(join(dir, 'scans.txt'), script.join('\n'));
      for (const photo of PHOTOS.slice(0, 2)) {
        const bytes = cjpeg(photoPnm(photo, '1/8'), ['-quality', '95', '-sample', '2x2']);
        const original = readJpegCoefficients(bytes);
        const rewrite = jpegtran(bytes, ['-scans', join(dir, 'scans.txt')]);
        expectSame(original, readJpegCoefficients(rewrite), `${photo} rewritten in ${script.length} scans`, 'zero');
        // Back to one interleaved scan, with a restart every MCU: jpegtran gives padding its neighbour's DC again.
        expectSame(original, readJpegCoefficients(jpegtran(rewrite, ['-restart', '1B'])), `${photo} from ${script.length} scans to baseline, restarts`);
        expectSame(original, readJpegCoefficients(jpegtran(bytes, ['-scans', join(dir, 'scans.txt'), '-restart', '1B'])), `${photo} in ${script.length} scans, a restart every block`, 'zero');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    [17, 13],
    [1, 1],
    [333, 1],
    [1, 333],
  ])('odd sizes: %ix%i, 4:2:0, 4:4:4 and gray', (width, height) => {
    for (const args of [['-sample', '2x2'], ['-sample', '1x1'], ['-grayscale']]) {
      const bytes = cjpeg(syntheticPnm(width, height, width * 1000 + height), ['-quality', '85', ...args]);
      const what = `${width}x${height} ${args.join(' ')}`;
      const original = readJpegCoefficients(bytes, { name: what });
      for (const rewrite of REWRITES) expectSame(original, readJpegCoefficients(jpegtran(bytes, rewrite)), `${what}, jpegtran ${rewrite.join(' ')}`);
      expect({ width: original.width, height: original.height }).toEqual({ width, height });
    }
  });
});

describe.skipIf(noTools())('readJpegCoefficients: layout and tables', () => {
  it('lays components out over the whole MCU grid (17x13 at 4:2:0: 2x1 MCUs of 16x16)', () => {
    const c = readJpegCoefficients(cjpeg(syntheticPnm(17, 13, 1), ['-sample', '2x2']));
    expect({ maxH: c.maxH, maxV: c.maxV, color: c.color, orientation: c.orientation }).toEqual({ maxH: 2, maxV: 2, color: 'ycbcr', orientation: 1 });
    expect(c.components).toEqual([
      { h: 2, v: 2, blocksWide: 4, blocksHigh: 2, firstBlock: 0 },
      { h: 1, v: 1, blocksWide: 2, blocksHigh: 1, firstBlock: 8 },
      { h: 1, v: 1, blocksWide: 2, blocksHigh: 1, firstBlock: 10 },
    ]);
    expect(c.coefficients.length).toBe(12 * 64);
    expect(c.quantTables.length).toBe(3 * 64);
  });

  it('holds the quantization tables in natural order: at quality 50 cjpeg writes Annex K.1 unscaled', () => {
    const c = readJpegCoefficients(cjpeg(syntheticPnm(16, 16, 2), ['-quality', '50']));
    // ITU T.81 Table K.1 (luminance) and K.2 (chrominance), row by row.
    expect(Array.from(c.quantTables.subarray(0, 16))).toEqual([16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55]);
    expect(c.quantTables[63]).toBe(99);
    expect(Array.from(c.quantTables.subarray(64, 72))).toEqual([17, 18, 24, 47, 99, 99, 99, 99]);
    expect(c.quantTables.subarray(128, 192)).toEqual(c.quantTables.subarray(64, 128)); // Cr shares Cb's table
  });

  it('reads 16-bit quantization tables (cjpeg -quality 1 writes them, and SOF1, when values pass 255)', () => {
    const bytes = cjpeg(syntheticPnm(16, 16, 3), ['-quality', '1']);
    expect(segments(bytes).map((x) => x.marker)).toContain(0xc1);
    const c = readJpegCoefficients(bytes);
    // IJG scaling at quality 1 is 5000%: Annex K's 16 and 99 become 800 and 4950.
    expect([c.quantTables[0], c.quantTables[63]]).toEqual([800, 4950]);
  });
});
