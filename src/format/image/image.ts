import { EdgelakeError } from '../../errors.js';
import { decodeJpeg } from './jpeg.js';
import { decodePng } from './png.js';
import type { DecodedImage, DecodeOptions } from './decoded-image.js';

export type ImageType = 'jpeg' | 'png';

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The kind most images are (JPEG on a tie): a tensor's sampleCompression, as readers decode each by its signature (FORMAT.md). */
export function mostImageType(types: Iterable<ImageType>): ImageType {
  let [pngs, all] = [0, 0];
  for (const t of types) [pngs, all] = [pngs + +(t === 'png'), all + 1];
  return pngs > all / 2 ? 'png' : 'jpeg';
}

export function sniffImageType(bytes: Uint8Array): ImageType | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 8 && PNG_MAGIC.every((b, i) => bytes[i] === b)) return 'png';
  return undefined;
}

/** Decodes a JPEG or PNG, whichever its first bytes say it is. */
export function decodeImageSync(bytes: Uint8Array, options: DecodeOptions = {}): DecodedImage {
  const type = sniffImageType(bytes);
  if (type === 'jpeg') return decodeJpeg(bytes, options);
  if (type === 'png') return decodePng(bytes, options);
  const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new EdgelakeError(
    'invalid-input',
    `${options.name ?? 'image'}: neither JPEG nor PNG (first bytes: ${head || 'none, the file is empty'})`,
  );
}

/**
 * Three channels: gray is repeated, alpha dropped, or laid over `background` (a gray level)
 * when given, so hidden colours under transparent pixels do not leak into a thumbnail.
 */
export function toRgb(img: DecodedImage, options: { background?: number } = {}): DecodedImage {
  const { width, height, channels, data } = img;
  if (channels === 3) return img;
  const n = width * height;
  const out = new Uint8Array(n * 3);
  const hasAlpha = channels === 2 || channels === 4;
  const gray = channels < 3;
  const bg = options.background;
  for (let i = 0, s = 0, o = 0; i < n; i++, s += channels, o += 3) {
    let r = data[s];
    let g = gray ? r : data[s + 1];
    let b = gray ? r : data[s + 2];
    if (hasAlpha && bg !== undefined) {
      const a = data[s + channels - 1];
      r = Math.round((r * a + bg * (255 - a)) / 255);
      g = Math.round((g * a + bg * (255 - a)) / 255);
      b = Math.round((b * a + bg * (255 - a)) / 255);
    }
    out[o] = r;
    out[o + 1] = g;
    out[o + 2] = b;
  }
  return { width, height, channels: 3, data: out };
}

/** For each output index, the source indices it reads and their weights (which sum to 1). */
interface Taps {
  offsets: Int32Array; // taps of output i are offsets[i] .. offsets[i+1]-1
  index: Int32Array;
  weight: Float64Array;
}

/**
 * Taps mapping `srcLen` samples starting at `srcStart` onto `dstLen`. Shrinking: each output
 * averages its exact footprint (a box of srcLen/dstLen source samples, partial ones weighted by
 * their overlap). Enlarging: bilinear between the two nearest centres (half-pixel convention).
 */
function taps(srcStart: number, srcLen: number, dstLen: number): Taps {
  const offsets = new Int32Array(dstLen + 1);
  const maxTaps = srcLen > dstLen ? Math.ceil(srcLen / dstLen) + 1 : 2;
  const index = new Int32Array(dstLen * maxTaps);
  const weight = new Float64Array(dstLen * maxTaps);
  let k = 0;
  for (let i = 0; i < dstLen; i++) {
    if (srcLen >= dstLen) {
      // In units where a source sample is dstLen wide and an output sample srcLen wide, every
      // boundary is an integer, so overlaps are exact.
      const lo = i * srcLen;
      const hi = lo + srcLen;
      for (let j = Math.floor(lo / dstLen); j * dstLen < hi; j++) {
        const overlap = Math.min(hi, (j + 1) * dstLen) - Math.max(lo, j * dstLen);
        if (overlap <= 0) continue;
        index[k] = srcStart + j;
        weight[k++] = overlap / srcLen;
      }
    } else if (srcLen === 1) {
      index[k] = srcStart;
      weight[k++] = 1;
    } else {
      const x = Math.min(Math.max(((i + 0.5) * srcLen) / dstLen - 0.5, 0), srcLen - 1);
      const j = Math.min(Math.floor(x), srcLen - 2);
      index[k] = srcStart + j;
      weight[k++] = 1 - (x - j);
      index[k] = srcStart + j + 1;
      weight[k++] = x - j;
    }
    offsets[i + 1] = k;
  }
  return { offsets, index, weight };
}

export interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Resizes `img` (or the `region` of it) to width x height, separably: rows first, then
 * columns, each by `taps` (area average when shrinking, bilinear when enlarging).
 */
export function resizeArea(img: DecodedImage, width: number, height: number, region?: Region): DecodedImage {
  const r = region ?? { x: 0, y: 0, width: img.width, height: img.height };
  const valid = (v: number) => Number.isInteger(v) && v > 0;
  if (!valid(width) || !valid(height) || !valid(r.width) || !valid(r.height)) {
    const what = `resize from ${r.width}x${r.height} to ${width}x${height}`;
    throw new EdgelakeError('invalid-input', `${what}: sizes must be positive integers`);
  }
  const inside = Number.isInteger(r.x) && Number.isInteger(r.y) && r.x >= 0 && r.y >= 0;
  if (!inside || r.x + r.width > img.width || r.y + r.height > img.height) {
    const where = `${r.width}x${r.height} at (${r.x}, ${r.y})`;
    throw new EdgelakeError('invalid-input', `resize region ${where} is outside the ${img.width}x${img.height} image`);
  }
  const c = img.channels;
  const src = img.data;
  const tx = taps(r.x, r.width, width);
  const ty = taps(r.y, r.height, height);
  // Horizontal pass over the rows of the region only, kept in float so rounding happens once.
  const mid = new Float64Array(r.height * width * c);
  for (let y = 0; y < r.height; y++) {
    const row = (r.y + y) * img.width;
    for (let x = 0; x < width; x++) {
      const m = (y * width + x) * c;
      for (let t = tx.offsets[x]; t < tx.offsets[x + 1]; t++) {
        const s = (row + tx.index[t]) * c;
        const w = tx.weight[t];
        for (let ch = 0; ch < c; ch++) mid[m + ch] += w * src[s + ch];
      }
    }
  }
  const out = new Uint8Array(width * height * c);
  const acc = new Float64Array(c);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      acc.fill(0);
      for (let t = ty.offsets[y]; t < ty.offsets[y + 1]; t++) {
        const m = ((ty.index[t] - r.y) * width + x) * c;
        const w = ty.weight[t];
        for (let ch = 0; ch < c; ch++) acc[ch] += w * mid[m + ch];
      }
      const o = (y * width + x) * c;
      for (let ch = 0; ch < c; ch++) out[o + ch] = Math.min(255, Math.max(0, Math.round(acc[ch])));
    }
  }
  return { width, height, channels: c, data: out };
}

/** A size x size thumbnail: the centred square crop (keeps aspect), area-resized. */
export function thumbnail(img: DecodedImage, size: number): DecodedImage {
  const side = Math.min(img.width, img.height);
  const x = Math.floor((img.width - side) / 2);
  const y = Math.floor((img.height - side) / 2);
  return resizeArea(img, size, size, { x, y, width: side, height: side });
}
