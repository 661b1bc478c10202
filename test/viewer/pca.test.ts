// The viewer's 2-D PCA on the CPU (the matmul reference plus power iteration), checked against data
// whose principal axes are known by construction, and against the builders' own PCA (fitPca),
// written separately.
import { describe, expect, it } from 'vitest';
import { fitPca, project } from '../../src/format/builders/pca.js';
import { centre, leadingAxes, pca2d } from '../../src/viewer/pca.js';
import { mulberry32 } from '../support/random.js';

/** Standard normal samples (Box-Muller) from a seeded generator. */
function normal(rnd: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
}

/** A random orthonormal basis of R^dim (Gram-Schmidt), as rows. */
function basis(dim: number, rnd: () => number): Float64Array[] {
  const rows: Float64Array[] = [];
  const gauss = normal(rnd);
  while (rows.length < dim) {
    const v = Float64Array.from({ length: dim }, gauss);
    for (const u of rows) {
      const d = v.reduce((a, x, j) => a + x * u[j], 0);
      for (let j = 0; j < dim; j++) v[j] -= d * u[j];
    }
    const norm = Math.hypot(...v);
    rows.push(v.map((x) => x / norm));
  }
  return rows;
}

/** n rows with standard deviation `sd[i]` along basis row i, around `offset`. */
function cloud(n: number, sd: number[], q: Float64Array[], offset: number, seed: number): Float32Array {
  const gauss = normal(mulberry32(seed));
  const dim = q.length;
  const rows = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const z = sd.map((s) => s * gauss());
    for (let j = 0; j < dim; j++) rows[i * dim + j] = offset + z.reduce((a, zi, c) => a + zi * q[c][j], 0);
  }
  return rows;
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, x, i) => s + x * b[i], 0);
const column = (axes: Float32Array, c: number) => Array.from({ length: axes.length / 2 }, (_, j) => axes[j * 2 + c]);

describe('the viewer PCA on the CPU', () => {
  it('finds the axes a cloud was made along, the larger variance first, and centres the points', async () => {
    const dim = 8;
    const q = basis(dim, mulberry32(7));
    const sd = [3, 2, 0.5, 0.4, 0.3, 0.2, 0.1, 0.1];
    const rows = cloud(20_000, sd, q, 5, 11);
    const pca = await pca2d(rows, dim, null);
    expect(pca.on).toBe('cpu');
    expect(Math.abs(dot(column(pca.axes, 0), q[0]))).toBeGreaterThan(0.999);
    expect(Math.abs(dot(column(pca.axes, 1), q[1]))).toBeGreaterThan(0.999);
    expect(Math.abs(dot(column(pca.axes, 0), column(pca.axes, 1)))).toBeLessThan(1e-6);
    expect(pca.variance[0]).toBeCloseTo(9, 0);
    expect(pca.variance[1]).toBeCloseTo(4, 0);
    for (const m of pca.mean) expect(m).toBeCloseTo(5, 1);
    // The points are centred and spread as the axes' variances say.
    const n = rows.length / dim;
    for (const c of [0, 1]) {
      let [sum, squares] = [0, 0];
      for (let i = 0; i < n; i++) [sum, squares] = [sum + pca.points[2 * i + c], squares + pca.points[2 * i + c] ** 2];
      expect(Math.abs(sum / n)).toBeLessThan(1e-3);
      expect(squares / n / pca.variance[c]).toBeCloseTo(1, 3);
    }
  });

  it('agrees with the builders\' fitPca on uint8 rows: the same axes and projections, up to sign', async () => {
    const dim = 16;
    const q = basis(dim, mulberry32(3));
    const made = cloud(3000, [20, 12, 4, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], q, 128, 5);
    const bytes = Uint8Array.from(made, (v) => Math.max(0, Math.min(255, Math.round(v))));
    const reference = fitPca(bytes, dim, 2, 3000, 200);
    const expected = project(reference, bytes);
    const pca = await pca2d(Float32Array.from(bytes), dim, null);
    for (const c of [0, 1]) {
      const sign = Math.sign(dot(column(pca.axes, c), reference.components.subarray(c * dim, (c + 1) * dim)));
      expect(Math.abs(dot(column(pca.axes, c), reference.components.subarray(c * dim, (c + 1) * dim)))).toBeGreaterThan(0.9999);
      let worst = 0;
      for (let i = 0; i < 3000; i++) worst = Math.max(worst, Math.abs(sign * pca.points[2 * i + c] - expected[2 * i + c]));
      expect(worst).toBeLessThan(0.05); // of a spread of about +-60
    }
  });

  it('gives each axis the sign that makes its largest component positive; a flat matrix gives zero variance', () => {
    const cov = Float32Array.from([4, 0, 0, 0, 1, 0, 0, 0, 0]);
    const { axes, variance } = leadingAxes(cov, 3, 1);
    expect(Array.from(axes).map((x) => Math.round(x * 1e6) / 1e6 + 0)).toEqual([1, 0, 0, 1, 0, 0]);
    expect(variance).toEqual([4, 1]);
    expect(leadingAxes(new Float32Array(9), 3, 1).variance).toEqual([0, 0]);
    expect(centre(Float32Array.from([1, 2, 3, 6]), 2).mean).toEqual(Float32Array.from([2, 4]));
  });

  it('refuses values that are not rows of dim', async () => {
    await expect(pca2d(new Float32Array(7), 2, null)).rejects.toThrow(/7 values are not rows of 2/);
  });
});
