/**
 * What JPEG entropy decoding hands to reconstruction: the quantized DCT coefficients of every
 * block and the component layout, the whole of a JPEG's information in about a third of its
 * pixels' bytes (a 4:2:0 photo: 1.5 coefficients per pixel, 2 bytes each). Entropy decoding
 * (src/format/image/jpeg/) produces it on the CPU, in a worker; reconstruction (dequantize, IDCT,
 * upsample chroma, colour convert, crop, orient) runs on the device or by the CPU references here.
 */

/** One colour component of a frame: its sampling and where its blocks lie. */
export interface JpegComponent {
  /** Sampling factors, 1..4: this component has h/maxH of the frame's columns, v/maxV of its rows. */
  h: number;
  v: number;
  /**
   * Blocks stored per row and rows of blocks: the component's share of the whole MCU grid,
   * mcusWide * h by mcusHigh * v with mcusWide = ceil(width / (8 * maxH)) and
   * mcusHigh = ceil(height / (8 * maxV)). Blocks past the component's own
   * ceil(ceil(width * h / maxH) / 8) columns are padding (zero unless a scan coded them).
   */
  blocksWide: number;
  blocksHigh: number;
  /**
   * Index (in blocks of 64 coefficients) of this component's first block in `coefficients`.
   * Where JpegCoefficients.reducedFor is set, the components lie one after another in their order
   * instead, each block as many coefficients as that scale reads (jpegPlan's firstCoefficient).
   */
  firstBlock: number;
}

export interface JpegCoefficients {
  /** The frame's size as stored, before `orientation` is applied. */
  width: number;
  height: number;
  maxH: number;
  maxV: number;
  /**
   * 'gray': one component; 'ycbcr': three, converted as JFIF says; 'rgb': three, Adobe-marked;
   * four: 'cmyk' (inverted, as Adobe's applications store it: 0 is full ink) or 'ycck' (that C, M,
   * Y as YCbCr, then K), made RGB as djpeg makes them.
   */
  color: 'gray' | 'ycbcr' | 'rgb' | 'cmyk' | 'ycck';
  components: JpegComponent[];
  /**
   * Quantized coefficients, 64 per block in natural (row-major) order, not zigzag; each
   * component's blocks row by row, the components one after another.
   */
  coefficients: Int16Array;
  /** Each component's quantization table, 64 entries in natural order, component c at c * 64. */
  quantTables: Uint16Array;
  /** EXIF orientation, 1..8 (1: as stored; 6: rotate 90 degrees clockwise to display; ...). */
  orientation: number;
  /**
   * Set when `coefficients` keep only what reconstruction at 1/reducedFor reads (reduceJpegCoefficients):
   * per block side x side of them (jpegPlan's JpegComponentPlan.side), so a 1/8 decode of a photo
   * ships its luma's DC alone. Such coefficients reconstruct at that scale only.
   */
  reducedFor?: JpegScale;
}

/** libjpeg's scale_denom: reconstruct at 1/1, 1/2, 1/4 or 1/8 of full size in the DCT domain. */
export type JpegScale = 1 | 2 | 4 | 8;
