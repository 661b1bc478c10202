/**
 * PCA for the embedding probe: fitted on a deterministic subset of rows, projected for every
 * row, quantized to int8. Plain float64 loops in a fixed order, so a rebuild gives identical bytes.
 */
/** Pixels a PCA probe is fitted on at most: its covariance is pixels^2 float64s, fitted in JavaScript (4096 pixels: 128 MiB, seconds). */
export const MAX_PCA_PIXELS = 4096;

export interface Pca {
  dim: number;
  k: number;
  mean: Float64Array;
  /** k rows of `dim`, orthonormal, by decreasing variance. */
  components: Float64Array;
}

/** Fits k principal axes of `rows` (n x dim uint8), using at most `maxFitRows` rows spread evenly. */
export function fitPca(rows: Uint8Array, dim: number, k: number, maxFitRows = 10_000, iterations = 40): Pca {
  const n = rows.length / dim;
  const fit = Math.min(n, maxFitRows);
  const pick = (i: number) => Math.floor((i * n) / fit);
  const mean = new Float64Array(dim);
  for (let i = 0; i < fit; i++) for (let j = 0, o = pick(i) * dim; j < dim; j++) mean[j] += rows[o + j];
  for (let j = 0; j < dim; j++) mean[j] /= fit;

  // Upper triangle of the covariance, then mirrored.
  const cov = new Float64Array(dim * dim);
  const x = new Float64Array(dim);
  for (let i = 0; i < fit; i++) {
    const o = pick(i) * dim;
    for (let j = 0; j < dim; j++) x[j] = rows[o + j] - mean[j];
    for (let a = 0; a < dim; a++) {
      const xa = x[a];
      if (xa === 0) continue;
      const row = a * dim;
      for (let b = a; b < dim; b++) cov[row + b] += xa * x[b];
    }
  }
  for (let a = 0; a < dim; a++) for (let b = a + 1; b < dim; b++) cov[b * dim + a] = cov[a * dim + b];

  // Orthogonal (subspace) iteration from a seeded start.
  let v: Float64Array = new Float64Array(k * dim);
  let seed = 0x9e3779b9;
  for (let i = 0; i < v.length; i++) {
    seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    v[i] = seed / 2 ** 32 - 0.5;
  }
  orthonormalize(v, k, dim);
  const next = new Float64Array(k * dim);
  for (let it = 0; it < iterations; it++) {
    next.fill(0);
    for (let c = 0; c < k; c++) {
      const vc = c * dim;
      for (let a = 0; a < dim; a++) {
        let s = 0;
        const row = a * dim;
        for (let b = 0; b < dim; b++) s += cov[row + b] * v[vc + b];
        next[vc + a] = s;
      }
    }
    v.set(next);
    orthonormalize(v, k, dim);
  }
  v = sortByVariance(v, cov, k, dim);
  return { dim, k, mean, components: v };
}

/** Projects every row onto the components: n x k float64. */
export function project(pca: Pca, rows: Uint8Array): Float64Array {
  const { dim, k, mean, components } = pca;
  const n = rows.length / dim;
  const out = new Float64Array(n * k);
  const x = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) x[j] = rows[i * dim + j] - mean[j];
    for (let c = 0; c < k; c++) {
      let s = 0;
      for (let j = 0, o = c * dim; j < dim; j++) s += x[j] * components[o + j];
      out[i * k + c] = s;
    }
  }
  return out;
}

/** Symmetric int8 quantization per channel: q = round(v / scale), scale = max |v| / 127. */
export function quantizeInt8(values: Float64Array, k: number): { q: Int8Array; scale: number[] } {
  const scale = new Array<number>(k).fill(0);
  for (let i = 0; i < values.length; i++) scale[i % k] = Math.max(scale[i % k], Math.abs(values[i]));
  for (let c = 0; c < k; c++) scale[c] = scale[c] > 0 ? scale[c] / 127 : 1;
  const q = new Int8Array(values.length);
  for (let i = 0; i < values.length; i++) q[i] = Math.max(-127, Math.min(127, Math.round(values[i] / scale[i % k])));
  return { q, scale };
}

function orthonormalize(v: Float64Array, k: number, dim: number): void {
  for (let c = 0; c < k; c++) {
    const vc = c * dim;
    for (let p = 0; p < c; p++) {
      const vp = p * dim;
      let d = 0;
      for (let j = 0; j < dim; j++) d += v[vc + j] * v[vp + j];
      for (let j = 0; j < dim; j++) v[vc + j] -= d * v[vp + j];
    }
    let norm = 0;
    for (let j = 0; j < dim; j++) norm += v[vc + j] * v[vc + j];
    norm = Math.sqrt(norm) || 1;
    for (let j = 0; j < dim; j++) v[vc + j] /= norm;
  }
}

function sortByVariance(v: Float64Array, cov: Float64Array, k: number, dim: number): Float64Array {
  const variance = (c: number) => {
    let s = 0;
    for (let a = 0; a < dim; a++) {
      let t = 0;
      for (let b = 0; b < dim; b++) t += cov[a * dim + b] * v[c * dim + b];
      s += v[c * dim + a] * t;
    }
    return s;
  };
  const order = Array.from({ length: k }, (_, c) => [c, variance(c)] as const).sort((a, b) => b[1] - a[1]);
  const out = new Float64Array(k * dim);
  order.forEach(([c], i) => out.set(v.subarray(c * dim, (c + 1) * dim), i * dim));
  return out;
}
