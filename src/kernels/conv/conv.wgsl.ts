import { FLOAT_BITS, shaderHeader } from '../shader.js';

/**
 * 2-D convolution as an implicit GEMM with a register tile per invocation. On lavapipe (and
 * GPUs) loads cost far more than multiply-adds, so each loaded value feeds many of them: a
 * source row segment is gathered once per (channel, kernel row) and reused for every kx and
 * output channel of the tile, and the weights are packed channels-last first (conv2dPackWgsl) so
 * four output channels are one uniform vec4 load. Loops run to override constants, so the
 * compiler unrolls them and the register arrays stay in registers; the kernel-height loop stays
 * rolled (a runtime count) because lavapipe's compile time grows with the unrolled code.
 */

/**
 * `count` values of a source row from x0 on, zeros outside 0..width-1 or where the row is
 * padding (valid false); `src` is the shader's array<f32>. One gather per value: gathering the
 * aligned vec4s that cover the row and picking per invocation measured 3x slower on lavapipe.
 */
const loadRowWgsl = /* wgsl */ `
const MAX_ROW = 48u;

fn loadRow(first: i32, valid: bool, x0: i32, width: i32, count: u32) -> array<f32, MAX_ROW> {
  var row: array<f32, MAX_ROW>;
  for (var j = 0u; j < count; j++) {
    let x = x0 + i32(j);
    let ok = valid && x >= 0 && x < width;
    row[j] = select(0.0, src[u32(max(first + x, 0))], ok);
  }
  return row;
}
`;

/**
 * The forward pass and the gradient of the input, both a correlation of a padded source with a
 * packed kernel: dst[b, o, oy, ox] = sum over (i, ky, kx) of
 * packed[i, ky, kx, o] * src[b, i, oy * STRIDE + ky - padH, ox * STRIDE + kx - padW].
 * An invocation computes PX outputs along a row for CO4 * 4 channels; a workgroup shares the
 * channels, so the packed weights are uniform loads.
 */
export const conv2dWgsl = /* wgsl */ `
${shaderHeader({
  workgroupSize: 64,
  params: [
    'n: u32', 'cSrc: u32', 'srcH: u32', 'srcW: u32',
    'cDst: u32', 'dstH: u32', 'dstW: u32', 'rowBlocks: u32',
    'padH: i32', 'padW: i32', 'kh: u32 // a runtime loop: unrolled code costs compile time', 'blockGroups: u32',
    'dstGroups: u32', 'packedStride: u32 // vec4s per tap', 'unused0: u32', 'unused1: u32',
  ],
  bindings: {
    0: ['read packed: array<vec4f>'],
    1: ['read src: array<f32>', 'read bias: array<f32>', 'read_write dst: array<f32>'],
  },
})}
override KW: u32 = 3u;
override STRIDE: u32 = 1u;
override PX: u32 = 16u; // output pixels along a row: (PX - 1) * STRIDE + KW <= MAX_ROW
override CO4: u32 = 1u; // output channels in fours: PX * CO4 <= MAX_ACC
override RELU: bool = false;
override BIAS: bool = false;

${FLOAT_BITS}

const MAX_ACC = 64u;
${loadRowWgsl}
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wid = workgroupIndex(wg, groups);
  let group = wid / params.blockGroups;
  if (group >= params.dstGroups) {
    return; // the tail of a 2-D grid
  }
  let blocks = params.n * params.dstH * params.rowBlocks;
  let slot = (wid % params.blockGroups) * WORKGROUP_SIZE + lid;
  // Invocations past the end compute the last block again rather than diverge in the loops.
  let block = min(slot, blocks - 1u);
  let ox0 = (block % params.rowBlocks) * PX;
  let oy = (block / params.rowBlocks) % params.dstH;
  let b = block / params.rowBlocks / params.dstH;
  let y0 = i32(oy * STRIDE) - params.padH;
  let x0 = i32(ox0 * STRIDE) - params.padW;
  let count = (PX - 1u) * STRIDE + KW;

  var acc: array<vec4f, MAX_ACC>;
  for (var i = 0u; i < params.cSrc; i++) {
    let plane = (b * params.cSrc + i) * params.srcH;
    for (var ky = 0u; ky < params.kh; ky++) {
      let y = y0 + i32(ky);
      let valid = y >= 0 && y < i32(params.srcH);
      let row = loadRow(i32((plane + u32(max(y, 0))) * params.srcW), valid, x0, i32(params.srcW), count);
      let tap = (i * params.kh + ky) * KW * params.packedStride + group * CO4;
      for (var kx = 0u; kx < KW; kx++) {
        for (var c = 0u; c < CO4; c++) {
          let w = packed[tap + kx * params.packedStride + c];
          for (var p = 0u; p < PX; p++) {
            acc[p * CO4 + c] = fma(vec4f(row[p * STRIDE + kx]), w, acc[p * CO4 + c]);
          }
        }
      }
    }
  }

  if (slot >= blocks) {
    return;
  }
  let plane = params.dstH * params.dstW;
  let out0 = b * params.cDst * plane + oy * params.dstW;
  for (var p = 0u; p < PX; p++) {
    for (var c = 0u; c < CO4; c++) {
      for (var j = 0u; j < 4u; j++) {
        let o = group * CO4 * 4u + c * 4u + j;
        if (ox0 + p < params.dstW && o < params.cDst) {
          var v = acc[p * CO4 + c][j];
          if (BIAS) {
            v += bias[o];
          }
          if (RELU) {
            v = relu(v);
          }
          dst[out0 + o * plane + ox0 + p] = v;
        }
      }
    }
  }
}
`;

