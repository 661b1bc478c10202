import { EdgelakeError } from '../../errors.js';

/**
 * The fit kernel's contract, shared by the CPU reference and the GPU dispatcher: B variable-size
 * HWC u8 images back to back in one byte buffer, each sample's crop box resized to one output
 * size. The filter is integer-only so both sides give the same bytes:
 *
 * Per axis, output i reads integer taps (source j, weight) whose weights sum to a denominator D:
 *   shrinking (box >= out): area average. With a source pixel `out` units wide and an output
 *     pixel `box` units wide, output i covers [i box, (i + 1) box); a source pixel weighs its
 *     overlap (<= out) and D = box.
 *   enlarging (box < out): bilinear, half-pixel centres, x = ((2i + 1) box - out) / (2 out)
 *     clamped to [0, box - 1]: D = 2 out, taps floor(x) and floor(x) + 1 (the floor at most
 *     box - 2) weighing D - frac and frac; one tap of weight D when box = 1.
 * Rows first: mid = floor((sum wx p * 256 + floor(Dx / 2)) / Dx), 8 fraction bits, <= 65280;
 * then columns: out = floor((sum wy mid + 128 Dy) / (256 Dy)), <= 255.
 * mid depends only on (source row, output column), so a separable two-pass walk (CPU) and a
 * per-output footprint walk (GPU) compute the same mids and the same bytes.
 *
 * u32 bounds, with Dx, Dy <= 32768 (box sides <= 32768; enlarging: D = 2 out <= 32768):
 *   sum wx p <= 255 Dx, so sum wx p * 256 + Dx / 2 <= 255 * 256 * 32768 + 16384 = 2139111424 < 2^32;
 *   mid <= floor((255 * 256 Dx + Dx / 2) / Dx) = 65280;
 *   sum wy mid + 128 Dy <= 65408 Dy <= 2143289344 < 2^32, and 256 Dy <= 8388608;
 *   tap positions: i box, (j + 1) out, (2i + 1) box and (box - 1) D are all <= 2^30.
 */

export interface FitBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface FitSample {
  /** Byte offset of the image in the input; any offset (the shader reads bytes out of u32 words). */
  offset: number;
  width: number;
  height: number;
  /** The region resized: integers, inside the image, sides >= 1. */
  box: FitBox;
}

export interface FitOptions {
  /** Of every input image and of the output: 1 (gray) or 3 (RGB). */
  channels: number;
  /** Bytes per input pixel: `channels` unless more, up to 4, e.g. the JPEG kernels' RGBA words. */
  pixelStride?: number;
  /** Output size of every sample. */
  width: number;
  height: number;
  samples: readonly FitSample[];
}

export const MAX_FIT_OUTPUT = 16384;
export const MAX_FIT_BOX = 32768;
/** u32s per sample in the table: offset, width, height, x, y, w, h, 0. */
export const FIT_ROW = 8;

export interface FitPlan {
  samples: number;
  channels: number;
  pixelStride: number;
  width: number;
  height: number;
  /** Output bytes of one sample: height * width * channels. */
  perSample: number;
  /** Output bytes of the batch; the GPU writes ceil(total / 4) words and no byte past total. */
  total: number;
  /** The input bytes read: the end of the last-ending image. */
  inputBytes: number;
  /** FIT_ROW u32s per sample, as the shader reads them. */
  table: Uint32Array;
}

