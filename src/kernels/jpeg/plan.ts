import { EdgelakeError } from '../../errors.js';
import type { JpegCoefficients, JpegScale } from './coefficients.js';

/**
 * What reconstruction makes: 8-bit samples, rows top to bottom, channels interleaved, in display
 * orientation. The shape of format's DecodedImage (kernels cannot import format).
 */
export interface JpegImage {
  width: number;
  height: number;
  /** 1: gray; 3: RGB. */
  channels: 1 | 3;
  data: Uint8Array;
}

/** A JpegCoefficients without its arrays: enough to plan, and all the GPU dispatcher needs. */
export type JpegLayout = Omit<JpegCoefficients, 'coefficients' | 'quantTables'>;

/**
 * How a component's plane becomes full-size samples (libjpeg-turbo jdsample.c jinit_upsampler):
 * 'full' (fullsize_upsample), the triangle filters 'h2v1' | 'h2v2' | 'h1v2' (fancy upsampling,
 * djpeg's default), or 'replicate' hExpand x vExpand (int_upsample, h2v1_upsample, h2v2_upsample).
 */
export type JpegUpsample = 'full' | 'h2v1' | 'h2v2' | 'h1v2' | 'replicate';

export interface JpegComponentPlan {
  /** DCT_scaled_size: each 8x8 block of coefficients becomes size x size samples (1, 2, 4 or 8). */
  size: number;
  /** Where the component's blocks lie in `coefficients` (JpegComponent's). */
  firstBlock: number;
  blocksWide: number;
  /**
   * Coefficients kept per block side: 8 (all 64, natural order), or, where the layout is
   * reducedFor this scale, the rows and columns this size's IDCT reads (KEPT_SIDE), side x side a
   * block, row-major (keptSlot maps a natural row or column to its place).
   */
  side: number;
  /** Index in `coefficients` of the component's first block: firstBlock * 64, or after the reduced components before it. */
  firstCoefficient: number;
  /** Blocks that hold image data (libjpeg's width_in_blocks, height_in_blocks); the rest are never read. */
  validBlocksWide: number;
  validBlocksHigh: number;
  /** The plane: validBlocks * size samples, rows `stride` bytes apart from byte `offset` of all planes. */
  planeWidth: number;
  planeHeight: number;
  /** planeWidth rounded up to 4, so the GPU's planes (4 samples per u32) have the same bytes. */
  stride: number;
  offset: number;
  /** libjpeg's downsampled_width, _height: the real samples; the upsampler repeats the last ones. */
  sampleWidth: number;
  sampleHeight: number;
  upsample: JpegUpsample;
  /** For 'replicate': output samples per plane sample across and down. */
  hExpand: number;
  vExpand: number;
}

export interface JpegPlan {
  scale: JpegScale;
  /** Output size as stored (libjpeg's output_width, _height: ceil(width / scale)). */
  width: number;
  height: number;
  /** EXIF orientation 1..8, and the output size once applied (5..8 swap width and height). */
  orientation: number;
  outWidth: number;
  outHeight: number;
  color: JpegCoefficients['color'];
  channels: 1 | 3;
  /** Rows of MCUs (iMCU rows): the unit of a band of idctRef. */
  mcuRows: number;
  components: JpegComponentPlan[];
  /** Bytes of all planes together. */
  planeBytes: number;
  /** Coefficients the components' blocks span (from index 0): what `coefficients` must hold at least. */
  coefficientCount: number;
}

/**
 * Rows (and columns) of a block each IDCT size reads, libjpeg's: jpeg_idct_1x1 the DC alone,
 * _2x2 rows 0, 1, 3, 5, 7, _4x4 all but 4, islow all 8. A reduced block keeps side x side.
 */
export const KEPT_SIDE: Readonly<Record<number, number>> = { 1: 1, 2: 5, 4: 7, 8: 8 };

/** The natural rows (and columns) a reduced block of each side keeps, in order. */
export const KEPT_ROWS: Readonly<Record<number, readonly number[]>> = { 1: [0], 5: [0, 1, 3, 5, 7], 7: [0, 1, 2, 3, 5, 6, 7], 8: [0, 1, 2, 3, 4, 5, 6, 7] };

