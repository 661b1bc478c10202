import { Inflate } from 'fflate';
import { EdgelakeError, type ErrorCode } from '../../errors.js';
import { crc32 } from '../hash.js';
import { DEFAULT_MAX_PIXELS } from '../limits.js';
import type { DecodedImage, DecodeOptions } from './decoded-image.js';

/**
 * A PNG decoder (ISO 15948) small enough to audit: every colour type and bit depth, Adam7,
 * chunk CRCs, and memory bounded by the header before any image data is inflated.
 */

interface Header {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  interlaced: boolean;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Samples per pixel, and allowed bit depths, by colour type. */
const COLOR_TYPES: Record<number, { samples: number; depths: number[] }> = {
  0: { samples: 1, depths: [1, 2, 4, 8, 16] }, // gray
  2: { samples: 3, depths: [8, 16] }, // RGB
  3: { samples: 1, depths: [1, 2, 4, 8] }, // palette index
  4: { samples: 2, depths: [8, 16] }, // gray + alpha
  6: { samples: 4, depths: [8, 16] }, // RGBA
};

/** Adam7 passes as [x0, y0, dx, dy]; a plain image is the single pass [0, 0, 1, 1]. */
const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];
const PLAIN = [[0, 0, 1, 1]];

/** Compressed bytes fed to the inflater per step: deflate expands at most 1032x, so one step
 * can produce at most ~16 MiB before the size check sees it. */
const INFLATE_STEP = 16 * 1024;

export function decodePng(bytes: Uint8Array, options: DecodeOptions = {}): DecodedImage {
  const name = options.name ?? 'PNG';
  const fail: Fail = (code, message, cause) => new EdgelakeError(code, `${name}: ${message}`, { cause });
  const { header: h, palette, trns, idat } = readChunks(bytes, options.maxPixels ?? DEFAULT_MAX_PIXELS, fail);

  const passes = (h.interlaced ? ADAM7 : PLAIN).map(([x0, y0, dx, dy]) => {
    const w = Math.max(0, Math.ceil((h.width - x0) / dx));
    const rows = w === 0 ? 0 : Math.max(0, Math.ceil((h.height - y0) / dy)); // empty passes have no filter bytes
    return { x0, y0, dx, dy, w, rows, rowBytes: Math.ceil((w * bitsPerPixel(h)) / 8) };
  });
  const raw = inflateExact(idat, passes.reduce((n, p) => n + p.rows * (p.rowBytes + 1), 0), fail);

  const pixels = new Pixels(h, palette, trns, fail);
  const out = new Uint8Array(h.width * h.height * pixels.channels);
  let base = 0;
  for (const p of passes) {
    unfilter(raw, base, p.rows, p.rowBytes, Math.max(1, bitsPerPixel(h) >> 3), fail);
    for (let y = 0; y < p.rows; y++) {
      const o = ((p.y0 + y * p.dy) * h.width + p.x0) * pixels.channels;
      pixels.emitRow(raw, base + y * (p.rowBytes + 1) + 1, p.w, out, o, p.dx * pixels.channels);
    }
    base += p.rows * (p.rowBytes + 1);
  }
  return { width: h.width, height: h.height, channels: pixels.channels, data: out };
}

type Fail = (code: ErrorCode, message: string, cause?: unknown) => EdgelakeError;

/** Walks the chunks, checking each CRC, and keeps those that shape the image. */
function readChunks(bytes: Uint8Array, maxPixels: number, fail: Fail) {
  if (!SIGNATURE.every((b, i) => bytes[i] === b)) throw fail('invalid-input', 'not a PNG (bad signature)');
  let header: Header | undefined;
  let palette: Uint8Array | undefined; // RGB triples
  let trns: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  for (let pos = 8; ; ) {
    if (pos + 12 > bytes.length) throw fail('invalid-input', `file ends at byte ${bytes.length} before IEND (truncated?)`);
    const length = readU32(bytes, pos);
    const type = readType(bytes, pos + 4);
    if (!/^[A-Za-z]{4}$/.test(type)) throw fail('invalid-input', `byte ${pos + 4} does not start a chunk type`);
    const end = pos + 8 + length;
    if (end + 4 > bytes.length) {
      throw fail('invalid-input', `chunk ${type} at byte ${pos} runs past the end of the file (truncated?)`);
    }
    if (crc32(bytes, pos + 4, end) !== readU32(bytes, end)) {
      throw fail('integrity', `chunk ${type} at byte ${pos} fails its CRC`);
    }
    const data = bytes.subarray(pos + 8, end);
    pos = end + 4;
    if (!header && type !== 'IHDR') throw fail('invalid-input', `first chunk is ${type}, not IHDR`);
    if (type === 'IHDR') {
      if (header) throw fail('invalid-input', 'more than one IHDR');
      header = parseHeader(data, maxPixels, fail);
    } else if (type === 'PLTE') {
      if (length % 3 !== 0 || length === 0 || length > 768) {
        throw fail('invalid-input', `PLTE of ${length} bytes is not 1 to 256 RGB entries`);
      }
      palette = data;
    } else if (type === 'tRNS') {
      trns = data;
    } else if (type === 'IDAT') {
      idat.push(data);
    } else if (type === 'IEND') {
      break;
    } else if (type.charCodeAt(0) < 0x61) {
      // Upper-case first letter: a critical chunk we do not know, which the spec forbids skipping.
      throw fail('invalid-input', `unknown critical chunk ${type}`);
    }
  }
  if (idat.length === 0) throw fail('invalid-input', 'no IDAT chunk');
  if (header!.colorType === 3 && !palette) throw fail('invalid-input', 'palette image without PLTE');
  return { header: header!, palette, trns, idat: concat(idat) };
}

