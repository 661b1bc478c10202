import { shaderHeader } from '../shader.js';
import { lastEntryWgsl } from './table.wgsl.js';

/**
 * Dequantization and inverse DCT of JPEG blocks into 8-bit planes, the WGSL twin of idct.ref.ts
 * (libjpeg-turbo's jpeg_idct_islow, _4x4, _2x2, _1x1): the same integer operations in i32, which
 * wraps as the reference's arithmetic does, so the samples are equal bit for bit.
 *
 * A batch of images at once: a table has one entry per (image, component), each with its
 * blocks, plane and quantization table in the batch's buffers and its first invocation; an
 * invocation finds its entry by binary search. It transforms the blocks of one word of plane
 * samples across (1 block at size 8 or 4, 2 at size 2, 4 at size 1) as libjpeg does one block,
 * columns then rows through a workspace of its own, and writes each word of its rows once: no
 * workgroup memory, no barriers, no two invocations on one word (planes hold 4 samples per u32, a
 * quarter of the memory and bandwidth of one per sample).
 */
export const jpegIdctWgsl = /* wgsl */ `
${shaderHeader({
  workgroupSize: 64,
  params: [
    'counts: vec4u // x: table entries, y: invocations in all',
  ],
  bindings: {
    0: ['read table: array<vec4u> // ENTRY vec4s per (image, component), by first invocation: blocks, plane, quantization'],
    1: [
      'read coefficients: array<u32> // quantized, natural order, two i16 per word, the even one low',
      'read quant: array<u32> // component c at c * 64, natural order',
      'read_write planes: array<u32> // 4 samples per word, the leftmost in the low byte',
    ],
  },
})}
${lastEntryWgsl}
const ENTRY: u32 = 3u; // vec4s per table entry (IDCT_ENTRY in jpeg.ts):
// [0] first coefficient, blocks per stored row, valid blocks across, valid block rows
// [1] first invocation, plane offset (words), row stride (words), samples per block side
// [2] first quantization value, invocations per block row, coefficients kept per block side, 0

fn coefficient(index: u32) -> i32 {
  let word = bitcast<i32>(coefficients[index >> 1u]);
  return select(word >> 16u, (word << 16u) >> 16u, (index & 1u) == 0u);
}

// Where natural row (or column) k of a block lies among the side kept per side (keptSlot in plan.ts):
// 8 all, 7 all but 4, 5 rows 0, 1, 3, 5, 7, 1 the DC; a row the IDCT never reads maps to a kept one.
fn kept(k: u32, side: u32) -> u32 {
  return select(select(select(0u, (k + 1u) >> 1u, side == 5u), k - u32(k > 4u), side == 7u), k, side == 8u);
}

// The post-IDCT range limit: the low 10 bits as signed, + 128, clamped (jdmaster.c's RANGE_MASK table).
fn limit(x: i32) -> u32 {
  return u32(clamp(((x & 1023) ^ 512) - 512 + 128, 0, 255));
}

// islow's even part from y0, y2, y4, y6: tmp10, tmp11, tmp12, tmp13.
fn even8(y0: i32, y2: i32, y4: i32, y6: i32) -> vec4i {
  let r = (y2 + y6) * 4433;
  let e2 = r - y6 * 15137;
  let e3 = r + y2 * 6270;
  let e0 = (y0 + y4) * 8192;
  let e1 = (y0 - y4) * 8192;
  return vec4i(e0 + e3, e1 + e2, e1 - e2, e0 - e3);
}

// islow's odd part (libjpeg's figure 8) from y7, y5, y3, y1: tmp0..tmp3.
fn odd8(y7: i32, y5: i32, y3: i32, y1: i32) -> vec4i {
  let z5 = (y7 + y5 + y3 + y1) * 9633;
  let z1 = (y7 + y1) * -7373;
  let z2 = (y5 + y3) * -20995;
  let z3 = (y7 + y3) * -16069 + z5;
  let z4 = (y5 + y1) * -3196 + z5;
  return vec4i(y7 * 2446 + z1 + z3, y5 * 16819 + z2 + z4, y3 * 25172 + z2 + z3, y1 * 12299 + z1 + z4);
}

// jidctred.c 4x4 odd part from y7, y5, y3, y1: tmp0, tmp2.
fn odd4(y7: i32, y5: i32, y3: i32, y1: i32) -> vec2i {
  return vec2i(y7 * -1730 + y5 * 11893 + y3 * -17799 + y1 * 8697, y7 * -4176 + y5 * -4926 + y3 * 7373 + y1 * 20995);
}

// jidctred.c 2x2 odd part from y7, y5, y3, y1.
fn odd2(y7: i32, y5: i32, y3: i32, y1: i32) -> i32 {
  return y7 * -5906 + y5 * 6967 + y3 * -10426 + y1 * 29692;
}

// Pass 1 on column col of a block (side x side coefficients from index first, quantization from q) into ws.
fn column(size: u32, side: u32, first: u32, q: u32, col: u32, ws: ptr<function, array<i32, 64>>) {
  var y: array<i32, 8>;
  var c: array<i32, 8>;
  let at = first + kept(col, side);
  for (var r = 0u; r < 8u; r++) {
    c[r] = coefficient(at + kept(r, side) * side);
    y[r] = c[r] * i32(quant[q + r * 8u + col]);
  }
  if (size == 8u) {
    if ((c[1] | c[2] | c[3] | c[4] | c[5] | c[6] | c[7]) == 0) {
      for (var r = 0u; r < 8u; r++) { (*ws)[col + r * 8u] = y[0] << 2u; }
      return;
    }
    let t = even8(y[0], y[2], y[4], y[6]);
    let o = odd8(y[7], y[5], y[3], y[1]);
    (*ws)[col] = (t.x + o.w + 1024) >> 11u;
    (*ws)[col + 56u] = (t.x - o.w + 1024) >> 11u;
    (*ws)[col + 8u] = (t.y + o.z + 1024) >> 11u;
    (*ws)[col + 48u] = (t.y - o.z + 1024) >> 11u;
    (*ws)[col + 16u] = (t.z + o.y + 1024) >> 11u;
    (*ws)[col + 40u] = (t.z - o.y + 1024) >> 11u;
    (*ws)[col + 24u] = (t.w + o.x + 1024) >> 11u;
    (*ws)[col + 32u] = (t.w - o.x + 1024) >> 11u;
  } else if (size == 4u) {
    if ((c[1] | c[2] | c[3] | c[5] | c[6] | c[7]) == 0) {
      for (var r = 0u; r < 4u; r++) { (*ws)[col + r * 8u] = y[0] << 2u; }
      return;
    }
    let e0 = y[0] * 16384;
    let e2 = y[2] * 15137 - y[6] * 6270;
    let o = odd4(y[7], y[5], y[3], y[1]);
    (*ws)[col] = (e0 + e2 + o.y + 2048) >> 12u;
    (*ws)[col + 24u] = (e0 + e2 - o.y + 2048) >> 12u;
    (*ws)[col + 8u] = (e0 - e2 + o.x + 2048) >> 12u;
    (*ws)[col + 16u] = (e0 - e2 - o.x + 2048) >> 12u;
  } else {
    if ((c[1] | c[3] | c[5] | c[7]) == 0) {
      (*ws)[col] = y[0] << 2u;
      (*ws)[col + 8u] = y[0] << 2u;
      return;
    }
    let e = y[0] * 32768;
    let d = odd2(y[7], y[5], y[3], y[1]);
    (*ws)[col] = (e + d + 4096) >> 13u;
    (*ws)[col + 8u] = (e - d + 4096) >> 13u;
  }
}

// Pass 2 on row r of a block's ws: its size samples, the first of the 8 returned.
fn row(size: u32, ws: ptr<function, array<i32, 64>>, r: u32) -> array<u32, 8> {
  let at = r * 8u;
  var x: array<i32, 8>;
  for (var k = 0u; k < 8u; k++) { x[k] = (*ws)[at + k]; }
  var out: array<u32, 8>;
  let ac = select(x[1] | x[3] | x[5] | x[7], x[1] | x[2] | x[3] | x[4] | x[5] | x[6] | x[7], size == 8u)
    | select(0, x[2] | x[6], size == 4u);
  if (ac == 0) {
    let dc = limit((x[0] + 16) >> 5u);
    for (var k = 0u; k < 8u; k++) { out[k] = dc; }
    return out;
  }
  if (size == 8u) {
    let t = even8(x[0], x[2], x[4], x[6]);
    let o = odd8(x[7], x[5], x[3], x[1]);
    out[0] = limit((t.x + o.w + 131072) >> 18u);
    out[7] = limit((t.x - o.w + 131072) >> 18u);
    out[1] = limit((t.y + o.z + 131072) >> 18u);
    out[6] = limit((t.y - o.z + 131072) >> 18u);
    out[2] = limit((t.z + o.y + 131072) >> 18u);
    out[5] = limit((t.z - o.y + 131072) >> 18u);
    out[3] = limit((t.w + o.x + 131072) >> 18u);
    out[4] = limit((t.w - o.x + 131072) >> 18u);
  } else if (size == 4u) {
    let e0 = x[0] * 16384;
    let e2 = x[2] * 15137 - x[6] * 6270;
    let o = odd4(x[7], x[5], x[3], x[1]);
    out[0] = limit((e0 + e2 + o.y + 262144) >> 19u);
    out[3] = limit((e0 + e2 - o.y + 262144) >> 19u);
    out[1] = limit((e0 - e2 + o.x + 262144) >> 19u);
    out[2] = limit((e0 - e2 - o.x + 262144) >> 19u);
  } else {
    let e = x[0] * 32768;
    let d = odd2(x[7], x[5], x[3], x[1]);
    out[0] = limit((e + d + 524288) >> 20u);
    out[1] = limit((e - d + 524288) >> 20u);
  }
  return out;
}

// Pass 1 over the columns each size reads (4x4 skips column 4; 2x2 uses 0, 1, 3, 5, 7).
fn columns(size: u32, side: u32, first: u32, q: u32, ws: ptr<function, array<i32, 64>>) {
  // Written out, not a loop: with constant columns the workspace stays in registers on CPU drivers.
  column(size, side, first, q, 0u, ws);
  column(size, side, first, q, 1u, ws);
  if (size > 2u) {
    column(size, side, first, q, 2u, ws);
  }
  column(size, side, first, q, 3u, ws);
  if (size == 8u) {
    column(size, side, first, q, 4u, ws);
  }
  column(size, side, first, q, 5u, ws);
  if (size > 2u) {
    column(size, side, first, q, 6u, ws);
  }
  column(size, side, first, q, 7u, ws);
}

fn pack(s: array<u32, 8>, k: u32) -> u32 {
  return s[k] | (s[k + 1u] << 8u) | (s[k + 2u] << 16u) | (s[k + 3u] << 24u);
}

// Row r of a block of size 8 or 4 to the plane word(s) at \`at\`.
fn rowWords(size: u32, ws: ptr<function, array<i32, 64>>, r: u32, at: u32) {
  let s = row(size, ws, r);
  planes[at] = pack(s, 0u);
  if (size == 8u) {
    planes[at + 1u] = pack(s, 4u);
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let index = invocationIndex(id, groups);
  if (index >= params.counts.y) {
    return;
  }
  let lo = lastEntry(index, params.counts.x, ENTRY, 1u, 0u); // by first invocation
  let blocks = table[lo * ENTRY];
  let plane = table[lo * ENTRY + 1u];
  let extra = table[lo * ENTRY + 2u];
  let q = extra.x;
  let size = plane.w;
  let side = extra.z;
  let perBlock = side * side;
  let n = index - plane.x;
  let blockRow = quotient(n, extra.y);
  let unit = n - blockRow * extra.y; // its block (sizes 8, 4) or word of blocks (2, 1) in the row
  let rows = plane.y + blockRow * size * plane.z;
  var ws: array<i32, 64>;
  if (size >= 4u) {
    let first = blocks.x + (blockRow * blocks.y + unit) * perBlock;
    columns(size, side, first, q, &ws);
    let at = rows + unit * size / 4u;
    // Rows written out, as the columns: constant rows keep the workspace in registers.
    rowWords(size, &ws, 0u, at);
    rowWords(size, &ws, 1u, at + plane.z);
    rowWords(size, &ws, 2u, at + 2u * plane.z);
    rowWords(size, &ws, 3u, at + 3u * plane.z);
    if (size == 8u) {
      rowWords(size, &ws, 4u, at + 4u * plane.z);
      rowWords(size, &ws, 5u, at + 5u * plane.z);
      rowWords(size, &ws, 6u, at + 6u * plane.z);
      rowWords(size, &ws, 7u, at + 7u * plane.z);
    }
    return;
  }
  // 4 / size blocks make one word of each of their size rows; blocks past the plane's edge give 0.
  var words = vec2u(0u);
  let per = 4u / size;
  for (var b = 0u; b < per; b++) {
    let x = unit * per + b;
    if (x >= blocks.z) {
      break;
    }
    let first = blocks.x + (blockRow * blocks.y + x) * perBlock;
    if (size == 1u) {
      words.x |= limit((coefficient(first) * i32(quant[q]) + 4) >> 3u) << (b * 8u);
    } else {
      columns(size, side, first, q, &ws);
      let s0 = row(size, &ws, 0u);
      let s1 = row(size, &ws, 1u);
      words |= vec2u(s0[0] | (s0[1] << 8u), s1[0] | (s1[1] << 8u)) << vec2u(b * 16u);
    }
  }
  for (var r = 0u; r < size; r++) {
    planes[rows + r * plane.z + unit] = words[r];
  }
}
`;
