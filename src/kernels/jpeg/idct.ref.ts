import type { JpegCoefficients } from './coefficients.js';
import { keptSlot, type JpegComponentPlan, type JpegPlan } from './plan.js';

/**
 * Dequantization and inverse DCT of every block into 8-bit planes, as libjpeg-turbo 2.1.5 does for
 * djpeg: jpeg_idct_islow (jidctint.c) at full size, jpeg_idct_4x4, _2x2, _1x1 (jidctred.c) for
 * scaled sizes, the same constants, order of operations, zero-row shortcuts and rounding, so the
 * samples are bit-exact. Arithmetic is 32-bit wrapping as in the WGSL twin: the doubles here stay
 * exact below 2^53 and every `>>` wraps them to int32 first, which equals wrapping each step.
 * (libjpeg's C keeps 64-bit intermediates and its SIMD 16-bit ones; they differ from this only on
 * coefficients no encoder makes, where the 10-bit range mask makes any answer in-range garbage.)
 *
 * Block smoothing (do_block_smoothing, on by default) is not here: libjpeg 2.1.5 applies it only to
 * progressive files in which some of the first nine AC coefficients (zigzag 1..9) have bits never
 * received (jdcoefct.c smoothing_ok: coef_bits != 0). djpeg reads every scan before output, so a
 * complete progressive file is reconstructed exactly as here; a truncated one is not.
 */

/**
 * The post-IDCT range limit (jdmaster.c prepare_range_limit_table, indexed with x & RANGE_MASK):
 * x's low 10 bits read as signed, plus 128, clamped to 0..255. Wild values wrap, as libjpeg's do.
 */
export const IDCT_RANGE_LIMIT: Uint8Array = Uint8Array.from({ length: 1024 }, (_, i) => Math.min(255, Math.max(0, ((i ^ 512) - 512) + 128)));
const LIMIT = IDCT_RANGE_LIMIT;

// The workspace between the column and the row pass, as libjpeg's: one per module, not per block.
const ws = new Int32Array(64);

/**
 * Writes the plane samples of MCU rows [mcuRowStart, mcuRowEnd) of every component into `planes`
 * (plan.planeBytes long; each component at plan.components[c].offset, rows `stride` apart), and
 * returns it. Bands of MCU rows may be done in any order; padding blocks are never transformed.
 */
export function idctRef(
  coef: JpegCoefficients,
  plan: JpegPlan,
  planes: Uint8Array = new Uint8Array(plan.planeBytes),
  mcuRowStart = 0,
  mcuRowEnd = plan.mcuRows,
): Uint8Array {
  plan.components.forEach((p, c) => {
    const v = coef.components[c].v;
    const rowEnd = Math.min(mcuRowEnd * v, p.validBlocksHigh);
    for (let by = mcuRowStart * v; by < rowEnd; by++) {
      idctBlockRow(coef.coefficients, p.firstCoefficient + by * p.blocksWide * p.side * p.side, coef.quantTables, c, p, planes, p.offset + by * p.size * p.stride, p.stride);
    }
  });
  return planes;
}

// A reduced block put back in its 64 places, the rows and columns it lacks as keptSlot reads them (never used).
const whole = new Int16Array(64);

/**
 * Transforms the valid blocks of one row of component c's blocks: their coefficients from index
 * `from` of `coefficients` (p.side x p.side a block), their size x size samples into `planes` from
 * byte `to`, rows `stride` apart. The inner loop of idctRef and of the banded reconstruction (rows.ref.ts).
 */
export function idctBlockRow(
  coefficients: Int16Array, from: number, quantTables: Uint16Array, c: number,
  p: JpegComponentPlan, planes: Uint8Array, to: number, stride: number,
): void {
  const transform = p.size === 8 ? idct8 : p.size === 4 ? idct4 : p.size === 2 ? idct2 : idct1;
  const { side } = p;
  for (let bx = 0; bx < p.validBlocksWide; bx++, from += side * side, to += p.size) {
    if (side === 8) {
      transform(coefficients, from, quantTables, c * 64, planes, to, stride);
      continue;
    }
    // The kernel's reads: natural (r, k) from slot keptSlot(r) * side + keptSlot(k).
    for (let r = 0; r < 8; r++) for (let k = 0; k < 8; k++) whole[r * 8 + k] = coefficients[from + keptSlot(r, side) * side + keptSlot(k, side)];
    transform(whole, 0, quantTables, c * 64, planes, to, stride);
  }
}

