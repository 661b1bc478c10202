import { EdgelakeError } from '../../errors.js';
import { axisTaps, FIT_ROW, fitPlan, type AxisTaps, type FitOptions } from './plan.js';

/**
 * CPU reference of the fit kernel (fit.wgsl.ts), byte for byte, and the library's CPU path:
 * per sample, taps once per axis, then rows (each source row of the box once) and columns.
 * Returns plan.total bytes: B x height x width x channels, HWC.
 */
export function fitRef(bytes: Uint8Array, options: FitOptions): Uint8Array {
  const plan = fitPlan(options, bytes.byteLength);
  const { channels: c, pixelStride, width, height, perSample, table } = plan;
  const out = new Uint8Array(plan.total);
  const rowValues = width * c;
  let mid = new Uint16Array(0);
  let acc = new Float64Array(rowValues);
  for (let s = 0; s < plan.samples; s++) {
    const [offset, imageWidth, , x, y, w, h] = table.subarray(s * FIT_ROW, (s + 1) * FIT_ROW);
    if (mid.length < h * rowValues) mid = new Uint16Array(h * rowValues);
    const first = offset + (y * imageWidth + x) * pixelStride;
    rows(bytes, first, imageWidth * pixelStride, h, c, pixelStride, axisTaps(w, width), mid);
    columns(mid, rowValues, axisTaps(h, height), out, s * perSample, acc);
  }
  return out;
}

/** mid[r, ox, ch] for each of the h box rows from `first`, `stride` bytes apart, pixels `pixelStride` bytes apart. */
function rows(src: Uint8Array, first: number, stride: number, h: number, c: number, pixelStride: number, taps: AxisTaps, mid: Uint16Array): void {
  const { start, weight, den } = taps;
  const at = taps.index.map((j) => j * pixelStride); // byte offsets within a row
  const half = Math.floor(den / 2);
  const outLen = start.length - 1;
  let m = 0;
  for (let r = 0, row = first; r < h; r++, row += stride) {
    for (let ox = 0; ox < outLen; ox++) {
      const [k0, k1] = [start[ox], start[ox + 1]];
      if (c === 3) {
        // The three channels of a tap side by side: one pass over the taps.
        let r0 = half, r1 = half, r2 = half;
        for (let k = k0; k < k1; k++) {
          const wx = weight[k] * 256;
          const i = row + at[k];
          r0 += wx * src[i];
          r1 += wx * src[i + 1];
          r2 += wx * src[i + 2];
        }
        mid[m++] = Math.floor(r0 / den);
        mid[m++] = Math.floor(r1 / den);
        mid[m++] = Math.floor(r2 / den);
        continue;
      }
      let sum = half;
      for (let k = k0; k < k1; k++) sum += weight[k] * 256 * src[row + at[k]];
      mid[m++] = Math.floor(sum / den);
    }
  }
}

/** out[oy, *] from the mid rows each output row reads. */
function columns(mid: Uint16Array, rowValues: number, taps: AxisTaps, out: Uint8Array, at: number, acc: Float64Array): void {
  const { start, index, weight, den } = taps;
  const [bias, scale] = [den * 128, den * 256];
  for (let oy = 0; oy + 1 < start.length; oy++) {
    acc.fill(bias);
    for (let k = start[oy]; k < start[oy + 1]; k++) {
      const wy = weight[k];
      const line = index[k] * rowValues;
      for (let v = 0; v < rowValues; v++) acc[v] += wy * mid[line + v];
    }
    for (let v = 0; v < rowValues; v++) out[at++] = Math.floor(acc[v] / scale);
  }
}

/** The input, as fitRef expects it, from images given one by one: offsets padded to `align` bytes. */
export function packImages(images: readonly Uint8Array[], align = 4): { bytes: Uint8Array; offsets: number[] } {
  if (!Number.isInteger(align) || align < 1) throw new EdgelakeError('invalid-input', `fit: align must be a positive integer, got ${align}`);
  const offsets: number[] = [];
  let end = 0;
  for (const image of images) {
    offsets.push(end);
    end = Math.ceil((end + image.byteLength) / align) * align;
  }
  const bytes = new Uint8Array(Math.max(end, 4));
  images.forEach((image, i) => bytes.set(image, offsets[i]));
  return { bytes, offsets };
}