/**
 * Packs the kernel channels-last for conv2dWgsl: packed[i, ky, kx, o] (o padded with zeros to a
 * multiple of 4 * CO4) = weight[base + i * wSrc + o * wDst + ky * wRow + kx * wCol]; the strides
 * transpose and flip it for the gradient of the input.
 */
export const conv2dPackWgsl = /* wgsl */ `
${shaderHeader({
  workgroupSize: 64,
  params: [
    'kh: u32', 'kw: u32', 'cDst: u32', 'cDstPadded: u32',
    'total: u32', 'base: i32', 'wSrc: i32', 'wDst: i32',
    'wRow: i32', 'wCol: i32', 'unused0: u32', 'unused1: u32',
  ],
  bindings: { 0: ['read weight: array<f32>', 'read_write packed: array<f32>'] },
})}
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let e = invocationIndex(id, groups);
  if (e >= params.total) {
    return;
  }
  let o = e % params.cDstPadded;
  let tap = e / params.cDstPadded;
  let kx = tap % params.kw;
  let ky = tap / params.kw % params.kh;
  let i = tap / params.kw / params.kh;
  let k = params.base + i32(i) * params.wSrc + i32(min(o, params.cDst - 1u)) * params.wDst + i32(ky) * params.wRow + i32(kx) * params.wCol;
  packed[e] = select(0.0, weight[k], o < params.cDst);
}
`;

/**
 * Spreads planes of srcH x srcW into dstH x dstW with DILATION - 1 zeros between values: the
 * gradient of a strided convolution is a stride-1 correlation of the dilated gradOutput.
 */
export const conv2dDilateWgsl = /* wgsl */ `
${shaderHeader({
  workgroupSize: 64,
  params: ['srcH: u32', 'srcW: u32', 'dstH: u32', 'dstW: u32', 'total: u32', 'unused0: u32', 'unused1: u32', 'unused2: u32'],
  bindings: { 0: ['read src: array<f32>', 'read_write dst: array<f32>'] },
})}
override DILATION: u32 = 1u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let e = invocationIndex(id, groups);
  if (e >= params.total) {
    return;
  }
  let x = e % params.dstW;
  let y = e / params.dstW % params.dstH;
  let plane = e / params.dstW / params.dstH;
  let inside = x % DILATION == 0u && y % DILATION == 0u;
  dst[e] = select(0.0, src[(plane * params.srcH + y / DILATION) * params.srcW + x / DILATION], inside);
}
`;

