import type { JpegComponentPlan, JpegPlan } from './plan.js';

/**
 * Planes to pixels, as djpeg's defaults do it in libjpeg-turbo 2.1.5: each component upsampled to
 * full size (jdsample.c: fancy triangle filters or replication, the top and bottom rows repeated
 * as jdmainct.c's context rows repeat them), YCbCr to RGB with jdcolor.c's 16-bit fixed-point
 * tables (RGB and gray pass through), cropped to the output size; then EXIF orientation applied.
 * Four components are made RGB as djpeg's PPM writer (cmyk.h) makes them: R = C * K / 255,
 * rounded, on CMYK inverted as Adobe's applications store it (YCCK first made CMYK as jdcolor.c
 * does). libjpeg, Pillow and browsers read every CMYK JPEG so, marked by Adobe or not;
 * TensorFlow alone un-inverts one without the marker.
 */

const ONE_HALF = 1 << 15;
// jdcolor.c build_ycc_rgb_table: FIX(1.40200), FIX(1.77200), FIX(0.71414), FIX(0.34414) at SCALEBITS 16.
export const CR_R = Int32Array.from({ length: 256 }, (_, i) => (91881 * (i - 128) + ONE_HALF) >> 16);
export const CB_B = Int32Array.from({ length: 256 }, (_, i) => (116130 * (i - 128) + ONE_HALF) >> 16);
const CR_G = Int32Array.from({ length: 256 }, (_, i) => -46802 * (i - 128));
const CB_G = Int32Array.from({ length: 256 }, (_, i) => -22554 * (i - 128) + ONE_HALF);

/**
 * Where stored pixel (x, y) of a width x height image lands in the oriented output, as a pixel
 * index: origin + x * dx + y * dy (orientations 5..8 make the output height x width).
 */
export function orientationSteps(orientation: number, width: number, height: number): { origin: number; dx: number; dy: number } {
  const [w, h] = [width, height];
  switch (orientation) {
    case 2: return { origin: w - 1, dx: -1, dy: w }; // mirrored left-right
    case 3: return { origin: h * w - 1, dx: -1, dy: -w }; // rotated 180
    case 4: return { origin: (h - 1) * w, dx: 1, dy: -w }; // mirrored top-bottom
    case 5: return { origin: 0, dx: h, dy: 1 }; // transposed
    case 6: return { origin: h - 1, dx: h, dy: -1 }; // rotate 90 clockwise to display
    case 7: return { origin: w * h - 1, dx: -h, dy: -1 }; // transversed
    case 8: return { origin: (w - 1) * h, dx: -h, dy: 1 }; // rotate 90 counter-clockwise to display
    default: return { origin: 0, dx: 1, dy: w };
  }
}

/** Where row j of a component's plane starts in the planes passed with it. */
export type PlaneRows = (j: number) => number;

/** Rows of whole planes, as idctRef lays them out. */
export const wholePlaneRows = (plan: JpegPlan): PlaneRows[] => plan.components.map((p) => (j) => p.offset + j * p.stride);

/**
 * Converts stored rows [rowStart, rowEnd) of the output (plan.width x plan.height, before
 * orientation) from `planes` (idctRef's) into `out`, the oriented image's interleaved samples,
 * and returns `out`. Rows only read the plane rows next to theirs, so bands work.
 */
export function colorRef(
  plan: JpegPlan,
  planes: Uint8Array,
  out: Uint8Array = new Uint8Array(plan.outWidth * plan.outHeight * plan.channels),
  rowStart = 0,
  rowEnd = plan.height,
): Uint8Array {
  colorRows(plan, planes, wholePlaneRows(plan), out, rowStart, rowEnd);
  return out;
}

/** A row buffer per component for colorRows to upsample into, allocated once per image. */
export const upsampleBuffers = (plan: JpegPlan): Uint8Array[] => plan.components.map((p) => new Uint8Array(Math.max(plan.width, 2 * p.sampleWidth)));

/**
 * colorRef's loop over planes whose rows `rows` places (component c's row j at rows[c](j)): whole
 * planes, or the few rows of a band (rows.ref.ts). Row y reads plane rows y * size / vExpand
 * and, for the vertical triangle filters, one either side.
 */
export function colorRows(
  plan: JpegPlan, planes: Uint8Array, rows: PlaneRows[], out: Uint8Array, rowStart: number, rowEnd: number,
  buffers: Uint8Array[] = upsampleBuffers(plan),
): void {
  const { width, channels, components } = plan;
  const { origin, dx, dy } = orientationSteps(plan.orientation, width, plan.height);
  const clamped = new Uint8ClampedArray(out.buffer, out.byteOffset, out.length);
  const sources: Uint8Array[] = [];
  const bases: number[] = [];
  const step = dx * channels;
  for (let y = rowStart; y < rowEnd; y++) {
    components.forEach((p, c) => {
      // Full-size planes are read in place; the others are upsampled into a row buffer.
      sources[c] = p.upsample === 'full' ? planes : buffers[c];
      bases[c] = p.upsample === 'full' ? rows[c](y) : 0;
      if (p.upsample !== 'full') upsampleRow(p, planes, y, width, buffers[c], rows[c]);
    });
    const d = (origin + y * dy) * channels;
    if (plan.color === 'gray') grayRow(sources[0], bases[0], width, out, d, step);
    else if (plan.color === 'rgb') rgbRow(sources, bases, width, out, d, step);
    else if (plan.color === 'ycbcr') yccRow(sources[0], bases[0], sources[1], bases[1], sources[2], bases[2], width, clamped, d, step);
    else cmykRow(plan.color, sources, bases, width, out, d, step);
  }
}

