import { FLOAT_BITS, shaderHeader } from '../shader.js';

/**
 * Matrix multiply: out (m x n) = activation(op(a) op(b) + bias), or out += op(a) op(b), where op
 * transposes when TRANS_A / TRANS_B. Each workgroup computes one TILE_M x TILE_N tile of out and
 * each invocation a ROWS x COLS block of it, kept in registers. Two entry points:
 *
 * - staged (GPUs): TILE_K-deep slices of op(a) and op(b) go through workgroup memory, so each
 *   value loaded from storage serves a whole row or column of invocations. An invocation's rows
 *   are WG_Y apart and its columns WG_X apart: neighbours read neighbouring addresses.
 * - direct (CPU drivers such as lavapipe, which run invocations as SIMD lanes but load memory
 *   lane by lane inside loops, workgroup memory included, so staging only adds loads): a row of
 *   invocations shares ROWS rows of a and each reads its own COLS columns of b.
 *
 * Transposes, bias, ReLU and accumulation are override constants: each combination compiles to
 * its own straight-line code.
 */
export const matmulWgsl = /* wgsl */ `
${shaderHeader({
  params: [
    'm: u32',
    'n: u32',
    'k: u32',
    'tilesN: u32 // tiles across n; tile t covers rows (t / tilesN) * TILE_M, columns (t % tilesN) * TILE_N',
    'tiles: u32',
  ],
  bindings: {
    0: ['read bias: array<f32> // length n when HAS_BIAS; otherwise a stand-in that is never read'],
    1: ['read a: array<f32>', 'read b: array<f32>', 'read_write out: array<f32>'],
  },
})}
override WG_X: u32 = 16u;
override WG_Y: u32 = 16u; // 1 for the direct entry point
override ROWS: u32 = 4u; // ROWS * COLS <= MAX_BLOCK
override COLS: u32 = 4u; // <= MAX_COLS
override TILE_K: u32 = 16u; // staged only
override TRANS_A: bool = false;
override TRANS_B: bool = false;
override HAS_BIAS: bool = false;
override RELU: bool = false;
override ACCUMULATE: bool = false;

${FLOAT_BITS}

const MAX_BLOCK = 128u;
const MAX_COLS = 8u;
override THREADS: u32 = WG_X * WG_Y; // derived: never set by the host
override TILE_M: u32 = WG_Y * ROWS;
override TILE_N: u32 = WG_X * COLS;
override TILE_A_SIZE: u32 = TILE_K * TILE_M; // workgroup array sizes must name an override
override TILE_B_SIZE: u32 = TILE_K * TILE_N;

// Staged slices, depth-major: tileA[p * TILE_M + row], tileB[p * TILE_N + col].
var<workgroup> tileA: array<f32, TILE_A_SIZE>;
var<workgroup> tileB: array<f32, TILE_B_SIZE>;

// Indices of op(a)[row][p] and op(b)[p][col] in the stored matrices.
fn indexA(row: u32, p: u32) -> u32 {
  return select(row * params.k + p, p * params.m + row, TRANS_A);
}
fn indexB(p: u32, col: u32) -> u32 {
  return select(p * params.n + col, col * params.k + p, TRANS_B);
}

// The first row and column of this workgroup's tile of out.
fn tileOrigin(group: vec3u, groups: vec3u) -> vec2u {
  let tile = workgroupIndex(group, groups);
  return vec2u((tile / params.tilesN) * TILE_M, (tile % params.tilesN) * TILE_N);
}

// Writes one element of out, unless past its edge: bias, then ReLU, or accumulation.
fn finish(row: u32, col: u32, sum: f32) {
  if (row < params.m && col < params.n) {
    var v = sum;
    if (HAS_BIAS) {
      v += bias[col];
    }
    if (RELU) {
      v = relu(v);
    }
    if (ACCUMULATE) {
      v += out[row * params.n + col];
    }
    out[row * params.n + col] = v;
  }
}

// GPUs: both operands staged in workgroup memory, TILE_K deep, each value reused by a whole
// row or column of invocations.
@compute @workgroup_size(WG_X, WG_Y)
fn staged(
  @builtin(workgroup_id) group: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_id) local: vec3u,
  @builtin(local_invocation_index) flat: u32,
) {
  if (workgroupIndex(group, groups) >= params.tiles) {
    return;
  }
  let origin = tileOrigin(group, groups);
  var sums: array<f32, MAX_BLOCK>;
  for (var p0 = 0u; p0 < params.k; p0 += TILE_K) {
    // Constant trip counts (the sizes are multiples of THREADS) unroll. Consecutive invocations
    // load consecutive addresses of the stored (maybe transposed) matrix; 0 outside it.
    for (var s = 0u; s < TILE_A_SIZE / THREADS; s++) {
      let e = flat + s * THREADS;
      let row = select(e / TILE_K, e % TILE_M, TRANS_A);
      let p = select(e % TILE_K, e / TILE_M, TRANS_A);
      let inside = origin.x + row < params.m && p0 + p < params.k;
      tileA[p * TILE_M + row] = select(0.0, a[indexA(origin.x + row, p0 + p)], inside);
    }
    for (var s = 0u; s < TILE_B_SIZE / THREADS; s++) {
      let e = flat + s * THREADS;
      let col = select(e % TILE_N, e / TILE_K, TRANS_B);
      let p = select(e / TILE_N, e % TILE_K, TRANS_B);
      let inside = p0 + p < params.k && origin.y + col < params.n;
      tileB[p * TILE_N + col] = select(0.0, b[indexB(p0 + p, origin.y + col)], inside);
    }
    workgroupBarrier();
    for (var p = 0u; p < TILE_K; p++) {
      var bs: array<f32, MAX_COLS>;
      for (var j = 0u; j < COLS; j++) {
        bs[j] = tileB[p * TILE_N + local.x + j * WG_X];
      }
      for (var i = 0u; i < ROWS; i++) {
        let av = tileA[p * TILE_M + local.y + i * WG_Y];
        for (var j = 0u; j < COLS; j++) {
          sums[i * COLS + j] = fma(av, bs[j], sums[i * COLS + j]);
        }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < ROWS; i++) {
    for (var j = 0u; j < COLS; j++) {
      finish(origin.x + local.y + i * WG_Y, origin.y + local.x + j * WG_X, sums[i * COLS + j]);
    }
  }
}

// CPU drivers (lavapipe): no workgroup memory, which they load lane by lane like storage, so
// staging would only add loads. Large blocks (8 x 8: 16 loads per 64 multiply-adds) amortise
// the loads; the workgroup's invocations share their ROWS rows of a (WG_Y = 1): cache hits.
@compute @workgroup_size(WG_X)
fn direct(
  @builtin(workgroup_id) group: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_id) local: vec3u,
) {
  if (workgroupIndex(group, groups) >= params.tiles) {
    return;
  }
  let origin = tileOrigin(group, groups);
  // Rows and columns past the edge read the last one instead of 0: their sums are dropped.
  var rows: array<u32, MAX_BLOCK>;
  for (var i = 0u; i < ROWS; i++) {
    rows[i] = min(origin.x + i, params.m - 1u);
  }
  var cols: array<u32, MAX_COLS>;
  for (var j = 0u; j < COLS; j++) {
    cols[j] = min(origin.y + local.x + j * WG_X, params.n - 1u);
  }
  var sums: array<f32, MAX_BLOCK>;
  for (var p = 0u; p < params.k; p++) {
    var bs: array<f32, MAX_COLS>;
    for (var j = 0u; j < COLS; j++) {
      bs[j] = b[indexB(p, cols[j])];
    }
    for (var i = 0u; i < ROWS; i++) {
      let av = a[indexA(rows[i], p)];
      for (var j = 0u; j < COLS; j++) {
        sums[i * COLS + j] = fma(av, bs[j], sums[i * COLS + j]);
      }
    }
  }
  for (var i = 0u; i < ROWS; i++) {
    for (var j = 0u; j < COLS; j++) {
      finish(origin.x + i, origin.y + local.x + j * WG_X, sums[i * COLS + j]);
    }
  }
}

`;
