/**
 * 2-D convolution as an implicit GEMM with a register tile per invocation: PX output pixels
 * of one row times CO4 * 4 output channels, so each source value loaded feeds up to
 * KW * CO4 * 4 multiply-adds and each weight PX of them. Weight addresses are the same in a
 * whole workgroup (the channel group is per workgroup), so they are scalar loads broadcast to
 * every invocation on CPU drivers (lavapipe) and broadcasts from cache on GPUs. Each invocation
 * loads a row segment of the source once per (channel, kernel row) and reuses it for every kx.
 *
 * The same kernel computes the forward pass and the gradient of the input: both are a
 * correlation of a (virtually dilated, padded) source with a (possibly flipped, transposed)
 * kernel; the weight index is wBase + src * wSrc + dst * wDst + ky * wRow + kx * wCol.
 * Loops run to override constants, so the compiler unrolls them and keeps acc and seg in registers.
 */
export const conv2dWgsl = /* wgsl */ `
override WORKGROUP_SIZE: u32 = 64u;
override KW: u32 = 3u;
override STRIDE: u32 = 1u;   // output stride over the virtual source
override DILATION: u32 = 1u; // the source has DILATION - 1 zeros between values (gradient of a strided conv)
override PX: u32 = 14u;      // output pixels along a row per invocation
override CO4: u32 = 1u;      // output channels per invocation, in fours
override RELU: bool = false;
override BIAS: bool = false;

const MAX_ACC = 16u; // PX * CO4 <= MAX_ACC
const MAX_SEG = 32u; // (PX - 1) * STRIDE + KW <= MAX_SEG

struct Params {
  n: u32, cSrc: u32, srcH: u32, srcW: u32,
  cDst: u32, dstH: u32, dstW: u32, rowBlocks: u32,
  padH: i32, padW: i32, virtH: i32, virtW: i32, // virt = (src - 1) * DILATION + 1
  wBase: i32, wSrc: i32, wDst: i32, wRow: i32,
  wCol: i32, blockGroups: u32, dstGroups: u32, kh: u32, // a loop kept rolled: compile time grows with unrolled code
}

@group(0) @binding(0) var<uniform> params: Params;
@group(1) @binding(0) var<storage, read> src: array<f32>;
@group(1) @binding(1) var<storage, read> weight: array<f32>;
@group(1) @binding(2) var<storage, read> bias: array<f32>;
@group(1) @binding(3) var<storage, read_write> dst: array<f32>;

// Channels past cDst read the last channel's weights; their sums are never stored.
fn weightOffset(o: u32) -> i32 {
  return i32(min(o, params.cDst - 1u)) * params.wDst;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wid = wg.x + wg.y * groups.x;
  let group = wid / params.blockGroups;
  if (group >= params.dstGroups) {
    return; // the tail of a 2-D grid
  }
  let blocks = params.n * params.dstH * params.rowBlocks;
  let slot = (wid % params.blockGroups) * WORKGROUP_SIZE + lid;
  // Invocations past the end compute the last block again rather than diverge in the loops.
  let block = min(slot, blocks - 1u);
  let bx = block % params.rowBlocks;
  let row = block / params.rowBlocks;
  let oy = row % params.dstH;
  let b = row / params.dstH;
  let ox0 = bx * PX;
  let y0 = i32(oy * STRIDE) - params.padH;
  let x0 = i32(ox0 * STRIDE) - params.padW;
  let o0 = group * CO4 * 4u;

  var acc: array<vec4f, MAX_ACC>;
  var seg: array<f32, MAX_SEG>;
  let segLength = (PX - 1u) * STRIDE + KW;
  for (var i = 0u; i < params.cSrc; i++) {
    let plane = (b * params.cSrc + i) * params.srcH;
    for (var ky = 0u; ky < params.kh; ky++) {
      let vy = y0 + i32(ky);
      let rowOk = vy >= 0 && vy < params.virtH && vy % i32(DILATION) == 0;
      let srcRow = (plane + u32(max(vy, 0)) / DILATION) * params.srcW;
      for (var j = 0u; j < segLength; j++) {
        let vx = x0 + i32(j);
        let ok = rowOk && vx >= 0 && vx < params.virtW && vx % i32(DILATION) == 0;
        seg[j] = select(0.0, src[srcRow + u32(max(vx, 0)) / DILATION], ok);
      }
      let wRow = params.wBase + i32(i) * params.wSrc + i32(ky) * params.wRow;
      for (var kx = 0u; kx < KW; kx++) {
        let wk = wRow + i32(kx) * params.wCol;
        for (var c = 0u; c < CO4; c++) {
          let o = o0 + c * 4u;
          let w = vec4f(weight[wk + weightOffset(o)], weight[wk + weightOffset(o + 1u)],
                        weight[wk + weightOffset(o + 2u)], weight[wk + weightOffset(o + 3u)]);
          for (var p = 0u; p < PX; p++) {
            acc[p * CO4 + c] = fma(vec4f(seg[p * STRIDE + kx]), w, acc[p * CO4 + c]);
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
    let ox = ox0 + p;
    for (var c = 0u; c < CO4; c++) {
      for (var j = 0u; j < 4u; j++) {
        let o = o0 + c * 4u + j;
        if (ox < params.dstW && o < params.cDst) {
          var v = acc[p * CO4 + c][j];
          if (BIAS) {
            v += bias[o];
          }
          if (RELU) {
            v = max(v, 0.0);
          }
          dst[out0 + o * plane + ox] = v;
        }
      }
    }
  }
}
`;