// One row each; small functions, so the engine optimizes each loop on its own.
function grayRow(s: Uint8Array, i: number, width: number, out: Uint8Array, d: number, step: number): void {
  for (let x = 0; x < width; x++, d += step) out[d] = s[i++];
}

function rgbRow(s: Uint8Array[], at: number[], width: number, out: Uint8Array, d: number, step: number): void {
  const [r, g, b] = s;
  for (let x = 0, i = at[0], j = at[1], k = at[2]; x < width; x++, d += step) {
    out[d] = r[i++];
    out[d + 1] = g[j++];
    out[d + 2] = b[k++];
  }
}

// jdcolext.c ycc_rgb_convert_internal; the clamped view does range_limit's clamping.
function yccRow(
  sy: Uint8Array, i: number, sb: Uint8Array, j: number, sr: Uint8Array, k: number,
  width: number, out: Uint8ClampedArray, d: number, step: number,
): void {
  for (let x = 0; x < width; x++, d += step) {
    const luma = sy[i++];
    const cb = sb[j++];
    const cr = sr[k++];
    out[d] = luma + CR_R[cr];
    out[d + 1] = luma + ((CB_G[cb] + CR_G[cr]) >> 16);
    out[d + 2] = luma + CB_B[cb];
  }
}

// jdcolor.c ycck_cmyk_convert (C, M, Y = 255 - R, G, B of the YCbCr), then cmyk.h cmyk_to_rgb.
function cmykRow(color: 'cmyk' | 'ycck', s: Uint8Array[], at: number[], width: number, out: Uint8Array, d: number, step: number): void {
  const [c, m, y, k] = s;
  for (let x = 0, i = at[0], j = at[1], l = at[2], n = at[3]; x < width; x++, d += step) {
    let [cyan, magenta, yellow] = [c[i++], m[j++], y[l++]];
    const black = k[n++];
    if (color === 'ycck') {
      const [luma, cb, cr] = [cyan, magenta, yellow];
      cyan = 255 - clamp255(luma + CR_R[cr]);
      magenta = 255 - clamp255(luma + ((CB_G[cb] + CR_G[cr]) >> 16));
      yellow = 255 - clamp255(luma + CB_B[cb]);
    }
    out[d] = times255(cyan, black);
    out[d + 1] = times255(magenta, black);
    out[d + 2] = times255(yellow, black);
  }
}

const clamp255 = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);
/** a * b / 255 rounded, in integers: what cmyk.h's (double)a * b / 255.0 + 0.5 gives for 8-bit a and b. */
export const times255 = (a: number, b: number) => Math.floor((2 * a * b + 255) / 510);

/**
 * Writes output row y of component `p`, upsampled, into `row` (at least `width` samples); the
 * plane's row j starts at planes[at(j)].
 */
export function upsampleRow(
  p: JpegComponentPlan, planes: Uint8Array, y: number, width: number, row: Uint8Array,
  at: PlaneRows = (j) => p.offset + j * p.stride,
): void {
  const n = p.sampleWidth;
  const last = p.sampleHeight - 1;
  const s = planes;
  if (p.upsample === 'replicate') {
    const base = at(Math.floor(y / p.vExpand));
    for (let x = 0; x < width; x++) row[x] = s[base + Math.floor(x / p.hExpand)];
  } else if (p.upsample === 'h2v1') {
    // Triangle filter: 3/4 of the nearer sample, 1/4 of the other; halves round up and down in turn.
    const a = at(y);
    row[0] = s[a];
    row[1] = (s[a] * 3 + s[a + 1] + 2) >> 2;
    for (let i = 1; i < n - 1; i++) {
      const near = s[a + i] * 3;
      row[2 * i] = (near + s[a + i - 1] + 1) >> 2;
      row[2 * i + 1] = (near + s[a + i + 1] + 2) >> 2;
    }
    row[2 * n - 2] = (s[a + n - 1] * 3 + s[a + n - 2] + 1) >> 2;
    row[2 * n - 1] = s[a + n - 1];
  } else {
    // Vertical neighbour: the row above for even output rows, below for odd, repeated at the edges.
    const j = y >> 1;
    const far = y & 1 ? Math.min(j + 1, last) : Math.max(j - 1, 0);
    const a = at(j);
    const b = at(far);
    if (p.upsample === 'h1v2') {
      const bias = y & 1 ? 2 : 1;
      for (let x = 0; x < n; x++) row[x] = (s[a + x] * 3 + s[b + x] + bias) >> 2;
      return;
    }
    // h2v2: the vertical filter's column sums, then the horizontal one; rounding 8 and 7 in turn.
    let before = s[a] * 3 + s[b];
    let here = before;
    let next = s[a + 1] * 3 + s[b + 1];
    for (let i = 0; i < n; i++) {
      row[2 * i] = (here * 3 + before + 8) >> 4;
      row[2 * i + 1] = (here * 3 + next + 7) >> 4;
      before = here;
      here = next;
      next = i + 2 < n ? s[a + i + 2] * 3 + s[b + i + 2] : here;
    }
  }
}
