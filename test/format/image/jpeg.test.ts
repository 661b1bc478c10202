import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasCommand, missing } from '../../support/system.js';
import { failure } from '../../support/errors.js';
import { type DecodedImage, decodeJpeg, readJpegCoefficients } from '../../../src/format/index.js';

/** Reads the binary PGM (P5) or PPM (P6) that `djpeg -pnm` writes. */
function readPnm(b: Buffer): DecodedImage {
  const fields: string[] = [];
  let pos = 0;
  while (fields.length < 4) {
    while (/\s/.test(String.fromCharCode(b[pos]))) pos++;
    const start = pos;
    while (!/\s/.test(String.fromCharCode(b[pos]))) pos++;
    fields.push(b.toString('latin1', start, pos));
  }
  const [magic, width, height, maxval] = fields;
  if ((magic !== 'P5' && magic !== 'P6') || maxval !== '255') throw new Error(`unexpected PNM header ${fields.join(' ')}`);
  return { width: +width, height: +height, channels: magic === 'P5' ? 1 : 3, data: b.subarray(pos + 1) };
}

const djpeg = (args: string[], input: Uint8Array) => readPnm(execFileSync('djpeg', ['-pnm', ...args], { input, maxBuffer: 1 << 30 }));

/** Peak signal-to-noise ratio in dB; Infinity when the samples are equal. */
function psnr(a: DecodedImage, b: DecodedImage): number {
  let squares = 0;
  for (let i = 0; i < a.data.length; i++) squares += (a.data[i] - b.data[i]) ** 2;
  return squares === 0 ? Infinity : 10 * Math.log10((255 * 255 * a.data.length) / squares);
}

/** Equal typed arrays, compared as bytes (toEqual walks megabytes slowly). */
const same = (a: Int16Array, b: Int16Array) => Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;

const shape = (img: DecodedImage) => ({ width: img.width, height: img.height, channels: img.channels });

const MATE = '/usr/share/backgrounds/mate';
const PHOTOS = [
  'desktop/GreenTraditional.jpg', // baseline
  'nature/Dune.jpg', // baseline
  'nature/GreenMeadow.jpg', // progressive
  'nature/FreshFlower.jpg', // progressive
  'abstract/Elephants.jpg', // progressive
];
const noReference =
  missing('djpeg', 'apt-get install libjpeg-turbo-progs', hasCommand('djpeg') && hasCommand('cjpeg')) ||
  missing('JPEG photos', 'apt-get install mate-backgrounds', PHOTOS.every((p) => existsSync(join(MATE, p))));

