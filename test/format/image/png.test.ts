import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants, deflateRawSync, deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { missing } from '../../support/system.js';
import { chunk, encodePng, ihdr, png, random, SAMPLES_PER_PIXEL, type PngSpec } from './png-encoder.js';
import { failure } from '../../support/errors.js';
import { decodePng } from '../../../src/format/index.js';

/** What a decoder must output for `spec`: 8-bit samples, palette and tRNS resolved. */
function expected(spec: PngSpec): { channels: number; data: Uint8Array } {
  const { colorType, bitDepth, samples, palette, trns } = spec;
  const spp = SAMPLES_PER_PIXEL[colorType];
  const to8 = (v: number) => (bitDepth === 16 ? v >> 8 : Math.round((v * 255) / (2 ** bitDepth - 1)));
  const key = trns && colorType !== 3 ? Array.from({ length: spp }, (_, i) => (trns[2 * i] << 8) | trns[2 * i + 1]) : undefined;
  const out: number[] = [];
  for (let p = 0; p < spec.width * spec.height; p++) {
    const pixel = Array.from(samples.subarray(p * spp, (p + 1) * spp));
    if (colorType === 3) {
      out.push(...palette!.subarray(pixel[0] * 3, pixel[0] * 3 + 3));
      if (trns) out.push(trns[pixel[0]] ?? 255);
    } else {
      out.push(...pixel.map(to8));
      if (key) out.push(pixel.every((v, i) => v === key[i]) ? 0 : 255);
    }
  }
  const channels = colorType === 3 ? (trns ? 4 : 3) : spp + (key ? 1 : 0);
  return { channels, data: Uint8Array.from(out) };
}

/** Seeded random pixels; with `transparent`, a tRNS chunk that some pixels match. */
function randomSpec(seed: number, colorType: PngSpec['colorType'], bitDepth: PngSpec['bitDepth'], width: number, height: number, transparent: boolean): PngSpec {
  const rand = random(seed);
  const spp = SAMPLES_PER_PIXEL[colorType];
  const entries = colorType === 3 ? Math.min(2 ** bitDepth, 200) : 0;
  const samples = Uint16Array.from({ length: width * height * spp }, () => rand(colorType === 3 ? entries : 2 ** bitDepth));
  const spec: PngSpec = { width, height, colorType, bitDepth, samples };
  if (colorType === 3) spec.palette = Uint8Array.from({ length: entries * 3 }, () => rand(256));
  if (transparent && colorType === 3) spec.trns = Uint8Array.from({ length: rand(entries) + 1 }, () => rand(256));
  if (transparent && (colorType === 0 || colorType === 2)) {
    // The key is the colour of a random pixel, so at least one pixel turns transparent.
    const p = rand(width * height);
    spec.trns = new Uint8Array(spp * 2);
    samples.subarray(p * spp, (p + 1) * spp).forEach((v, i) => spec.trns!.set([v >> 8, v & 255], i * 2));
  }
  return spec;
}

const FORMATS: Array<[PngSpec['colorType'], PngSpec['bitDepth']]> = [
  [0, 1], [0, 2], [0, 4], [0, 8], [0, 16], [2, 8], [2, 16], [3, 1], [3, 2], [3, 4], [3, 8], [4, 8], [4, 16], [6, 8], [6, 16],
];
const SIZES = [[1, 1], [3, 5], [17, 9], [33, 20]];
const FILTERS: Array<[string, (row: number) => number]> = [
  ...[0, 1, 2, 3, 4].map((f): [string, (row: number) => number] => [`filter ${f}`, () => f]),
  ['mixed filters', (row) => (row * 3 + 1) % 5],
];