/**
 * The weight gradient, first pass: gW[o, i, ky, kx] = sum over (b, oy, ox) of
 * gradOutput[b, o, oy, ox] * input[b, i, oy * STRIDE + ky - pad, ox * STRIDE + kx - pad].
 * An invocation owns one ky and CI input channels, a tile of CI x KW x CO4 * 4 sums, and every
 * SPLIT-th row of its workgroup's chunk of (b, oy) rows; a workgroup owns CO4 * 4 output
 * channels. Each gradOutput value loaded feeds CI * KW multiply-adds, each input value KW * CO4 * 4.
 * Each (chunk, split) writes its own partial sums (WGSL has no float atomics);
 * conv2dWeightReduceWgsl adds them up. The last lane sees a source of ones: its (ci, kx) = (0, 0)
 * sum is the bias gradient.
 */
export const conv2dWeightGradWgsl = /* wgsl */ `
${shaderHeader({
  workgroupSize: 64,
  params: [
    'n: u32', 'cIn: u32', 'h: u32', 'w: u32',
    'cOut: u32', 'oh: u32', 'ow: u32', 'lanes: u32 // ceil(cIn / CI) * KH + 1',
    'pad: i32', 'rowsPerChunk: u32', 'chunks: u32', 'laneGroups: u32',
    'outGroups: u32', 'chunkStride: u32', 'laneStride: u32', 'split: u32 // invocations sharing a lane\'s taps (small cIn fills the SIMD width)',
  ],
  bindings: { 1: ['read input: array<f32>', 'read gradOutput: array<f32>', 'read_write partial: array<f32>'] },
})}
override KH: u32 = 3u;
override KW: u32 = 3u;
override STRIDE: u32 = 1u;
override CI: u32 = 2u;  // input channels per invocation
override CO4: u32 = 8u; // output channels per invocation, in fours: CI * KW * CO4 <= MAX_ACC
override PX: u32 = 14u; // output columns per row segment: CI * ((PX - 1) * STRIDE + KW) <= MAX_SEG

const MAX_ACC = 48u;
const MAX_SEG = 64u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wid = workgroupIndex(wg, groups);
  let laneGroup = wid % params.laneGroups;
  let outGroup = (wid / params.laneGroups) % params.outGroups;
  let chunk = wid / (params.laneGroups * params.outGroups);
  if (chunk >= params.chunks) {
    return; // the tail of a 2-D grid
  }
  let slot = laneGroup * WORKGROUP_SIZE + lid;
  let sub = min(slot / params.lanes, params.split - 1u);
  let lane = min(slot - sub * params.lanes, params.lanes - 1u);
  let isBias = lane == params.lanes - 1u;
  let i0 = lane / KH * CI;
  let ky = lane % KH;
  let o0 = outGroup * CO4 * 4u;
  let planeIn = params.h * params.w;
  let planeOut = params.oh * params.ow;

  var acc: array<vec4f, MAX_ACC>;
  var seg: array<f32, MAX_SEG>;
  let segLength = (PX - 1u) * STRIDE + KW;
  let rowEnd = min((chunk + 1u) * params.rowsPerChunk, params.n * params.oh);
  for (var r = chunk * params.rowsPerChunk + sub; r < rowEnd; r += params.split) {
    let b = r / params.oh;
    let oy = r % params.oh;
    let iy = i32(oy * STRIDE + ky) - params.pad;
    let rowOk = !isBias && iy >= 0 && iy < i32(params.h);
    let inRow = (b * params.cIn * params.h + u32(max(iy, 0))) * params.w;
    let outRow = b * params.cOut * planeOut + oy * params.ow;
    for (var ox0 = 0u; ox0 < params.ow; ox0 += PX) {
      let x0 = i32(ox0 * STRIDE) - params.pad;
      for (var ci = 0u; ci < CI; ci++) {
        let plane = min(i0 + ci, params.cIn - 1u) * planeIn;
        for (var j = 0u; j < segLength; j++) {
          let vx = x0 + i32(j);
          let ok = rowOk && vx >= 0 && vx < i32(params.w);
          seg[ci * segLength + j] = select(select(0.0, 1.0, isBias), input[inRow + plane + u32(max(vx, 0))], ok);
        }
      }
      for (var p = 0u; p < PX; p++) {
        let ox = ox0 + p;
        let g0 = outRow + min(ox, params.ow - 1u);
        for (var c = 0u; c < CO4; c++) {
          let o = o0 + c * 4u;
          var g = vec4f(gradOutput[g0 + min(o, params.cOut - 1u) * planeOut], gradOutput[g0 + min(o + 1u, params.cOut - 1u) * planeOut],
                        gradOutput[g0 + min(o + 2u, params.cOut - 1u) * planeOut], gradOutput[g0 + min(o + 3u, params.cOut - 1u) * planeOut]);
          g = select(vec4f(0.0), g, ox < params.ow); // columns past the row end count nothing
          for (var ci = 0u; ci < CI; ci++) {
            for (var kx = 0u; kx < KW; kx++) {
              let a = (ci * KW + kx) * CO4 + c;
              acc[a] = fma(g, vec4f(seg[ci * segLength + p * STRIDE + kx]), acc[a]);
            }
          }
        }
      }
    }
  }

  if (slot >= params.lanes * params.split) {
    return;
  }
  // partial[chunk * split + sub][o][tap] with gW's own tap order (i, ky, kx), the bias after the last tap.
  let base = (chunk * params.split + sub) * params.chunkStride;
  for (var ci = 0u; ci < CI; ci++) {
    let i = i0 + ci;
    if (isBias || i < params.cIn) {
      let tap = select((i * KH + ky) * KW, params.laneStride - KW, isBias);
      for (var c = 0u; c < CO4; c++) {
        for (var j = 0u; j < 4u; j++) {
          let o = o0 + c * 4u + j;
          if (o < params.cOut && (!isBias || ci == 0u)) {
            for (var kx = 0u; kx < KW; kx++) {
              partial[base + o * params.laneStride + tap + kx] = acc[(ci * KW + kx) * CO4 + c][j];
            }
          }
        }
      }
    }
  }
}
`;