describe.skipIf(noReference)('decodeJpeg against djpeg (libjpeg-turbo)', () => {
  // Same upsampling as plain djpeg (libjpeg-turbo's "fancy" triangle filter) and the same integer
  // IDCT (jidctint.c): the samples are equal, not just close (test/kernels/jpeg.djpeg.test.ts checks all 176 files).
  it.each(PHOTOS)('%s: the samples djpeg gives', (photo) => {
    const bytes = readFileSync(join(MATE, photo));
    const ours = decodeJpeg(bytes, { name: photo });
    const theirs = djpeg([], bytes);
    expect(shape(ours)).toEqual(shape(theirs));
    expect(psnr(ours, theirs)).toBe(Infinity);
  });

  // Small JPEGs made by cjpeg from the photo scaled by djpeg, one per encoder setting.
  const VARIANTS: Array<[string, string, string[]]> = [
    ['4:2:0 baseline', '1/4', []],
    ['4:2:2', '1/4', ['-sample', '2x1']],
    ['4:4:0', '1/4', ['-sample', '1x2']],
    ['4:4:4', '1/4', ['-sample', '1x1']],
    ['progressive', '1/4', ['-progressive']],
    ['restart markers every row', '1/4', ['-restart', '1']],
    ['optimized Huffman tables', '1/4', ['-optimize']],
    ['630x394, not a whole number of MCUs', '3/8', ['-quality', '95']],
  ];
  it.each(VARIANTS)('%s', (_label, scale, args) => {
    const ppm = execFileSync('djpeg', ['-pnm', '-scale', scale, join(MATE, 'nature/Dune.jpg')], { maxBuffer: 1 << 28 });
    const bytes = execFileSync('cjpeg', args, { input: ppm });
    const ours = decodeJpeg(bytes);
    const theirs = djpeg([], bytes);
    expect(shape(ours)).toEqual(shape(theirs));
    expect(psnr(ours, theirs)).toBe(Infinity);
  });

  it('decodes at 1/2, 1/4 and 1/8 in the DCT domain, as djpeg -scale 1/N', () => {
    const bytes = readFileSync(join(MATE, 'nature/Dune.jpg'));
    for (const scale of [2, 4, 8] as const) {
      const ours = decodeJpeg(bytes, { scale });
      const theirs = djpeg(['-scale', `1/${scale}`], bytes);
      expect(shape(ours)).toEqual({ width: Math.ceil(1680 / scale), height: Math.ceil(1050 / scale), channels: 3 });
      expect(psnr(ours, theirs), `1/${scale}`).toBe(Infinity);
    }
  });

  it('at 1/8 reads only what the IDCTs use: a progressive file\'s AC scans of 1x1-IDCT components are skipped, the pixels are djpeg\'s', () => {
    const bytes = readFileSync(join(MATE, 'nature/GreenMeadow.jpg')); // progressive 4:2:0
    const whole = readJpegCoefficients(bytes);
    const dc = readJpegCoefficients(bytes, { scale: () => 8 });
    // Luma's IDCT is 1x1 at 1/8; subsampled chroma gets a 2x2 one (libjpeg's choice), which reads AC.
    const luma = dc.components[0];
    const lumaEnd = (luma.firstBlock + luma.blocksWide * luma.blocksHigh) * 64;
    expect(dc.coefficients.subarray(0, lumaEnd).every((v, i) => (i % 64 === 0 ? v === whole.coefficients[i] : v === 0))).toBe(true);
    expect(same(dc.coefficients.subarray(lumaEnd), whole.coefficients.subarray(lumaEnd))).toBe(true);
    expect(psnr(decodeJpeg(bytes, { scale: 8 }), djpeg(['-scale', '1/8'], bytes))).toBe(Infinity);
    // A baseline file codes AC with DC: all of it is read, whatever the scale.
    const baseline = readFileSync(join(MATE, 'nature/Dune.jpg'));
    expect(same(readJpegCoefficients(baseline, { scale: 8 }).coefficients, readJpegCoefficients(baseline).coefficients)).toBe(true);
  });

  it('decodes a one-component JPEG to one gray channel', () => {
    const ppm = execFileSync('djpeg', ['-pnm', '-scale', '1/4', join(MATE, 'nature/Dune.jpg')], { maxBuffer: 1 << 28 });
    const bytes = execFileSync('cjpeg', ['-grayscale'], { input: ppm });
    const ours = decodeJpeg(bytes);
    const ref = djpeg([], bytes);
    expect(shape(ours)).toEqual({ width: 420, height: 263, channels: 1 });
    expect(shape(ref)).toEqual(shape(ours));
    expect(psnr(ours, ref)).toBe(Infinity);
  });

  it('refuses an arithmetic-coded JPEG, saying so', () => {
    const ppm = execFileSync('djpeg', ['-pnm', '-scale', '1/8', join(MATE, 'nature/Dune.jpg')], { maxBuffer: 1 << 28 });
    const bytes = execFileSync('cjpeg', ['-arithmetic'], { input: ppm });
    expect(failure(() => decodeJpeg(bytes, { name: 'a.jpg' }))).toMatch(/^invalid-input: a\.jpg: arithmetic-coded JPEG \(SOF9\) is not supported/);
  });

  // libjpeg would fill the missing part with gray; a half-gray photo is a wrong training sample.
  it('refuses a file cut anywhere, as invalid input naming it', () => {
    const ppm = execFileSync('djpeg', ['-pnm', '-scale', '1/8', join(MATE, 'nature/Dune.jpg')], { maxBuffer: 1 << 28 });
    const bytes = execFileSync('cjpeg', ['-progressive'], { input: ppm });
    for (let cut = 0; cut < bytes.length; cut += Math.ceil(bytes.length / 40)) {
      expect(failure(() => decodeJpeg(bytes.subarray(0, cut), { name: 'cut.jpg' }))).toMatch(/^invalid-input: cut\.jpg: /);
    }
  });

  it('honours maxPixels before decoding', () => {
    const bytes = readFileSync(join(MATE, 'nature/Dune.jpg'));
    expect(failure(() => decodeJpeg(bytes, { maxPixels: 1_000_000 }))).toMatch(/^limit: JPEG: 1680x1050 is 1764000 pixels, over the limit of 1000000/);
  });
});

describe('decodeJpeg on hostile headers', () => {
  /** SOI, a baseline frame header of the given size with 3 components, then EOI. */
  const frame = (width: number, height: number, precision = 8) =>
    Uint8Array.of(0xff, 0xd8, 0xff, 0xc0, 0, 17, precision, height >> 8, height & 255, width >> 8, width & 255, 3,
      1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xff, 0xd9);

  it('refuses a 65535x65535 frame as a limit, without decoding', () => {
    expect(failure(() => decodeJpeg(frame(65535, 65535)))).toMatch(/^limit: .*65535x65535/);
  });

  it('names what is wrong with a malformed header', () => {
    expect(failure(() => decodeJpeg(frame(10, 10, 12)))).toMatch(/12-bit JPEG samples are not supported/);
    expect(failure(() => decodeJpeg(frame(10, 0)))).toMatch(/frame height 0/);
    expect(failure(() => decodeJpeg(Uint8Array.of(0xff, 0xd8, 0xff, 0xda, 0, 2)))).toMatch(/a scan \(SOS\) before the frame header/);
    expect(failure(() => decodeJpeg(Uint8Array.of(0x89, 0x50)))).toMatch(/no SOI marker/);
    expect(failure(() => decodeJpeg(frame(8, 8)))).toMatch(/^invalid-input: JPEG: no scan before the end of the image/);
  });
});
