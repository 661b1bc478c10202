import { shaderHeader } from '../shader.js';
import { lastEntryWgsl } from './table.wgsl.js';

/**
 * Dequantization and inverse DCT of JPEG blocks into 8-bit planes, the WGSL twin of idct.ref.ts
 * (libjpeg-turbo's jpeg_idct_islow, _4x4, _2x2, _1x1): the same integer operations in i32, which
 * wraps as the reference's arithmetic does, so the samples are equal bit for bit.
 *
 * A batch of images at once: a table has one entry per (image, component), each with its
 * blocks, plane and quantization table in the batch's buffers and its first workgroup; a
 * workgroup finds its entry by binary search. It transforms 8 consecutive blocks of one block row
 * of that component, 8 invocations per block: each does a column in the first pass, then a row in the second, through workgroup
 * memory as libjpeg's workspace. Planes hold 4 samples per u32 (a quarter of the memory and
 * bandwidth of one per sample); the workgroup assembles whole words of its samples and writes
 * each word once, so no two workgroups touch one word (8 blocks of even 1 sample are 2 words).
 */
export const jpegIdctWgsl = /* wgsl */ `
${shaderHeader({
  params: [
    'counts: vec4u // x: table entries, y: workgroups in all',
  ],
  bindings: {
    0: ['read table: array<vec4u> // ENTRY vec4s per (image, component), by first workgroup: blocks, plane, quantization'],
    1: [
      'read coefficients: array<u32> // quantized, natural order, two i16 per word, the even one low',
      'read quant: array<u32> // component c at c * 64, natural order',
      'read_write planes: array<u32> // 4 samples per word, the leftmost in the low byte',
    ],
  },
})}
${lastEntryWgsl}
const BLOCKS: u32 = 8u; // blocks per workgroup, 8 invocations each
const ENTRY: u32 = 3u; // vec4s per table entry (IDCT_ENTRY in jpeg.ts):
// [0] first block, blocks per stored row, valid blocks across, valid block rows
// [1] first workgroup, plane offset (words), row stride (words), samples per block side
// [2] first quantization value, 0, 0, 0

var<workgroup> work: array<i32, 512>; // pass-1 results per block: [block][row][column]
var<workgroup> samples: array<u32, 512>; // the workgroup's samples: [row][block * size + column]

fn coefficient(index: u32) -> i32 {
  let word = bitcast<i32>(coefficients[index >> 1u]);
  return select(word >> 16u, (word << 16u) >> 16u, (index & 1u) == 0u);
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

// Pass 1 on column col of a block (coefficients from index first, quantization from q) into work[w..].
fn column(size: u32, first: u32, q: u32, col: u32, w: u32) {
  var y: array<i32, 8>;
  var c: array<i32, 8>;
  for (var r = 0u; r < 8u; r++) {
    c[r] = coefficient(first + r * 8u + col);
    y[r] = c[r] * i32(quant[q + r * 8u + col]);
  }
  let at = w + col;
  if (size == 8u) {
    if ((c[1] | c[2] | c[3] | c[4] | c[5] | c[6] | c[7]) == 0) {
      for (var r = 0u; r < 8u; r++) { work[at + r * 8u] = y[0] << 2u; }
      return;
    }
    let t = even8(y[0], y[2], y[4], y[6]);
    let o = odd8(y[7], y[5], y[3], y[1]);
    work[at] = (t.x + o.w + 1024) >> 11u;
    work[at + 56u] = (t.x - o.w + 1024) >> 11u;
    work[at + 8u] = (t.y + o.z + 1024) >> 11u;
    work[at + 48u] = (t.y - o.z + 1024) >> 11u;
    work[at + 16u] = (t.z + o.y + 1024) >> 11u;
    work[at + 40u] = (t.z - o.y + 1024) >> 11u;
    work[at + 24u] = (t.w + o.x + 1024) >> 11u;
    work[at + 32u] = (t.w - o.x + 1024) >> 11u;
  } else if (size == 4u) {
    if ((c[1] | c[2] | c[3] | c[5] | c[6] | c[7]) == 0) {
      for (var r = 0u; r < 4u; r++) { work[at + r * 8u] = y[0] << 2u; }
      return;
    }
    let e0 = y[0] * 16384;
    let e2 = y[2] * 15137 - y[6] * 6270;
    let o = odd4(y[7], y[5], y[3], y[1]);
    work[at] = (e0 + e2 + o.y + 2048) >> 12u;
    work[at + 24u] = (e0 + e2 - o.y + 2048) >> 12u;
    work[at + 8u] = (e0 - e2 + o.x + 2048) >> 12u;
    work[at + 16u] = (e0 - e2 - o.x + 2048) >> 12u;
  } else {
    if ((c[1] | c[3] | c[5] | c[7]) == 0) {
      work[at] = y[0] << 2u;
      work[at + 8u] = y[0] << 2u;
      return;
    }
    let e = y[0] * 32768;
    let d = odd2(y[7], y[5], y[3], y[1]);
    work[at] = (e + d + 4096) >> 13u;
    work[at + 8u] = (e - d + 4096) >> 13u;
  }
}

// Pass 2 on row r of a block's work[w..]: size samples into samples[out..].
fn row(size: u32, w: u32, r: u32, out: u32) {
  let at = w + r * 8u;
  var x: array<i32, 8>;
  for (var k = 0u; k < 8u; k++) { x[k] = work[at + k]; }
  let ac = select(x[1] | x[3] | x[5] | x[7], x[1] | x[2] | x[3] | x[4] | x[5] | x[6] | x[7], size == 8u)
    | select(0, x[2] | x[6], size == 4u);
  if (ac == 0) {
    let dc = limit((x[0] + 16) >> 5u);
    for (var k = 0u; k < size; k++) { samples[out + k] = dc; }
    return;
  }
  if (size == 8u) {
    let t = even8(x[0], x[2], x[4], x[6]);
    let o = odd8(x[7], x[5], x[3], x[1]);
    samples[out] = limit((t.x + o.w + 131072) >> 18u);
    samples[out + 7u] = limit((t.x - o.w + 131072) >> 18u);
    samples[out + 1u] = limit((t.y + o.z + 131072) >> 18u);
    samples[out + 6u] = limit((t.y - o.z + 131072) >> 18u);
    samples[out + 2u] = limit((t.z + o.y + 131072) >> 18u);
    samples[out + 5u] = limit((t.z - o.y + 131072) >> 18u);
    samples[out + 3u] = limit((t.w + o.x + 131072) >> 18u);
    samples[out + 4u] = limit((t.w - o.x + 131072) >> 18u);
  } else if (size == 4u) {
    let e0 = x[0] * 16384;
    let e2 = x[2] * 15137 - x[6] * 6270;
    let o = odd4(x[7], x[5], x[3], x[1]);
    samples[out] = limit((e0 + e2 + o.y + 262144) >> 19u);
    samples[out + 3u] = limit((e0 + e2 - o.y + 262144) >> 19u);
    samples[out + 1u] = limit((e0 - e2 + o.x + 262144) >> 19u);
    samples[out + 2u] = limit((e0 - e2 - o.x + 262144) >> 19u);
  } else {
    let e = x[0] * 32768;
    let d = odd2(x[7], x[5], x[3], x[1]);
    samples[out] = limit((e + d + 524288) >> 20u);
    samples[out + 1u] = limit((e - d + 524288) >> 20u);
  }
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) lane: u32) {
  let index = workgroupIndex(group, groups);
  if (index >= params.counts.y) {
    return;
  }
  let lo = lastEntry(index, params.counts.x, ENTRY, 1u, 0u); // by first workgroup
  let blocks = table[lo * ENTRY];
  let plane = table[lo * ENTRY + 1u];
  let q = table[lo * ENTRY + 2u].x;
  let size = plane.w;
  let chunks = (blocks.z + BLOCKS - 1u) / BLOCKS;
  let blockRow = (index - plane.x) / chunks;
  let firstX = ((index - plane.x) % chunks) * BLOCKS;
  let b = lane / 8u;
  let l = lane % 8u;
  let inside = firstX + b < blocks.z;
  let first = (blocks.x + blockRow * blocks.y + firstX + b) * 64u;
  let rowLength = BLOCKS * size;

  // Pass 1: the columns each size reads (4x4 skips column 4; 2x2 uses 0, 1, 3, 5, 7).
  let used = select(select(l < 2u || (l & 1u) == 1u, l != 4u, size == 4u), true, size == 8u);
  if (inside && size > 1u && used) {
    column(size, first, q, l, b * 64u);
  }
  if (size == 1u && l == 0u) {
    var dc = 0u;
    if (inside) {
      dc = limit((coefficient(first) * i32(quant[q]) + 4) >> 3u);
    }
    samples[b] = dc;
  }
  workgroupBarrier();
  // Pass 2: row l of block b; blocks past the plane's edge fill their samples with 0.
  if (size > 1u && l < size) {
    let out = l * rowLength + b * size;
    if (inside) {
      row(size, b * 64u, l, out);
    } else {
      for (var k = 0u; k < size; k++) { samples[out + k] = 0u; }
    }
  }
  workgroupBarrier();
  // Whole words of 4 samples to the plane, each once.
  let wordsPerRow = rowLength / 4u;
  for (var t = lane; t < size * wordsPerRow; t += 64u) {
    let r = t / wordsPerRow;
    let k = t % wordsPerRow;
    let x = firstX * size / 4u + k;
    if (x < plane.z) {
      let s = r * rowLength + k * 4u;
      let word = samples[s] | (samples[s + 1u] << 8u) | (samples[s + 2u] << 16u) | (samples[s + 3u] << 24u);
      planes[plane.y + (blockRow * size + r) * plane.z + x] = word;
    }
  }
}
`;
