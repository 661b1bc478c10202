import jpeg from 'jpeg-js';
import { EdgelakeError, type ErrorCode } from '../../errors.js';
import { DEFAULT_MAX_PIXELS } from '../limits.js';
import type { DecodedImage, DecodeOptions } from './decoded-image.js';

/**
 * JPEG decoding by jpeg-js (pure JavaScript, so it runs in browsers and workers), behind our
 * own read of the frame header so limits and unsupported kinds are refused before it allocates.
 */

/**
 * jpeg-js's own memory accounting per pixel: 4 bytes per DCT coefficient for up to 4
 * components, a byte per component for its sample planes, and the two RGB output copies.
 */
const JPEG_BYTES_PER_PIXEL = 32;
/** Headroom for tables, scan data and MCU padding, which dominate only tiny images. */
const JPEG_FIXED_MB = 64;

const UNSUPPORTED_SOF: Record<number, string> = {
  0xc3: 'lossless',
  0xc5: 'hierarchical',
  0xc6: 'hierarchical',
  0xc7: 'hierarchical',
  0xc9: 'arithmetic-coded',
  0xca: 'arithmetic-coded',
  0xcb: 'arithmetic-coded',
  0xcd: 'arithmetic-coded hierarchical',
  0xce: 'arithmetic-coded hierarchical',
  0xcf: 'arithmetic-coded hierarchical',
};

/** Decodes a baseline or progressive JPEG to RGB, or to gray when it has one component. */
export function decodeJpeg(bytes: Uint8Array, options: DecodeOptions = {}): DecodedImage {
  const name = options.name ?? 'JPEG';
  const fail = (code: ErrorCode, message: string, cause?: unknown) =>
    new EdgelakeError(code, `${name}: ${message}`, { cause });
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const frame = readFrame(bytes, fail);
  if (frame.width * frame.height > maxPixels) {
    const pixels = frame.width * frame.height;
    throw fail('limit', `${frame.width}x${frame.height} is ${pixels} pixels, over the limit of ${maxPixels}`);
  }
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    decoded = jpeg.decode(bytes, {
      useTArray: true, // typed arrays, not Node's Buffer
      formatAsRGBA: false,
      maxResolutionInMP: maxPixels / 1e6,
      maxMemoryUsageInMB: Math.ceil((maxPixels * JPEG_BYTES_PER_PIXEL) / 2 ** 20) + JPEG_FIXED_MB,
    });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (e instanceof RangeError || /maxMemoryUsageInMB|maxResolutionInMP|allocate/.test(message)) {
      throw fail('limit', `decoding needs more memory than allowed (${message})`, e);
    }
    throw fail('invalid-input', `not a decodable JPEG (${message})`, e);
  }
  const { width, height, data } = decoded;
  if (frame.components !== 1) return { width, height, channels: 3, data };
  // jpeg-js repeats gray into RGB; keep one copy.
  const gray = new Uint8Array(width * height);
  for (let i = 0; i < gray.length; i++) gray[i] = data[i * 3];
  return { width, height, channels: 1, data: gray };
}

interface Frame {
  width: number;
  height: number;
  components: number;
}

/** Walks the marker segments up to the frame header (SOFn) and checks what it declares. */
function readFrame(b: Uint8Array, fail: (code: ErrorCode, message: string) => EdgelakeError): Frame {
  if (b[0] !== 0xff || b[1] !== 0xd8) throw fail('invalid-input', 'not a JPEG (no SOI marker)');
  let pos = 2;
  while (pos + 4 <= b.length) {
    if (b[pos] !== 0xff) {
      throw fail('invalid-input', `expected a marker at byte ${pos}, found 0x${b[pos].toString(16)}`);
    }
    const marker = b[pos + 1];
    if (marker === 0xff) {
      pos += 1; // fill byte
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      pos += 2; // markers without a length
      continue;
    }
    if (marker === 0xda || marker === 0xd9) {
      throw fail('invalid-input', 'scan or end of image before any frame header');
    }
    const length = (b[pos + 2] << 8) | b[pos + 3];
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame) {
      if (length < 8 || pos + 2 + length > b.length) throw fail('invalid-input', 'frame header cut short (truncated?)');
      if (UNSUPPORTED_SOF[marker]) {
        const kind = UNSUPPORTED_SOF[marker];
        throw fail('invalid-input', `${kind} JPEG is not supported (only baseline and progressive Huffman)`);
      }
      const precision = b[pos + 4];
      const height = (b[pos + 5] << 8) | b[pos + 6];
      const width = (b[pos + 7] << 8) | b[pos + 8];
      const components = b[pos + 9];
      if (precision !== 8) {
        throw fail('invalid-input', `${precision}-bit JPEG samples are not supported (only 8-bit)`);
      }
      if (width === 0 || height === 0) {
        throw fail('invalid-input', `frame size ${width}x${height} (a height given later by DNL is not supported)`);
      }
      if (![1, 3, 4].includes(components)) {
        throw fail('invalid-input', `${components} colour components (expected 1, 3 or 4)`);
      }
      return { width, height, components };
    }
    pos += 2 + length;
  }
  throw fail('invalid-input', 'file ends before the frame header (truncated?)');
}
