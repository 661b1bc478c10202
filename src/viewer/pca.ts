import { EdgelakeError } from '../index.js';
import { encodeMatmul, matmulRef, readBuffer, uploadBuffer, type MatmulArgs } from '../kernels/index.js';

/**
 * The scatter's 2-D PCA. The two passes over every row are matrix products, run by the matmul
 * kernel on a device or by its CPU reference: the covariance XᵀX of the centred rows, then the
 * projection X·W onto the two leading axes. Those axes come from the small dim x dim covariance
 * by power iteration on the CPU, in float64, where it costs microseconds.
 */
export interface Pca2d {
  /** n x 2, row-major: each row's coordinates on the two axes. */
  points: Float32Array;
  /** dim x 2, row-major: the axes as columns, unit length, the larger variance first. */
  axes: Float32Array;
  mean: Float32Array;
  /** The variance along each axis. */
  variance: [number, number];
  /** Where the products ran. */
  on: 'gpu' | 'cpu';
}

/** PCA of `rows` (n x dim, row-major) to two dimensions; on `device` when given and the rows fit one binding. */
export async function pca2d(rows: Float32Array, dim: number, device?: GPUDevice | null): Promise<Pca2d> {
  if (!Number.isInteger(dim) || dim < 2 || rows.length % dim !== 0) throw new EdgelakeError('invalid-input', `pca2d: ${rows.length} values are not rows of ${dim} (dim >= 2)`);
  const n = rows.length / dim;
  const { centred, mean } = centre(rows, dim);
  if (device && n > 0 && rows.byteLength <= device.limits.maxStorageBufferBindingSize) {
    const { STORAGE } = GPUBufferUsage;
    const x = uploadBuffer(device, 'pca rows', STORAGE, centred);
    try {
      const cov = await product(device, 'pca covariance', dim * dim, (out) => covArgs(x, out, n, dim));
      const { axes, variance } = leadingAxes(cov, dim, n);
      const w = uploadBuffer(device, 'pca axes', STORAGE, axes);
      try {
        const points = await product(device, 'pca projection', n * 2, (out) => projectArgs(x, w, out, n, dim));
        return { points, axes, mean, variance, on: 'gpu' };
      } finally {
        w.destroy();
      }
    } finally {
      x.destroy();
    }
  }
  const cov = new Float32Array(dim * dim);
  matmulRef(covArgs(centred, cov, n, dim));
  const { axes, variance } = leadingAxes(cov, dim, Math.max(1, n));
  const points = new Float32Array(n * 2);
  matmulRef(projectArgs(centred, axes, points, n, dim));
  return { points, axes, mean, variance, on: 'cpu' };
}

/** The rows minus their mean (the mean summed in float64). */
export function centre(rows: Float32Array, dim: number): { centred: Float32Array; mean: Float32Array } {
  const n = rows.length / dim;
  const sum = new Float64Array(dim);
  for (let i = 0; i < rows.length; i++) sum[i % dim] += rows[i];
  const mean = Float32Array.from(sum, (s) => (n > 0 ? s / n : 0));
  const centred = new Float32Array(rows.length);
  for (let i = 0; i < rows.length; i++) centred[i] = rows[i] - mean[i % dim];
  return { centred, mean };
}

/**
 * The two leading eigenvectors of a symmetric dim x dim matrix (the unnormalised covariance of
 * `n` rows) by power iteration, the second kept orthogonal to the first. Each axis's sign makes
 * its largest component positive, so the CPU and GPU paths draw the same picture.
 */
export function leadingAxes(cov: Float32Array, dim: number, n: number, iterations = 500): { axes: Float32Array; variance: [number, number] } {
  const found: Float64Array[] = [];
  const variance: number[] = [];
  for (let axis = 0; axis < 2; axis++) {
    // A start with a share of every direction, different for each axis.
    let v = Float64Array.from({ length: dim }, (_, j) => 1 + ((j * (axis + 3)) % 7) / 7);
    let lambda = 0;
    for (let it = 0; it < iterations; it++) {
      for (const u of found) orthogonalise(v, u);
      const next = new Float64Array(dim);
      for (let a = 0; a < dim; a++) {
        let s = 0;
        for (let b = 0; b < dim; b++) s += cov[a * dim + b] * v[b];
        next[a] = s;
      }
      for (const u of found) orthogonalise(next, u);
      const norm = Math.hypot(...next);
      if (norm === 0) break; // a rank-deficient matrix: no variance left in any direction
      for (let a = 0; a < dim; a++) next[a] /= norm;
      const moved = next.reduce((m, x, a) => Math.max(m, Math.abs(x - v[a])), 0);
      v = next;
      lambda = norm;
      if (moved < 1e-12) break;
    }
    const largest = v.reduce((best, x, a) => (Math.abs(x) > Math.abs(v[best]) ? a : best), 0);
    if (v[largest] < 0) for (let a = 0; a < dim; a++) v[a] = -v[a];
    found.push(v);
    variance.push(lambda / n);
  }
  const axes = new Float32Array(dim * 2);
  for (let a = 0; a < dim; a++) {
    axes[a * 2] = found[0][a];
    axes[a * 2 + 1] = found[1][a];
  }
  return { axes, variance: [variance[0], variance[1]] };
}

function orthogonalise(v: Float64Array, u: Float64Array): void {
  let d = 0;
  for (let a = 0; a < v.length; a++) d += v[a] * u[a];
  for (let a = 0; a < v.length; a++) v[a] -= d * u[a];
}

/** Covariance: a = Xᵀ (X stored n x dim, transposed), b = X. Projection: a = X, b = W (dim x 2). */
const covArgs = <B>(x: B, out: B, n: number, dim: number): MatmulArgs<B> => ({ a: x, b: x, out, m: dim, n: dim, k: n, transA: true });
const projectArgs = <B>(x: B, w: B, out: B, n: number, dim: number): MatmulArgs<B> => ({ a: x, b: w, out, m: n, n: 2, k: dim });

/** One matmul into a new buffer of `floats`, submitted and read back. */
async function product(device: GPUDevice, label: string, floats: number, args: (out: GPUBuffer) => MatmulArgs<GPUBuffer>): Promise<Float32Array> {
  const out = device.createBuffer({ label, size: Math.max(4, floats * 4), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  try {
    const encoder = device.createCommandEncoder({ label });
    const pass = encoder.beginComputePass({ label });
    const transients = encodeMatmul(device, pass, args(out));
    pass.end();
    device.queue.submit([encoder.finish()]);
    transients.destroy();
    return new Float32Array(await readBuffer(device, out, floats * 4));
  } finally {
    out.destroy();
  }
}
