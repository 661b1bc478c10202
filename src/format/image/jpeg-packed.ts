import { EdgelakeError } from '../../errors.js';
import type { JpegCoefficients, JpegComponent, JpegScale } from '../../kernels/jpeg/coefficients.js';
import { packJpegPixels } from '../../kernels/jpeg/jpeg.ref.js';
import { reduceJpegCoefficients } from '../../kernels/jpeg/reduce.js';

/**
 * A JPEG after entropy decoding, in one buffer: what a decode worker sends back when a device
 * reconstructs the pixels (the GPU path), so it transfers as a whole, like any decoded sample.
 *
 *   u32 words: MAGIC, scale, width, height, maxH, maxV, color, orientation, components,
 *              then per component h, v, blocksWide, blocksHigh, firstBlock;
 *   then each component's quantization table (u16 x 64), then the coefficients (i16), 4-byte aligned:
 *   at a scale below 1/1, only those reconstruction at that scale reads (reduceJpegCoefficients),
 *   so a photo decoded at 1/8 for a small fit ships and uploads a fraction of its coefficients.
 */
const MAGIC = 0x43504a45; // 'EJPC'
const PIXELS_MAGIC = 0x58504a45; // 'EJPX': packJpegBatchPixels'
const COLORS = ['gray', 'ycbcr', 'rgb', 'cmyk', 'ycck'] as const;

/** Where a packed buffer of `components` components holds its coefficients (bytes). */
function coefficientsAt(components: number): number {
  return (9 + 5 * components) * 4 + Math.ceil((components * 64 * 2) / 4) * 4;
}

/**
 * A zeroed coefficients array of `length` for a JPEG of `components` components, with room
 * before it for the rest of packJpegCoefficients' buffer, which then packs it without a copy.
 */
export function packableCoefficients(components: number, length: number): Int16Array {
  const at = coefficientsAt(components);
  return new Int16Array(new ArrayBuffer(at + length * 2), at, length);
}

/**
 * `coef`, to be reconstructed at 1/scale, in one buffer: at 1/1 the one under its coefficients if
 * packableCoefficients made them (no copy), else a new one holding only what that scale reads.
 */
export function packJpegCoefficients(coef: JpegCoefficients, scale: JpegScale, name = 'JPEG'): Uint8Array {
  const count = coef.components.length;
  const head = 9 + 5 * count;
  const quantAt = head * 4;
  const coefAt = coefficientsAt(count);
  if (scale !== 1 && coef.reducedFor !== scale) coef = reduceJpegCoefficients(coef, scale, name, (length) => packableCoefficients(count, length));
  const { coefficients } = coef;
  const inPlace = coefficients.byteOffset === coefAt && coefficients.buffer.byteLength === coefAt + coefficients.byteLength;
  const out = inPlace ? new Uint8Array(coefficients.buffer) : new Uint8Array(coefAt + coefficients.length * 2);
  const words = new Uint32Array(out.buffer, 0, head);
  words.set([MAGIC, scale, coef.width, coef.height, coef.maxH, coef.maxV, COLORS.indexOf(coef.color), coef.orientation, count]);
  coef.components.forEach((c, i) => words.set([c.h, c.v, c.blocksWide, c.blocksHigh, c.firstBlock], 9 + 5 * i));
  new Uint16Array(out.buffer, quantAt, coef.quantTables.length).set(coef.quantTables);
  if (!inPlace) new Int16Array(out.buffer, coefAt, coefficients.length).set(coefficients);
  return out;
}

/** The coefficients and scale a packJpegCoefficients buffer holds (views into it, not copies; reducedFor the scale below 1/1). */
export function unpackJpegCoefficients(bytes: Uint8Array, name = 'sample'): { coef: JpegCoefficients; scale: JpegScale } {
  const fail = () => new EdgelakeError('invalid-input', `${name}: not packed JPEG coefficients`);
  if (bytes.byteOffset % 4 !== 0) bytes = bytes.slice(); // typed views need aligned offsets
  if (bytes.byteLength < 36) throw fail();
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, Math.floor(bytes.byteLength / 4));
  const [magic, scale, width, height, maxH, maxV, color, orientation, count] = words;
  if (magic !== MAGIC || count > 4 || words.length < 9 + 5 * count) throw fail();
  const components: JpegComponent[] = Array.from({ length: count }, (_, i) => {
    const [h, v, blocksWide, blocksHigh, firstBlock] = words.subarray(9 + 5 * i, 14 + 5 * i);
    return { h, v, blocksWide, blocksHigh, firstBlock };
  });
  const quantAt = (9 + 5 * count) * 4;
  const coefAt = coefficientsAt(count);
  if (coefAt > bytes.byteLength || (bytes.byteLength - coefAt) % 2 !== 0) throw fail();
  const quantTables = new Uint16Array(bytes.buffer, bytes.byteOffset + quantAt, count * 64);
  const coefficients = new Int16Array(bytes.buffer, bytes.byteOffset + coefAt, (bytes.byteLength - coefAt) / 2);
  const coef: JpegCoefficients = { width, height, maxH, maxV, color: COLORS[color], components, coefficients, quantTables, orientation };
  if (scale !== 1) coef.reducedFor = scale as JpegScale;
  return { coef, scale: scale as JpegScale };
}

/**
 * An image of a JPEG tensor that is not a JPEG (a PNG among photos: readers decode each file by
 * its signature), decoded on the CPU, for the device's batch beside the JPEGs: u32 words MAGIC,
 * width, height, then its pixels as the reconstruction writes them (R | G << 8 | B << 16 | A << 24).
 */
export function packJpegBatchPixels(image: { width: number; height: number; channels: 1 | 3; data: Uint8Array }): Uint8Array {
  const words = new Uint32Array(3 + image.width * image.height);
  words.set([PIXELS_MAGIC, image.width, image.height]);
  words.set(packJpegPixels(image), 3);
  return new Uint8Array(words.buffer);
}

/** What a sample of the device's JPEG batch holds: coefficients to reconstruct, or pixels (packJpegBatchPixels) to place. */
export type JpegBatchSample = { coef: JpegCoefficients; scale: JpegScale } | { pixels: Uint32Array; width: number; height: number };

/** Either packed form, as views into `bytes` (aligned first if it is not). */
export function unpackJpegBatchSample(bytes: Uint8Array, name = 'sample'): JpegBatchSample {
  if (bytes.byteLength >= 12 && bytes.byteOffset % 4 === 0 && new Uint32Array(bytes.buffer, bytes.byteOffset, 1)[0] === PIXELS_MAGIC) {
    const [, width, height] = new Uint32Array(bytes.buffer, bytes.byteOffset, 3);
    if (bytes.byteLength !== 12 + 4 * width * height) throw new EdgelakeError('invalid-input', `${name}: not packed pixels`);
    return { pixels: new Uint32Array(bytes.buffer, bytes.byteOffset + 12, width * height), width, height };
  }
  if (bytes.byteOffset % 4 !== 0) return unpackJpegBatchSample(bytes.slice(), name);
  return unpackJpegCoefficients(bytes, name);
}
