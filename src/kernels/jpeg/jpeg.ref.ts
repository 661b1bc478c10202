import type { JpegCoefficients, JpegScale } from './coefficients.js';
import { checkJpegArrays, type JpegImage } from './plan.js';
import { JpegRowReconstruction } from './rows.ref.js';

/**
 * Reconstructs a JPEG's pixels from its coefficients on the CPU at 1/scale of full size, as
 * `djpeg -scale 1/N` (libjpeg-turbo 2.1.5, default options) would, then applies the EXIF
 * orientation. The CPU path of the library; encodeJpegReconstruct is its GPU twin. Row by row
 * (JpegRowReconstruction): beside the coefficients and the output it holds a few rows of planes.
 */
export function reconstructJpegRef(coef: JpegCoefficients, scale: JpegScale = 1, name = 'JPEG'): JpegImage {
  checkJpegArrays(coef, name);
  const rows = new JpegRowReconstruction(coef, coef.quantTables, scale, name);
  const first = rows.plan.components.map((p) => p.firstCoefficient);
  for (let m = 0; m < rows.plan.mcuRows; m++) {
    rows.push(coef.coefficients, first);
    rows.plan.components.forEach((p, i) => (first[i] += coef.components[i].v * p.blocksWide * p.side * p.side));
  }
  return rows.image();
}

/**
 * The pixels encodeJpegReconstruct writes, one u32 per pixel (R | G << 8 | B << 16 | 255 << 24,
 * gray with R = G = B), as a JpegImage: one channel for gray, the low byte.
 */
export function unpackJpegPixels(words: Uint32Array, width: number, height: number, channels: 1 | 3): JpegImage {
  const count = width * height;
  const data = new Uint8Array(count * channels);
  let i = 0;
  if (channels === 3) {
    // Four pixels at a time as three little-endian words (a byte at a time is 4x slower).
    const out = new Uint32Array(data.buffer, 0, Math.floor(count / 4) * 3);
    for (let o = 0; o < out.length; o += 3, i += 4) {
      const b = words[i + 1];
      const c = words[i + 2];
      out[o] = (words[i] & 0xffffff) | (b << 24);
      out[o + 1] = ((b >>> 8) & 0xffff) | (c << 16);
      out[o + 2] = ((c >>> 16) & 0xff) | (words[i + 3] << 8);
    }
  }
  for (let d = i * channels; i < count; i++) {
    const w = words[i];
    data[d++] = w & 255;
    if (channels === 3) {
      data[d++] = (w >>> 8) & 255;
      data[d++] = (w >>> 16) & 255;
    }
  }
  return { width, height, channels, data };
}

/** A JpegImage as encodeJpegReconstruct writes it, one u32 per pixel: unpackJpegPixels' inverse. */
export function packJpegPixels(image: JpegImage): Uint32Array<ArrayBuffer> {
  const { data, channels } = image;
  const words = new Uint32Array(image.width * image.height);
  for (let i = 0, d = 0; i < words.length; i++, d += channels) {
    const r = data[d];
    words[i] = channels === 3 ? (r | (data[d + 1] << 8) | (data[d + 2] << 16) | 0xff000000) >>> 0 : (r | (r << 8) | (r << 16) | 0xff000000) >>> 0;
  }
  return words;
}