describe('decodePng against an independent encoder', () => {
  it.each(FORMATS)('colour type %i, bit depth %i: every filter, size, interlace and tRNS, exactly', (colorType, bitDepth) => {
    let seed = colorType * 100 + bitDepth;
    for (const [width, height] of SIZES) {
      for (const interlaced of [false, true]) {
        for (const transparent of [false, true]) {
          for (const [label, filter] of FILTERS) {
            const spec = { ...randomSpec(seed++, colorType, bitDepth, width, height, transparent), interlaced, filter };
            const img = decodePng(encodePng(spec));
            const want = expected(spec);
            const what = `${width}x${height} ${interlaced ? 'Adam7' : 'plain'} ${transparent ? 'tRNS' : ''} ${label}`;
            expect({ width: img.width, height: img.height, channels: img.channels }, what).toEqual({ width, height, channels: want.channels });
            expect(Buffer.from(img.data).equals(want.data), what).toBe(true);
          }
        }
      }
    }
  });

  it('joins image data split over many IDAT chunks', () => {
    const spec = { ...randomSpec(7, 6, 8, 40, 30, false), idatSize: 100 };
    expect(Buffer.from(decodePng(encodePng(spec)).data).equals(expected(spec).data)).toBe(true);
  });

  it('compares all 16 bits against a 16-bit colour key, though it outputs the high byte', () => {
    const spec: PngSpec = { width: 3, height: 1, colorType: 0, bitDepth: 16, samples: Uint16Array.of(0x1234, 0x12ff, 0xff00), trns: Uint8Array.of(0x12, 0x34) };
    expect(Array.from(decodePng(encodePng(spec)).data)).toEqual([0x12, 0, 0x12, 255, 0xff, 255]);
  });

  it('skips unknown ancillary chunks', () => {
    const spec = randomSpec(9, 2, 8, 4, 4, false);
    const file = encodePng(spec);
    const withText = png([file.subarray(8, 33), chunk('tEXt', Buffer.from('Comment\0hello')), file.subarray(33)]);
    expect(Buffer.from(decodePng(withText).data).equals(expected(spec).data)).toBe(true);
  });
});

