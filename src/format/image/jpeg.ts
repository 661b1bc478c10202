import type { JpegCoefficients, JpegScale } from '../../kernels/jpeg/coefficients.js';
import type { DecodedImage, DecodeOptions } from './decoded-image.js';
import { decodeJpegBanded } from './jpeg-banded.js';

/**
 * Decodes a baseline or progressive JPEG on the CPU: our entropy decoder (./jpeg/), then the
 * reconstruction kernels' CPU references (dequantize, integer IDCT, fancy upsampling, YCbCr to
 * RGB, EXIF orientation), the same pixels libjpeg-turbo's djpeg gives. RGB, or gray for one
 * component. Baseline files go row by row from bytes to pixels (decodeJpegBanded).
 */
export function decodeJpeg(bytes: Uint8Array, options: DecodeOptions = {}): DecodedImage {
  return decodeJpegBanded(bytes, { name: options.name, maxPixels: options.maxPixels, scale: options.scale });
}

/**
 * The largest libjpeg scale denominator N (1, 2, 4, 8) at which the image, as displayed (EXIF
 * orientation 5-8 swaps its sides), still covers `size` [height, width]: a fit to that size then
 * loses nothing to decoding at 1/N, and the IDCT and memory shrink by N^2.
 */
export function jpegScaleFor(coef: Pick<JpegCoefficients, 'width' | 'height' | 'orientation'>, size: readonly [number, number]): JpegScale {
  const [w, h] = coef.orientation >= 5 ? [coef.height, coef.width] : [coef.width, coef.height];
  for (const n of [8, 4, 2] as const) if (Math.ceil(w / n) >= size[1] && Math.ceil(h / n) >= size[0]) return n;
  return 1;
}