/**
 * The weight gradient, first pass: gW[o, i, ky, kx] = sum over (b, oy, ox) of
 * gradOutput[b, o, oy, ox] * input[b, i, oy * STRIDE + ky - pad, ox * STRIDE + kx - pad].
 * An invocation owns one ky and CI input channels, a tile of CI x KW x CO4 * 4 sums; a workgroup
 * owns CO4 * 4 output channels and a chunk of the (b, oy) rows, so gradOutput loads are uniform
 * (scalar) and each feeds CI * KW multiply-adds. Each chunk writes its own partial sums (WGSL has
 * no float atomics); conv2dWeightReduceWgsl adds them up. The last invocation sees a source of
 * ones instead of input channels: its (ci, kx) = (0, 0) sum is the bias gradient.
 */
export const conv2dWeightGradWgsl = /* wgsl */ `
override WORKGROUP_SIZE: u32 = 64u;
override KH: u32 = 3u;
override KW: u32 = 3u;
override STRIDE: u32 = 1u;
override CI: u32 = 1u;  // input channels per invocation
override CO4: u32 = 4u; // output channels per invocation, in fours: CI * KW * CO4 <= MAX_ACC
override PX: u32 = 8u;  // output columns per row segment: CI * ((PX - 1) * STRIDE + KW) <= MAX_SEG

const MAX_ACC = 16u;
const MAX_SEG = 32u;

struct Params {
  n: u32, cIn: u32, h: u32, w: u32,
  cOut: u32, oh: u32, ow: u32, lanes: u32, // lanes = ceil(cIn / CI) * KH + 1
  pad: i32, rowsPerChunk: u32, chunks: u32, laneGroups: u32,
  outGroups: u32, chunkStride: u32, laneStride: u32, unused: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(1) @binding(0) var<storage, read> input: array<f32>;
@group(1) @binding(1) var<storage, read> gradOutput: array<f32>;
@group(1) @binding(2) var<storage, read_write> partial: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wid = wg.x + wg.y * groups.x;
  let laneGroup = wid % params.laneGroups;
  let outGroup = (wid / params.laneGroups) % params.outGroups;
  let chunk = wid / (params.laneGroups * params.outGroups);
  if (chunk >= params.chunks) {
    return; // the tail of a 2-D grid
  }
  let slot = laneGroup * WORKGROUP_SIZE + lid;
  let lane = min(slot, params.lanes - 1u);
  let isBias = lane == params.lanes - 1u;
  let i0 = lane / KH * CI;
  let ky = lane % KH;
  let o0 = outGroup * CO4 * 4u;
  let planeIn = params.h * params.w;
  let planeOut = params.oh * params.ow;
  var oOffset: array<u32, 16>;
  for (var c = 0u; c < CO4 * 4u; c++) {
    oOffset[c] = min(o0 + c, params.cOut - 1u) * planeOut;
  }

  var acc: array<vec4f, MAX_ACC>;
  var seg: array<f32, MAX_SEG>;
  let segLength = (PX - 1u) * STRIDE + KW;
  let rowEnd = min((chunk + 1u) * params.rowsPerChunk, params.n * params.oh);
  for (var r = chunk * params.rowsPerChunk; r < rowEnd; r++) {
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
          var g = vec4f(gradOutput[g0 + oOffset[c * 4u]], gradOutput[g0 + oOffset[c * 4u + 1u]],
                        gradOutput[g0 + oOffset[c * 4u + 2u]], gradOutput[g0 + oOffset[c * 4u + 3u]]);
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

  if (slot >= params.lanes) {
    return;
  }
  // partial[chunk][o][tap] with gW's own tap order (i, ky, kx), the bias after the last tap.
  for (var ci = 0u; ci < CI; ci++) {
    let i = i0 + ci;
    if (isBias || i < params.cIn) {
      let tap = select((i * KH + ky) * KW, params.laneStride - KW, isBias);
      for (var c = 0u; c < CO4; c++) {
        for (var j = 0u; j < 4u; j++) {
          let o = o0 + c * 4u + j;
          if (o < params.cOut && (!isBias || ci == 0u)) {
            for (var kx = 0u; kx < KW; kx++) {
              partial[chunk * params.chunkStride + o * params.laneStride + tap + kx] = acc[(ci * KW + kx) * CO4 + c][j];
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
override WORKGROUP_SIZE: u32 = 64u;
override ACCUMULATE: bool = false;
override BIAS: bool = false;

struct Params {
  chunks: u32, chunkStride: u32, laneStride: u32, weightStride: u32, // per output channel: lanes * KW, cIn * KH * KW
}

@group(0) @binding(0) var<uniform> params: Params;
@group(1) @binding(0) var<storage, read> partial: array<f32>;
@group(1) @binding(1) var<storage, read_write> gradWeight: array<f32>;
@group(1) @binding(2) var<storage, read_write> gradBias: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let e = id.x + id.y * groups.x * WORKGROUP_SIZE;
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
