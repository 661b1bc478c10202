// The plainest reconstruction of pixels from coefficients, for tests only (src/kernels/jpeg owns
// the real one): dequantize, float IDCT straight from its definition, nearest-neighbour chroma,
// JFIF YCbCr to RGB. It shows the coefficients mean the pixels libjpeg makes of the same file.
import type { JpegCoefficients } from '../../../../src/kernels/jpeg/coefficients.js';
import type { Pnm } from './tools.js';

/** COS[x * 8 + u] = C(u) / 2 * cos((2x + 1) u pi / 16), C(0) = 1 / sqrt(2), else 1 (ITU T.81 A.3.3). */
const COS = Float64Array.from({ length: 64 }, (_, i) => {
  const x = i >> 3;
  const u = i & 7;
  return ((u === 0 ? Math.SQRT1_2 : 1) / 2) * Math.cos(((2 * x + 1) * u * Math.PI) / 16);
});

/** One component's samples over its whole block grid (padding included), level-shifted, unclamped. */
function samples(c: JpegCoefficients, index: number): { plane: Float64Array; stride: number } {
  const { blocksWide, blocksHigh, firstBlock } = c.components[index];
  const stride = blocksWide * 8;
  const plane = new Float64Array(stride * blocksHigh * 8);
  const q = c.quantTables.subarray(index * 64, index * 64 + 64);
  const rows = new Float64Array(64);
  for (let by = 0; by < blocksHigh; by++) {
    for (let bx = 0; bx < blocksWide; bx++) {
      const block = c.coefficients.subarray((firstBlock + by * blocksWide + bx) * 64);
      // Along each row of frequencies v: rows[v * 8 + x] = sum over u.
      for (let v = 0; v < 8; v++) {
        for (let x = 0; x < 8; x++) {
          let sum = 0;
          for (let u = 0; u < 8; u++) sum += COS[x * 8 + u] * block[v * 8 + u] * q[v * 8 + u];
          rows[v * 8 + x] = sum;
        }
      }
      for (let y = 0; y < 8; y++) {
        for (let x = 0; x < 8; x++) {
          let sum = 0;
          for (let v = 0; v < 8; v++) sum += COS[y * 8 + v] * rows[v * 8 + x];
          plane[(by * 8 + y) * stride + bx * 8 + x] = sum + 128;
        }
      }
    }
  }
  return { plane, stride };
}

const clamp = (v: number) => Math.min(255, Math.max(0, Math.round(v)));

/** Pixels as djpeg -dct float -nosmooth makes them, up to rounding: gray, or RGB. */
export function reconstruct(c: JpegCoefficients): Pnm {
  const { width, height, maxH, maxV } = c;
  const planes = c.components.map((_, i) => samples(c, i));
  const channels = planes.length === 1 ? 1 : 3;
  const data = new Uint8Array(width * height * channels);
  const value = new Float64Array(3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      planes.forEach(({ plane, stride }, i) => {
        const { h, v } = c.components[i];
        value[i] = plane[Math.floor((y * v) / maxV) * stride + Math.floor((x * h) / maxH)];
      });
      const at = (y * width + x) * channels;
      if (channels === 1) {
        data[at] = clamp(value[0]);
      } else if (c.color === 'rgb') {
        for (let k = 0; k < 3; k++) data[at + k] = clamp(value[k]);
      } else {
        const [Y, cb, cr] = [value[0], value[1] - 128, value[2] - 128];
        data[at] = clamp(Y + 1.402 * cr);
        data[at + 1] = clamp(Y - 0.344136 * cb - 0.714136 * cr);
        data[at + 2] = clamp(Y + 1.772 * cb);
      }
    }
  }
  return { width, height, channels, data };
}

/** Peak signal-to-noise ratio of `a` against `b` in dB (Infinity when equal). */
export function psnr(a: Pnm, b: Pnm): number {
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) sum += (a.data[i] - b.data[i]) ** 2;
  return 10 * Math.log10((255 * 255) / (sum / a.data.length));
}