/**
 * Where natural row (or column) k of a block lies among `side` kept ones. A row that size's IDCT
 * never reads maps to a kept one (read, never used), so every index stays within the block.
 */
export function keptSlot(k: number, side: number): number {
  return side === 8 ? k : side === 7 ? k - (k > 4 ? 1 : 0) : side === 5 ? (k + 1) >> 1 : 0;
}

const SCALES: readonly number[] = [1, 2, 4, 8];
/** Components each colour model has; every one of them is made RGB but gray. */
const COMPONENTS: Readonly<Record<string, number>> = { gray: 1, ycbcr: 3, rgb: 3, cmyk: 4, ycck: 4 };
const MAX_DIMENSION = 65535; // a JPEG frame's size is 16 bits

/**
 * The sizes and per-component choices of reconstructing `layout` at 1/scale, as libjpeg-turbo
 * 2.1.5 makes them (jdmaster.c jpeg_calc_output_dimensions, jdsample.c jinit_upsampler, djpeg's
 * defaults: fancy upsampling, islow IDCT). Throws EdgelakeError 'invalid-input' naming `name`.
 */
export function jpegPlan(layout: JpegLayout, scale: JpegScale, name = 'JPEG'): JpegPlan {
  const fail = (why: string): never => {
    throw new EdgelakeError('invalid-input', `${name}: ${why}`);
  };
  const { width, height, maxH, maxV, color, components, orientation, reducedFor } = layout;
  if (!SCALES.includes(scale)) fail(`scale must be 1, 2, 4 or 8, got ${scale}`);
  if (reducedFor !== undefined && reducedFor !== scale) fail(`coefficients reduced for 1/${reducedFor} cannot reconstruct at 1/${scale}`);
  for (const [key, value] of Object.entries({ width, height })) {
    if (!Number.isInteger(value) || value < 1 || value > MAX_DIMENSION) fail(`${key} must be an integer in 1..${MAX_DIMENSION}, got ${value}`);
  }
  if (!Number.isInteger(orientation) || orientation < 1 || orientation > 8) fail(`orientation must be 1..8, got ${orientation}`);
  const count = COMPONENTS[color] ?? fail(`color must be one of ${Object.keys(COMPONENTS).join(', ')}, got ${color}`);
  if (components.length !== count) fail(`${color} needs ${count} component(s), got ${components.length}`);
  if (Math.max(...components.map((c) => c.h)) !== maxH || Math.max(...components.map((c) => c.v)) !== maxV) {
    fail(`maxH ${maxH}, maxV ${maxV} are not the largest sampling factors`);
  }

  // jpeg_core_output_dimensions: min_DCT_scaled_size = 8 / scale, output = ceil(size / scale).
  const min = 8 / scale;
  const mcuRows = Math.ceil(height / (8 * maxV));
  const mcusWide = Math.ceil(width / (8 * maxH));
  let [offset, reducedAt, coefficientCount] = [0, 0, 0];
  const plans = components.map((c, i): JpegComponentPlan => {
    const what = `component ${i}`;
    if (![c.h, c.v].every((f) => Number.isInteger(f) && f >= 1 && f <= 4)) fail(`${what}: sampling ${c.h}x${c.v} is not in 1..4`);
    if (c.blocksWide !== mcusWide * c.h || c.blocksHigh !== mcuRows * c.v) {
      fail(`${what}: ${c.blocksWide}x${c.blocksHigh} blocks, the MCU grid needs ${mcusWide * c.h}x${mcuRows * c.v}`);
    }
    // Scale chroma up in the IDCT rather than the upsampler, while the ratio allows (jdmaster.c).
    let size = min;
    while (size < 8 && (maxH * min) % (c.h * size * 2) === 0 && (maxV * min) % (c.v * size * 2) === 0) size *= 2;
    const validBlocksWide = Math.ceil((width * c.h) / (maxH * 8));
    const validBlocksHigh = Math.ceil((height * c.v) / (maxV * 8));
    const planeWidth = validBlocksWide * size;
    const planeHeight = validBlocksHigh * size;
    const stride = Math.ceil(planeWidth / 4) * 4;
    const side = reducedFor === undefined ? 8 : KEPT_SIDE[size];
    const firstCoefficient = reducedFor === undefined ? c.firstBlock * 64 : reducedAt;
    reducedAt += c.blocksWide * c.blocksHigh * side * side;
    coefficientCount = Math.max(coefficientCount, firstCoefficient + c.blocksWide * c.blocksHigh * side * side);
    const plan: JpegComponentPlan = {
      size, firstBlock: c.firstBlock, blocksWide: c.blocksWide, side, firstCoefficient, validBlocksWide, validBlocksHigh,
      planeWidth, planeHeight, stride, offset,
      sampleWidth: Math.ceil((width * c.h * size) / (maxH * 8)),
      sampleHeight: Math.ceil((height * c.v * size) / (maxV * 8)),
      ...upsampling(c.h * size / min, c.v * size / min, maxH, maxV, min, Math.ceil((width * c.h * size) / (maxH * 8))),
    };
    if (plan.upsample === 'replicate' && (maxH % (c.h * size / min) !== 0 || maxV % (c.v * size / min) !== 0)) {
      fail(`${what}: sampling ${c.h}x${c.v} of ${maxH}x${maxV} is a fractional ratio, which libjpeg does not decode either`);
    }
    offset += stride * planeHeight;
    return plan;
  });

  const swap = orientation >= 5;
  const outW = Math.ceil(width / scale);
  const outH = Math.ceil(height / scale);
  return {
    scale, width: outW, height: outH, orientation,
    outWidth: swap ? outH : outW, outHeight: swap ? outW : outH,
    color, channels: color === 'gray' ? 1 : 3, mcuRows, components: plans, planeBytes: offset, coefficientCount,
  };
}