/** Validates options against `available` input bytes; errors name the sample. */
export function fitPlan(o: FitOptions, available: number): FitPlan {
  const where = `fit to ${o.width}x${o.height}x${o.channels}`;
  const fail = (why: string): never => {
    throw new EdgelakeError('invalid-input', `${where}: ${why}`);
  };
  if (o.channels !== 1 && o.channels !== 3) fail(`channels must be 1 or 3, got ${o.channels}`);
  for (const side of [o.width, o.height]) {
    if (!Number.isInteger(side) || side < 1 || side > MAX_FIT_OUTPUT) fail(`output sides must be integers in 1..${MAX_FIT_OUTPUT}`);
  }
  if (!Array.isArray(o.samples)) fail('samples must be an array');
  const c = o.channels;
  const stride = o.pixelStride ?? c;
  if (!Number.isInteger(stride) || stride < c || stride > 4) fail(`pixelStride must be an integer in ${c}..4, got ${stride}`);
  const perSample = o.width * o.height * c;
  const total = perSample * o.samples.length;
  if (total > 2 ** 32 - 4) fail(`${total} output bytes exceed the u32 range; split the batch`);
  const table = new Uint32Array(o.samples.length * FIT_ROW);
  let inputBytes = 0;
  o.samples.forEach((s, i) => {
    const bad = (why: string): never => fail(`sample ${i}: ${why}`);
    const { offset, width, height, box } = s ?? ({} as FitSample);
    if (!Number.isInteger(offset) || offset < 0) bad(`offset must be a non-negative integer, got ${offset}`);
    if (!Number.isInteger(width) || width < 1 || !Number.isInteger(height) || height < 1) {
      bad(`image size ${width}x${height} must be positive integers`);
    }
    const end = offset + width * height * stride;
    if (end > available) bad(`the ${width}x${height}x${stride} image at byte ${offset} ends at ${end}, past the ${available} input bytes`);
    if (end > 2 ** 32 - 4) bad(`the image ends at byte ${end}, past the u32 range`);
    const { x, y, w, h } = box ?? ({} as FitBox);
    if (![x, y, w, h].every(Number.isInteger) || x < 0 || y < 0 || w < 1 || h < 1) {
      bad(`box ${JSON.stringify(box)} needs integers x, y >= 0 and w, h >= 1`);
    }
    if (x + w > width || y + h > height) bad(`box ${w}x${h} at (${x}, ${y}) is outside the ${width}x${height} image`);
    if (w > MAX_FIT_BOX || h > MAX_FIT_BOX) bad(`box ${w}x${h} has a side over ${MAX_FIT_BOX}; crop or downscale it first`);
    table.set([offset, width, height, x, y, w, h, 0], i * FIT_ROW);
    inputBytes = Math.max(inputBytes, end);
  });
  return { samples: o.samples.length, channels: c, pixelStride: stride, width: o.width, height: o.height, perSample, total, inputBytes, table };
}

/** Taps of one axis: output i reads source index[k] (from the box's start) with weight[k], k in start[i]..start[i+1]-1. */
export interface AxisTaps {
  start: Uint32Array;
  index: Uint32Array;
  weight: Uint32Array;
  /** The sum of every output's weights. */
  den: number;
}

/** The taps of the header's filter for a box side `boxLen` resized to `outLen`; same formulas as the shader's axis(). */
export function axisTaps(boxLen: number, outLen: number): AxisTaps {
  const shrink = boxLen >= outLen;
  const start = new Uint32Array(outLen + 1);
  const room = outLen * (shrink ? Math.ceil(boxLen / outLen) + 1 : 2);
  const index = new Uint32Array(room);
  const weight = new Uint32Array(room);
  const den = shrink ? boxLen : 2 * outLen;
  let k = 0;
  for (let i = 0; i < outLen; i++) {
    if (shrink) {
      const lo = i * boxLen;
      const hi = lo + boxLen;
      for (let j = Math.floor(lo / outLen); j * outLen < hi; j++, k++) {
        index[k] = j;
        weight[k] = Math.min(hi, (j + 1) * outLen) - Math.max(lo, j * outLen);
      }
    } else if (boxLen === 1) {
      weight[k++] = den;
    } else {
      const num = Math.min(Math.max((2 * i + 1) * boxLen - outLen, 0), (boxLen - 1) * den);
      const j = Math.min(Math.floor(num / den), boxLen - 2);
      const frac = num - j * den;
      index[k] = j;
      weight[k++] = den - frac;
      index[k] = j + 1;
      weight[k++] = frac;
    }
    start[i + 1] = k;
  }
  return { start, index, weight, den };
}
