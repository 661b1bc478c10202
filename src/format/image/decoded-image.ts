import type { JpegScale } from '../../kernels/jpeg/coefficients.js';

/** A decoded image: 8-bit samples, rows top to bottom, channels interleaved (HWC). */
export interface DecodedImage {
  width: number;
  height: number;
  /** 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA */
  channels: 1 | 2 | 3 | 4;
  data: Uint8Array;
}

export interface DecodeOptions {
  /** Largest width*height accepted, checked from the header before any pixel memory is taken. */
  maxPixels?: number;
  /** Names the file in error messages, e.g. its path in the source folder. */
  name?: string;
  /** JPEGs decode at 1/scale of full size in the DCT domain (libjpeg's scale_denom); PNGs at full size. */
  scale?: JpegScale;
}