/** jinit_upsampler's choice for a component whose row group is hIn x vIn samples of maxH x maxV pixels. */
function upsampling(hIn: number, vIn: number, maxH: number, maxV: number, min: number, sampleWidth: number) {
  // jdmainct.c gives no context rows at min_DCT_scaled_size 1, so 1/8 never filters.
  const fancy = min > 1;
  const replicate = { upsample: 'replicate' as const, hExpand: maxH / hIn, vExpand: maxV / vIn };
  if (hIn === maxH && vIn === maxV) return { upsample: 'full' as const, hExpand: 1, vExpand: 1 };
  // The 2h filters fall back to replication on planes of 1 or 2 samples across.
  if (hIn * 2 === maxH && vIn === maxV && fancy && sampleWidth > 2) return { upsample: 'h2v1' as const, hExpand: 2, vExpand: 1 };
  if (hIn === maxH && vIn * 2 === maxV && fancy) return { upsample: 'h1v2' as const, hExpand: 1, vExpand: 2 };
  if (hIn * 2 === maxH && vIn * 2 === maxV && fancy && sampleWidth > 2) return { upsample: 'h2v2' as const, hExpand: 2, vExpand: 2 };
  return replicate;
}

/** Checks that `coef`'s arrays hold every block and quantization table its layout names. */
export function checkJpegArrays(coef: JpegCoefficients, name = 'JPEG'): void {
  const fail = (why: string): never => {
    throw new EdgelakeError('invalid-input', `${name}: ${why}`);
  };
  if (!(coef.coefficients instanceof Int16Array)) fail('coefficients must be an Int16Array');
  if (!(coef.quantTables instanceof Uint16Array)) fail('quantTables must be a Uint16Array');
  if (coef.reducedFor !== undefined) {
    const { coefficientCount } = jpegPlan(coef, coef.reducedFor, name);
    if (coefficientCount > coef.coefficients.length) fail(`coefficients reduced for 1/${coef.reducedFor} need ${coefficientCount}, the array holds ${coef.coefficients.length}`);
  }
  else {
    coef.components.forEach((c, i) => {
      const end = (c.firstBlock + c.blocksWide * c.blocksHigh) * 64;
      if (!Number.isInteger(c.firstBlock) || c.firstBlock < 0 || end > coef.coefficients.length) {
        fail(`component ${i}: blocks ${c.firstBlock}.. need ${end} coefficients, the array holds ${coef.coefficients.length}`);
      }
    });
  }
  if (coef.quantTables.length < coef.components.length * 64) {
    fail(`${coef.components.length} components need ${coef.components.length * 64} quantization values, got ${coef.quantTables.length}`);
  }
}