/** A PNG with IHDR `header` and one IDAT holding `raw` (filter bytes included), zlib-compressed. */
const withRaw = (header: Uint8Array, raw: Uint8Array) => png([header, chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);

describe('decodePng on hostile input', () => {
  const good = encodePng(randomSpec(1, 2, 8, 16, 16, false));

  it('refuses a file cut anywhere, naming it', () => {
    for (let cut = 0; cut < good.length; cut += 7) {
      expect(failure(() => decodePng(good.subarray(0, cut), { name: 'cats/1.png' }))).toMatch(/^invalid-input: cats\/1\.png: /);
    }
  });

  it('refuses a chunk whose CRC does not match, as an integrity error', () => {
    const flipped = Uint8Array.from(good);
    flipped[good.length - 20] ^= 1; // inside the IDAT data
    expect(failure(() => decodePng(flipped))).toMatch(/^integrity: .*IDAT.*CRC/);
  });

  it('refuses an absurd IHDR (2^30 x 2^30) as a limit before reading further', () => {
    // No IDAT at all: only the header check can answer 'limit'.
    expect(failure(() => decodePng(png([ihdr(2 ** 30, 2 ** 30, 8, 6)])))).toMatch(/^limit: .*1073741824x1073741824/);
  });

  it('honours maxPixels', () => {
    const file = encodePng(randomSpec(2, 0, 8, 20, 20, false));
    expect(failure(() => decodePng(file, { maxPixels: 399 }))).toMatch(/^limit: .*400 pixels/);
    expect(decodePng(file, { maxPixels: 400 }).width).toBe(20);
  });

  it('stops a deflate bomb (4 GiB of zeros in 4 MiB) at the size its IHDR implies', () => {
    // Sync-flushed raw deflate blocks end on a byte boundary, so copies of one concatenate.
    const piece = deflateRawSync(new Uint8Array(1 << 20), { level: 9, finishFlush: constants.Z_SYNC_FLUSH });
    const copies = 4096;
    const z = new Uint8Array(2 + piece.length * copies + 2 + 4);
    z.set([0x78, 0xda]);
    for (let i = 0; i < copies; i++) z.set(piece, 2 + i * piece.length);
    z.set([0x03, 0x00], 2 + piece.length * copies); // an empty final block
    const bomb = png([ihdr(1000, 1000, 8, 0), chunk('IDAT', z), chunk('IEND', new Uint8Array(0))]);
    expect(failure(() => decodePng(bomb))).toMatch(/^limit: .*inflates past the 1001000 bytes/);
  });

  it('refuses image data longer or shorter than the IHDR implies', () => {
    const rows = (n: number) => new Uint8Array(n * 3); // 2x1 gray rows: filter byte + 2 samples
    expect(failure(() => decodePng(withRaw(ihdr(2, 2, 8, 0), rows(3))))).toMatch(/^limit: /);
    expect(failure(() => decodePng(withRaw(ihdr(2, 2, 8, 0), rows(1))))).toMatch(/^invalid-input: .*3 of the 6 bytes/);
  });

  it('decodes image data with stray bytes after its zlib stream, as libpng does, and still checks its Adler-32', () => {
    const raw = Uint8Array.from({ length: 2 * 3 }, (_, i) => (i % 3 === 0 ? 0 : 40 * i)); // 2x2 gray, filter 0
    const z = deflateSync(raw);
    const strayed = png([ihdr(2, 2, 8, 0), chunk('IDAT', Buffer.concat([z, Uint8Array.of(0, 0)])), chunk('IEND', new Uint8Array(0))]);
    expect(Array.from(decodePng(strayed).data)).toEqual([40, 80, 160, 200]);
    const wrongSum = Buffer.concat([z, Uint8Array.of(0, 0)]);
    wrongSum[z.length - 1] ^= 1;
    expect(failure(() => decodePng(png([ihdr(2, 2, 8, 0), chunk('IDAT', wrongSum), chunk('IEND', new Uint8Array(0))])))).toMatch(/^integrity: .*Adler-32/);
  });

  it('refuses broken structure with a message saying what is wrong', () => {
    const iend = chunk('IEND', new Uint8Array(0));
    const cases: Array<[Uint8Array, RegExp]> = [
      [Buffer.from('GIF89a....'), /bad signature/],
      [png([chunk('IDAT', deflateSync(new Uint8Array(4))), iend]), /first chunk is IDAT/],
      [png([ihdr(1, 1, 8, 0), iend]), /no IDAT/],
      [png([ihdr(1, 1, 3, 2), iend]), /colour type 2 with bit depth 3/],
      [png([ihdr(0, 1, 8, 0), iend]), /IHDR size 0x1/],
      [withRaw(ihdr(1, 1, 8, 3), Uint8Array.of(0, 0)), /without PLTE/],
      [withRaw(ihdr(1, 1, 8, 0), Uint8Array.of(5, 0)), /unknown filter type 5/],
      [png([ihdr(1, 1, 8, 0), chunk('ZZZZ', new Uint8Array(1)), iend]), /unknown critical chunk ZZZZ/],
      [png([ihdr(1, 1, 8, 0), chunk('IDAT', Uint8Array.of(1, 2, 3, 4, 5, 6)), iend]), /zlib header/],
      [png([ihdr(1, 1, 8, 0), chunk('IDAT', Uint8Array.of(0x78, 0xda, 0xff, 0xff, 0, 0, 0, 0)), iend]), /not valid DEFLATE/],
      [png([ihdr(1, 1, 8, 3), chunk('PLTE', Uint8Array.of(1, 2, 3)), chunk('IDAT', deflateSync(Uint8Array.of(0, 1))), iend]), /palette entry 1 of 1/],
    ];
    for (const [file, message] of cases) expect(failure(() => decodePng(file))).toMatch(message);
  });
});

const MATE = '/usr/share/backgrounds/mate';
const realPngs = existsSync(MATE)
  ? readdirSync(MATE, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.png')).sort()
  : [];

describe.skipIf(missing('PNG wallpapers', 'apt-get install mate-backgrounds', realPngs.length > 0))('decodePng on real PNGs (mate-backgrounds)', () => {
  it.each(realPngs)('%s: the size and channels its IHDR declares, the same every time', (file) => {
    const bytes = readFileSync(join(MATE, file));
    // IHDR read by hand: width and height at bytes 16 and 20, colour type at 25.
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const channels = { 0: 1, 2: 3, 4: 2, 6: 4 }[bytes[25]];
    const img = decodePng(bytes, { name: file });
    expect({ width: img.width, height: img.height, channels: img.channels }).toEqual({ width: view.getUint32(16), height: view.getUint32(20), channels });
    expect(img.data.length).toBe(img.width * img.height * img.channels);
    expect(Buffer.from(decodePng(bytes).data).equals(img.data)).toBe(true);
  });
});