/** The weight gradient, second pass: sums the chunks' partials into gradWeight and gradBias. */
export const conv2dWeightReduceWgsl = /* wgsl */ `
${shaderHeader({
  workgroupSize: 64,
  params: [
    'chunks: u32', 'chunkStride: u32',
    'laneStride: u32 // per output channel: cIn * kh * kw + kw', 'weightStride: u32 // cIn * kh * kw',
  ],
  bindings: { 1: ['read partial: array<f32>', 'read_write gradWeight: array<f32>', 'read_write gradBias: array<f32>'] },
})}
override ACCUMULATE: bool = false;
override BIAS: bool = false;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let e = invocationIndex(id, groups);
  if (e >= params.chunkStride) {
    return;
  }
  let o = e / params.laneStride;
  let r = e % params.laneStride;
  if (r > params.weightStride || (r == params.weightStride && !BIAS)) {
    return; // the bias lane's kx > 0 sums mean nothing
  }
  var sum = 0.0;
  for (var chunk = 0u; chunk < params.chunks; chunk++) {
    sum += partial[chunk * params.chunkStride + e];
  }
  if (r == params.weightStride) {
    gradBias[o] = select(sum, gradBias[o] + sum, ACCUMULATE);
  } else {
    let k = o * params.weightStride + r;
    gradWeight[k] = select(sum, gradWeight[k] + sum, ACCUMULATE);
  }
}
`;