/** jpeg_idct_islow: LL&M with 13-bit constants, 2 extra bits between passes. */
export function idct8(c: Int16Array, ci: number, q: Uint16Array, qi: number, out: Uint8Array, o: number, stride: number): void {
  for (let col = 0; col < 8; col++) {
    const i = ci + col;
    const k = qi + col;
    if ((c[i + 8] | c[i + 16] | c[i + 24] | c[i + 32] | c[i + 40] | c[i + 48] | c[i + 56]) === 0) {
      const dc = (c[i] * q[k]) << 2;
      ws[col] = ws[col + 8] = ws[col + 16] = ws[col + 24] = ws[col + 32] = ws[col + 40] = ws[col + 48] = ws[col + 56] = dc;
      continue;
    }
    // Even part: y0, y4 and the rotation of y2, y6.
    const y2 = c[i + 16] * q[k + 16], y6 = c[i + 48] * q[k + 48];
    const r = (y2 + y6) * 4433;
    const e2 = r - y6 * 15137, e3 = r + y2 * 6270;
    const y0 = c[i] * q[k], y4 = c[i + 32] * q[k + 32];
    const e0 = (y0 + y4) * 8192, e1 = (y0 - y4) * 8192;
    const t10 = e0 + e3, t13 = e0 - e3, t11 = e1 + e2, t12 = e1 - e2;
    // Odd part, libjpeg's figure 8.
    const y7 = c[i + 56] * q[k + 56], y5 = c[i + 40] * q[k + 40], y3 = c[i + 24] * q[k + 24], y1 = c[i + 8] * q[k + 8];
    const z5 = (y7 + y5 + y3 + y1) * 9633;
    const z1 = (y7 + y1) * -7373, z2 = (y5 + y3) * -20995;
    const z3 = (y7 + y3) * -16069 + z5, z4 = (y5 + y1) * -3196 + z5;
    const o0 = y7 * 2446 + z1 + z3, o1 = y5 * 16819 + z2 + z4, o2 = y3 * 25172 + z2 + z3, o3 = y1 * 12299 + z1 + z4;
    ws[col] = (t10 + o3 + 1024) >> 11;
    ws[col + 56] = (t10 - o3 + 1024) >> 11;
    ws[col + 8] = (t11 + o2 + 1024) >> 11;
    ws[col + 48] = (t11 - o2 + 1024) >> 11;
    ws[col + 16] = (t12 + o1 + 1024) >> 11;
    ws[col + 40] = (t12 - o1 + 1024) >> 11;
    ws[col + 24] = (t13 + o0 + 1024) >> 11;
    ws[col + 32] = (t13 - o0 + 1024) >> 11;
  }
  for (let w = 0; w < 64; w += 8, o += stride) {
    if ((ws[w + 1] | ws[w + 2] | ws[w + 3] | ws[w + 4] | ws[w + 5] | ws[w + 6] | ws[w + 7]) === 0) {
      const dc = LIMIT[((ws[w] + 16) >> 5) & 1023];
      out[o] = out[o + 1] = out[o + 2] = out[o + 3] = out[o + 4] = out[o + 5] = out[o + 6] = out[o + 7] = dc;
      continue;
    }
    const y2 = ws[w + 2], y6 = ws[w + 6];
    const r = (y2 + y6) * 4433;
    const e2 = r - y6 * 15137, e3 = r + y2 * 6270;
    const e0 = (ws[w] + ws[w + 4]) * 8192, e1 = (ws[w] - ws[w + 4]) * 8192;
    const t10 = e0 + e3, t13 = e0 - e3, t11 = e1 + e2, t12 = e1 - e2;
    const y7 = ws[w + 7], y5 = ws[w + 5], y3 = ws[w + 3], y1 = ws[w + 1];
    const z5 = (y7 + y5 + y3 + y1) * 9633;
    const z1 = (y7 + y1) * -7373, z2 = (y5 + y3) * -20995;
    const z3 = (y7 + y3) * -16069 + z5, z4 = (y5 + y1) * -3196 + z5;
    const o0 = y7 * 2446 + z1 + z3, o1 = y5 * 16819 + z2 + z4, o2 = y3 * 25172 + z2 + z3, o3 = y1 * 12299 + z1 + z4;
    out[o] = LIMIT[((t10 + o3 + 131072) >> 18) & 1023];
    out[o + 7] = LIMIT[((t10 - o3 + 131072) >> 18) & 1023];
    out[o + 1] = LIMIT[((t11 + o2 + 131072) >> 18) & 1023];
    out[o + 6] = LIMIT[((t11 - o2 + 131072) >> 18) & 1023];
    out[o + 2] = LIMIT[((t12 + o1 + 131072) >> 18) & 1023];
    out[o + 5] = LIMIT[((t12 - o1 + 131072) >> 18) & 1023];
    out[o + 3] = LIMIT[((t13 + o0 + 131072) >> 18) & 1023];
    out[o + 4] = LIMIT[((t13 - o0 + 131072) >> 18) & 1023];
  }
}