function parseHeader(d: Uint8Array, maxPixels: number, fail: Fail): Header {
  if (d.length !== 13) throw fail('invalid-input', `IHDR is ${d.length} bytes, not 13`);
  const h = { width: readU32(d, 0), height: readU32(d, 4), bitDepth: d[8], colorType: d[9], interlaced: d[12] === 1 };
  if (h.width === 0 || h.height === 0 || h.width > 0x7fffffff || h.height > 0x7fffffff) {
    throw fail('invalid-input', `IHDR size ${h.width}x${h.height} is not 1 to 2^31-1 each way`);
  }
  const ct = COLOR_TYPES[h.colorType];
  if (!ct || !ct.depths.includes(h.bitDepth)) {
    throw fail('invalid-input', `colour type ${h.colorType} with bit depth ${h.bitDepth} is not a PNG format`);
  }
  if (d[10] !== 0 || d[11] !== 0 || d[12] > 1) {
    throw fail('invalid-input', `IHDR compression/filter/interlace method ${d[10]}/${d[11]}/${d[12]} is unknown`);
  }
  // Checked here, before reading further: no buffer has been sized from the header yet.
  if (h.width * h.height > maxPixels) {
    throw fail('limit', `${h.width}x${h.height} is ${h.width * h.height} pixels, over the limit of ${maxPixels}`);
  }
  return h;
}

function bitsPerPixel(h: Header): number {
  return COLOR_TYPES[h.colorType].samples * h.bitDepth;
}

/** Inflates the zlib stream into exactly `size` bytes; more is a 'limit' error, at once. */
function inflateExact(z: Uint8Array, size: number, fail: Fail): Uint8Array {
  if (z.length < 6 || (z[0] & 15) !== 8 || z[0] >> 4 > 7 || ((z[0] << 8) | z[1]) % 31 !== 0 || z[1] & 32) {
    throw fail('invalid-input', 'image data does not start with a zlib header');
  }
  const out = new Uint8Array(size);
  let filled = 0;
  const inflater = new Inflate((chunk) => {
    if (filled + chunk.length > size) throw fail('limit', `image data inflates past the ${size} bytes its IHDR implies`);
    out.set(chunk, filled);
    filled += chunk.length;
  });
  const body = z.subarray(2, z.length - 4);
  try {
    for (let at = 0; at < body.length; at += INFLATE_STEP) {
      inflater.push(body.subarray(at, at + INFLATE_STEP), at + INFLATE_STEP >= body.length);
    }
  } catch (e) {
    if (e instanceof EdgelakeError) throw e;
    throw fail('invalid-input', `image data is not valid DEFLATE (${(e as Error).message})`, e);
  }
  if (filled < size) {
    throw fail('invalid-input', `image data inflates to ${filled} of the ${size} bytes its IHDR implies (truncated?)`);
  }
  const sum = adler32(out);
  // The checksum ends the zlib stream; libpng decodes, with a warning, a PNG whose IDAT holds bytes after it.
  if (sum !== readU32(z, z.length - 4) && !hasU32After(z, sum, 2)) throw fail('integrity', 'image data fails its Adler-32 checksum');
  return out;
}

