// The viewer's PCA with its two products (covariance, projection) on the matmul kernel against the
// same PCA on the kernel's CPU reference: the same axes, variances and points.
import { expect, test } from 'vitest';
import { pca2d } from '../../src/viewer/pca.js';
import { mulberry32 } from '../support/random.js';
import { gpuDescribe } from './gpu.js';

const seed = Number(process.env.EDGELAKE_SEED ?? Date.now() % 2 ** 32);

gpuDescribe('viewer PCA on the device', ({ device }) => {
  for (const [n, dim] of [[70_000, 32], [1000, 5], [3, 2]] as const) {
    test(`${n} rows of ${dim}: the CPU reference's axes and points (seed ${seed})`, async () => {
      const rnd = mulberry32(seed ^ n);
      // int8 codes times a per-channel scale, as the probe's dequantized values are; a few channels dominate.
      const rows = Float32Array.from({ length: n * dim }, (_, i) => Math.round(rnd() * 254 - 127) * (1 + 8 / (1 + (i % dim))) + (i % 3));
      const cpu = await pca2d(rows, dim, null);
      const gpu = await pca2d(rows, dim, device);
      expect([cpu.on, gpu.on]).toEqual(['cpu', 'gpu']);
      for (let i = 0; i < cpu.axes.length; i++) expect(Math.abs(gpu.axes[i] - cpu.axes[i]), `axes[${i}]`).toBeLessThan(1e-4);
      // float32 sums of up to 70,000 terms either way (about sqrt(k) eps apart): within 1e-4 of the larger variance.
      for (const c of [0, 1]) expect(Math.abs(gpu.variance[c] - cpu.variance[c]) / cpu.variance[0]).toBeLessThan(1e-4);
      const spread = cpu.points.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
      let worst = 0;
      for (let i = 0; i < cpu.points.length; i++) worst = Math.max(worst, Math.abs(gpu.points[i] - cpu.points[i]));
      expect(worst / spread).toBeLessThan(1e-4);
    });
  }
});