/** jpeg_idct_4x4: column 4 and rows 4..7 unused; the zero test ignores coefficient 4. */
export function idct4(c: Int16Array, ci: number, q: Uint16Array, qi: number, out: Uint8Array, o: number, stride: number): void {
  for (let col = 0; col < 8; col++) {
    if (col === 4) continue;
    const i = ci + col;
    const k = qi + col;
    if ((c[i + 8] | c[i + 16] | c[i + 24] | c[i + 40] | c[i + 48] | c[i + 56]) === 0) {
      ws[col] = ws[col + 8] = ws[col + 16] = ws[col + 24] = (c[i] * q[k]) << 2;
      continue;
    }
    const e0 = c[i] * q[k] * 16384;
    const e2 = c[i + 16] * q[k + 16] * 15137 - c[i + 48] * q[k + 48] * 6270;
    const y7 = c[i + 56] * q[k + 56], y5 = c[i + 40] * q[k + 40], y3 = c[i + 24] * q[k + 24], y1 = c[i + 8] * q[k + 8];
    const o0 = y7 * -1730 + y5 * 11893 + y3 * -17799 + y1 * 8697;
    const o2 = y7 * -4176 + y5 * -4926 + y3 * 7373 + y1 * 20995;
    ws[col] = (e0 + e2 + o2 + 2048) >> 12;
    ws[col + 24] = (e0 + e2 - o2 + 2048) >> 12;
    ws[col + 8] = (e0 - e2 + o0 + 2048) >> 12;
    ws[col + 16] = (e0 - e2 - o0 + 2048) >> 12;
  }
  for (let w = 0; w < 32; w += 8, o += stride) {
    if ((ws[w + 1] | ws[w + 2] | ws[w + 3] | ws[w + 5] | ws[w + 6] | ws[w + 7]) === 0) {
      out[o] = out[o + 1] = out[o + 2] = out[o + 3] = LIMIT[((ws[w] + 16) >> 5) & 1023];
      continue;
    }
    const e0 = ws[w] * 16384;
    const e2 = ws[w + 2] * 15137 - ws[w + 6] * 6270;
    const y7 = ws[w + 7], y5 = ws[w + 5], y3 = ws[w + 3], y1 = ws[w + 1];
    const o0 = y7 * -1730 + y5 * 11893 + y3 * -17799 + y1 * 8697;
    const o2 = y7 * -4176 + y5 * -4926 + y3 * 7373 + y1 * 20995;
    out[o] = LIMIT[((e0 + e2 + o2 + 262144) >> 19) & 1023];
    out[o + 3] = LIMIT[((e0 + e2 - o2 + 262144) >> 19) & 1023];
    out[o + 1] = LIMIT[((e0 - e2 + o0 + 262144) >> 19) & 1023];
    out[o + 2] = LIMIT[((e0 - e2 - o0 + 262144) >> 19) & 1023];
  }
}

/** jpeg_idct_2x2: only columns 0, 1, 3, 5, 7 and their odd coefficients matter. */
export function idct2(c: Int16Array, ci: number, q: Uint16Array, qi: number, out: Uint8Array, o: number, stride: number): void {
  for (let col = 0; col < 8; col++) {
    if (col === 2 || col === 4 || col === 6) continue;
    const i = ci + col;
    const k = qi + col;
    if ((c[i + 8] | c[i + 24] | c[i + 40] | c[i + 56]) === 0) {
      ws[col] = ws[col + 8] = (c[i] * q[k]) << 2;
      continue;
    }
    const e = c[i] * q[k] * 32768;
    const d = c[i + 56] * q[k + 56] * -5906 + c[i + 40] * q[k + 40] * 6967 + c[i + 24] * q[k + 24] * -10426 + c[i + 8] * q[k + 8] * 29692;
    ws[col] = (e + d + 4096) >> 13;
    ws[col + 8] = (e - d + 4096) >> 13;
  }
  for (let w = 0; w < 16; w += 8, o += stride) {
    if ((ws[w + 1] | ws[w + 3] | ws[w + 5] | ws[w + 7]) === 0) {
      out[o] = out[o + 1] = LIMIT[((ws[w] + 16) >> 5) & 1023];
      continue;
    }
    const e = ws[w] * 32768;
    const d = ws[w + 7] * -5906 + ws[w + 5] * 6967 + ws[w + 3] * -10426 + ws[w + 1] * 29692;
    out[o] = LIMIT[((e + d + 524288) >> 20) & 1023];
    out[o + 1] = LIMIT[((e - d + 524288) >> 20) & 1023];
  }
}

/** jpeg_idct_1x1: the block's mean, DC / 8. */
export function idct1(c: Int16Array, ci: number, q: Uint16Array, qi: number, out: Uint8Array, o: number): void {
  out[o] = LIMIT[((c[ci] * q[qi] + 4) >> 3) & 1023];
}
