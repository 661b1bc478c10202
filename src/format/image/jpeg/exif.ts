/**
 * What APPn segments say about how to show the image: EXIF orientation (APP1), and whether three
 * components are YCbCr or RGB (JFIF APP0, Adobe APP14, else libjpeg's guess from component ids),
 * four CMYK or YCCK (Adobe APP14).
 * Each reader takes a segment's payload, `start` (after the length field) to `end`, and never
 * reads outside it: a damaged segment means "not said".
 */

const startsWith = (b: Uint8Array, start: number, end: number, text: string) => {
  if (end - start < text.length) return false;
  for (let i = 0; i < text.length; i++) if (b[start + i] !== text.charCodeAt(i)) return false;
  return true;
};

/** EXIF orientation 1..8 from an APP1 segment, or 0 when it has none (or a damaged one). */
export function exifOrientation(b: Uint8Array, start: number, end: number): number {
  if (!startsWith(b, start, end, 'Exif\0\0')) return 0;
  const tiff = start + 6;
  const size = end - tiff;
  if (size < 8) return 0;
  const little = b[tiff] === 0x49 && b[tiff + 1] === 0x49; // "II": Intel, little-endian
  const big = b[tiff] === 0x4d && b[tiff + 1] === 0x4d; // "MM": Motorola, big-endian
  if (!little && !big) return 0;
  const u16 = (o: number) => (little ? b[tiff + o] | (b[tiff + o + 1] << 8) : (b[tiff + o] << 8) | b[tiff + o + 1]);
  const u32 = (o: number) => (little ? u16(o) + u16(o + 2) * 65536 : u16(o) * 65536 + u16(o + 2));
  if (u16(2) !== 42) return 0;
  const ifd = u32(4); // the first IFD (IFD0, the main image) holds the orientation
  if (ifd + 2 > size) return 0;
  const entries = u16(ifd);
  for (let i = 0; i < entries; i++) {
    const entry = ifd + 2 + 12 * i;
    if (entry + 12 > size) return 0;
    if (u16(entry) !== 0x0112) continue;
    const SHORT = 3;
    if (u16(entry + 2) !== SHORT) return 0;
    const value = u16(entry + 8); // one SHORT sits at the start of the 4-byte value field
    return value >= 1 && value <= 8 ? value : 0;
  }
  return 0;
}

/** An APP0 segment that marks the file as JFIF (whose three components are YCbCr). */
export function isJfif(b: Uint8Array, start: number, end: number): boolean {
  return startsWith(b, start, end, 'JFIF\0');
}

/** The colour transform flag of an Adobe APP14 segment (0: none, RGB or CMYK; 1: YCbCr; 2: YCCK), or -1. */
export function adobeTransform(b: Uint8Array, start: number, end: number): number {
  // "Adobe", version (2 bytes), flags0 (2), flags1 (2), transform (1)
  if (end - start < 12 || !startsWith(b, start, end, 'Adobe')) return -1;
  return b[start + 11];
}

/** libjpeg's rule (jdapimin.c) for what three components hold. */
export function colorOfThree(ids: number[], jfif: boolean, transform: number): 'ycbcr' | 'rgb' {
  if (jfif) return 'ycbcr';
  if (transform >= 0) return transform === 0 ? 'rgb' : 'ycbcr';
  const R = 0x52, G = 0x47, B = 0x42;
  return ids[0] === R && ids[1] === G && ids[2] === B ? 'rgb' : 'ycbcr';
}

/** libjpeg's rule (jdapimin.c) for what four components hold: CMYK unless the Adobe marker says YCCK (any transform but 0). */
export function colorOfFour(transform: number): 'cmyk' | 'ycck' {
  return transform <= 0 ? 'cmyk' : 'ycck';
}