/** Undoes the per-row filters in place; `bpp` is bytes per complete pixel, at least 1. */
function unfilter(raw: Uint8Array, base: number, rows: number, rowBytes: number, bpp: number, fail: Fail): void {
  const zeros = new Uint8Array(rowBytes);
  for (let y = 0; y < rows; y++) {
    const at = base + y * (rowBytes + 1);
    const s = at + 1;
    // The row above, or zeros for the first row of a pass.
    const up = y === 0 ? zeros : raw;
    const u = y === 0 ? 0 : s - rowBytes - 1;
    switch (raw[at]) {
      case 0:
        break;
      case 1:
        for (let i = bpp; i < rowBytes; i++) raw[s + i] += raw[s + i - bpp];
        break;
      case 2:
        for (let i = 0; i < rowBytes; i++) raw[s + i] += up[u + i];
        break;
      case 3:
        for (let i = 0; i < bpp; i++) raw[s + i] += up[u + i] >> 1;
        for (let i = bpp; i < rowBytes; i++) raw[s + i] += (raw[s + i - bpp] + up[u + i]) >> 1;
        break;
      case 4:
        for (let i = 0; i < bpp; i++) raw[s + i] += up[u + i];
        for (let i = bpp; i < rowBytes; i++) raw[s + i] += paeth(raw[s + i - bpp], up[u + i], up[u + i - bpp]);
        break;
      default:
        throw fail('invalid-input', `unknown filter type ${raw[at]} at row ${y}`);
    }
  }
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Turns unfiltered rows into 8-bit output pixels: palette, tRNS and bit depth resolved. */
class Pixels {
  readonly channels: 1 | 2 | 3 | 4;
  private readonly samples: number;
  private readonly lut?: Uint8Array; // palette as RGBA, 256 entries
  private readonly entries: number;
  private readonly key?: number[]; // tRNS colour key, in sample units

  constructor(
    private readonly h: Header,
    palette: Uint8Array | undefined,
    trns: Uint8Array | undefined,
    private readonly fail: Fail,
  ) {
    this.samples = COLOR_TYPES[h.colorType].samples;
    this.entries = palette ? palette.length / 3 : 0;
    if (h.colorType === 3) {
      if (trns && trns.length > this.entries) {
        throw fail('invalid-input', `tRNS has ${trns.length} entries for a palette of ${this.entries}`);
      }
      const lut = new Uint8Array(256 * 4).fill(255);
      for (let i = 0; i < this.entries; i++) {
        lut.set(palette!.subarray(i * 3, i * 3 + 3), i * 4);
        if (trns && i < trns.length) lut[i * 4 + 3] = trns[i];
      }
      this.lut = lut;
      this.channels = trns ? 4 : 3;
    } else {
      // A colour key is only defined for gray and RGB; for types with alpha tRNS is ignored.
      if (trns && (h.colorType === 0 || h.colorType === 2)) {
        if (trns.length !== this.samples * 2) {
          throw fail('invalid-input', `tRNS of ${trns.length} bytes for colour type ${h.colorType}`);
        }
        this.key = Array.from({ length: this.samples }, (_, i) => (trns[i * 2] << 8) | trns[i * 2 + 1]);
      }
      this.channels = (this.samples + (this.key ? 1 : 0)) as 1 | 2 | 3 | 4;
    }
  }

  emitRow(raw: Uint8Array, s: number, n: number, out: Uint8Array, o: number, step: number): void {
    const { bitDepth } = this.h;
    const { samples, key, lut } = this;
    if (bitDepth === 8 && !lut && !key && step === samples) {
      out.set(raw.subarray(s, s + n * samples), o); // the common case: already 8-bit HWC
      return;
    }
    const mask = (1 << Math.min(bitDepth, 8)) - 1;
    for (let i = 0; i < n; i++, o += step) {
      if (lut) {
        const index = packed(raw, s, i, bitDepth, mask);
        if (index >= this.entries) throw this.fail('invalid-input', `pixel uses palette entry ${index} of ${this.entries}`);
        for (let c = 0; c < this.channels; c++) out[o + c] = lut[index * 4 + c];
      } else if (bitDepth < 8) {
        const v = packed(raw, s, i, bitDepth, mask);
        out[o] = (v * 255) / mask; // 1, 2, 4 bits scale by 255, 85, 17: exact
        if (key) out[o + 1] = v === key[0] ? 0 : 255;
      } else {
        const bytes = bitDepth >> 3;
        const p = s + i * samples * bytes;
        let opaque = false;
        for (let c = 0; c < samples; c++) {
          out[o + c] = raw[p + c * bytes]; // 16-bit: the high byte
          if (key) opaque ||= (bytes === 2 ? (raw[p + c * 2] << 8) | raw[p + c * 2 + 1] : raw[p + c]) !== key[c];
        }
        if (key) out[o + samples] = opaque ? 255 : 0;
      }
    }
  }
}

/** Sample i of a row of samples of 1, 2, 4 or 8 bits, packed most significant bits first. */
function packed(raw: Uint8Array, s: number, i: number, bitDepth: number, mask: number): number {
  const bit = i * bitDepth;
  return (raw[s + (bit >> 3)] >> (8 - bitDepth - (bit & 7))) & mask;
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function readU32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

function readType(b: Uint8Array, at: number): string {
  return String.fromCharCode(b[at], b[at + 1], b[at + 2], b[at + 3]);
}

/** Whether big-endian `value` is at some offset >= `from` of `b`. */
function hasU32After(b: Uint8Array, value: number, from: number): boolean {
  for (let at = b.length - 4; at >= from; at--) if (readU32(b, at) === value) return true;
  return false;
}

function adler32(b: Uint8Array): number {
  let a = 1;
  let s = 0;
  // 5552 (zlib's NMAX): the most bytes before the sums could pass 2^32, so reduce that often.
  for (let i = 0; i < b.length; ) {
    const end = Math.min(i + 5552, b.length);
    for (; i < end; i++) {
      a += b[i];
      s += a;
    }
    a %= 65521;
    s %= 65521;
  }
  return ((s << 16) | a) >>> 0;
}
