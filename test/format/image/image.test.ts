import { describe, expect, it } from 'vitest';
import { encodePng } from './png-encoder.js';
import { isEdgelakeError } from '../../../src/index.js';
import { type DecodedImage, decodeImageSync, resizeArea, sniffImageType, thumbnail, toRgb } from '../../../src/format/index.js';

const gray = (width: number, height: number, values: number[]): DecodedImage => ({ width, height, channels: 1, data: Uint8Array.from(values) });
const values = (img: DecodedImage) => Array.from(img.data);

describe('resizeArea', () => {
  it('averages a 2x2 image into one pixel (25.25 rounds to 25)', () => {
    expect(values(resizeArea(gray(2, 2, [10, 20, 30, 41]), 1, 1))).toEqual([25]);
  });

  it('weights partial source pixels by their overlap: 3x3 -> 2x2', () => {
    // Each output covers 1.5 x 1.5 source pixels: per axis weights 2/3, 1/3 and 1/3, 2/3, so the
    // top-left output is (4*p00 + 2*p01 + 2*p10 + p11) / 9 = (0 + 18 + 54 + 36) / 9 = 12.
    const img = gray(3, 3, [0, 9, 18, 27, 36, 45, 54, 63, 72]);
    expect(values(resizeArea(img, 2, 2))).toEqual([12, 24, 48, 60]);
  });

  it('shrinks 5 -> 2 by a non-integer factor', () => {
    // Footprints [0, 2.5) and [2.5, 5): (10 + 20 + 15) / 2.5 = 18 and (15 + 40 + 50) / 2.5 = 42.
    expect(values(resizeArea(gray(5, 1, [10, 20, 30, 40, 50]), 2, 1))).toEqual([18, 42]);
  });

  it('keeps a constant image constant, whatever the sizes', () => {
    for (const [w, h, tw, th] of [[7, 5, 3, 2], [3, 3, 7, 11], [100, 1, 33, 4], [1, 1, 5, 5], [64, 48, 32, 32]]) {
      const img: DecodedImage = { width: w, height: h, channels: 3, data: new Uint8Array(w * h * 3).fill(255) };
      expect(resizeArea(img, tw, th).data.every((v) => v === 255)).toBe(true);
    }
  });

  it('enlarges bilinearly between pixel centres: [0, 100] -> [0, 25, 75, 100]', () => {
    expect(values(resizeArea(gray(2, 1, [0, 100]), 4, 1))).toEqual([0, 25, 75, 100]);
  });

  it('shrinks one axis while enlarging the other', () => {
    // Columns 4 -> 2 average pairs; rows 1 -> 2 repeat the single row.
    expect(values(resizeArea(gray(4, 1, [0, 10, 20, 40]), 2, 2))).toEqual([5, 30, 5, 30]);
  });

  it('resizes each channel on its own', () => {
    const rgb: DecodedImage = { width: 2, height: 1, channels: 3, data: Uint8Array.of(0, 100, 200, 10, 110, 210) };
    expect(values(resizeArea(rgb, 1, 1))).toEqual([5, 105, 205]);
  });

  it('shrinks by a whole factor to plain block means', () => {
    const data = Uint8Array.from({ length: 64 * 48 }, (_, i) => (i * 37) % 256);
    const small = resizeArea({ width: 64, height: 48, channels: 1, data }, 16, 12);
    for (let y = 0; y < 12; y++) {
      for (let x = 0; x < 16; x++) {
        let sum = 0;
        for (let dy = 0; dy < 4; dy++) for (let dx = 0; dx < 4; dx++) sum += data[(y * 4 + dy) * 64 + x * 4 + dx];
        expect(small.data[y * 16 + x]).toBe(Math.round(sum / 16));
      }
    }
  });

  it('reads only the given region', () => {
    const img = gray(4, 2, [1, 2, 3, 4, 5, 6, 7, 8]);
    expect(values(resizeArea(img, 1, 1, { x: 2, y: 0, width: 2, height: 2 }))).toEqual([6]); // (3+4+7+8)/4 = 5.5
  });

  it('refuses sizes that are not positive integers, and regions outside the image', () => {
    const codes = [() => resizeArea(gray(2, 2, [0, 0, 0, 0]), 0, 1), () => resizeArea(gray(2, 2, [0, 0, 0, 0]), 1, 1, { x: 1, y: 0, width: 2, height: 2 })].map((f) => {
      try {
        f();
      } catch (e) {
        return isEdgelakeError(e, 'invalid-input');
      }
      return false;
    });
    expect(codes).toEqual([true, true]);
  });
});

describe('thumbnail', () => {
  it('crops the centred square, then resizes', () => {
    // 4x2: the centre square is columns 1..2.
    expect(values(thumbnail(gray(4, 2, [0, 10, 20, 90, 0, 30, 40, 90]), 1))).toEqual([25]);
    // 1x3: the centre square is the middle pixel.
    expect(values(thumbnail(gray(1, 3, [0, 77, 255]), 2))).toEqual([77, 77, 77, 77]);
  });
});

describe('toRgb', () => {
  it('repeats gray, drops alpha, and lays alpha over a background when asked', () => {
    expect(values(toRgb(gray(1, 1, [7])))).toEqual([7, 7, 7]);
    expect(values(toRgb({ width: 1, height: 1, channels: 2, data: Uint8Array.of(9, 0) }))).toEqual([9, 9, 9]);
    const rgba: DecodedImage = { width: 2, height: 1, channels: 4, data: Uint8Array.of(200, 100, 0, 128, 1, 2, 3, 255) };
    expect(values(toRgb(rgba))).toEqual([200, 100, 0, 1, 2, 3]);
    // 200 * 128/255 + 255 * 127/255 = 227.4: half-transparent red over white.
    expect(values(toRgb(rgba, { background: 255 }))).toEqual([227, 177, 127, 1, 2, 3]);
  });
});

describe('sniffImageType and decodeImageSync', () => {
  const pngBytes = encodePng({ width: 2, height: 1, colorType: 0, bitDepth: 8, samples: Uint16Array.of(3, 4) });

  it('tells JPEG and PNG by their first bytes', () => {
    expect(sniffImageType(Uint8Array.of(0xff, 0xd8, 0xff, 0xe0))).toBe('jpeg');
    expect(sniffImageType(pngBytes)).toBe('png');
    expect(sniffImageType(new TextEncoder().encode('GIF89a'))).toBeUndefined();
    expect(sniffImageType(new Uint8Array(0))).toBeUndefined();
  });

  it('decodes by sniffing, and names the file when it is neither', () => {
    expect(values(decodeImageSync(pngBytes))).toEqual([3, 4]);
    expect(() => decodeImageSync(new TextEncoder().encode('GIF89a'), { name: 'x.gif' })).toThrow(/x\.gif: neither JPEG nor PNG \(first bytes: 47 49 46 38 39 61\)/);
  });
});
