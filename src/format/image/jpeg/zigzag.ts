/**
 * NATURAL_ORDER[k]: where the k-th coefficient in zigzag order lies in a row-major 8x8 block.
 * Sixteen extra entries of 63 absorb a run that overshoots the block in corrupt data, as
 * libjpeg's jpeg_natural_order does, so no decoder needs a bounds check per coefficient.
 */
export const NATURAL_ORDER = Int32Array.of(
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
  12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
  35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
  58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
  63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
);
