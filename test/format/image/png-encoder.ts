import { crc32, deflateSync } from 'node:zlib';

/**
 * A small PNG encoder for tests, written from the spec independently of src/format/image/png.ts
 * and using Node's zlib, so the decoder is checked against bytes it did not make itself.
 */
export interface PngSpec {
  width: number;
  height: number;
  colorType: 0 | 2 | 3 | 4 | 6;
  bitDepth: 1 | 2 | 4 | 8 | 16;
  /** Raw sample values, row-major, samples interleaved; palette indices for colour type 3. */
  samples: Uint16Array;
  palette?: Uint8Array; // RGB triples
  trns?: Uint8Array; // the tRNS chunk body as written
  interlaced?: boolean;
  /** Filter type for each row of each pass; by default the row number mod 5. */
  filter?: (row: number) => number;
  /** Split the zlib stream into IDAT chunks of at most this many bytes. */
  idatSize?: number;
}

export const SAMPLES_PER_PIXEL = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as const;

export function encodePng(spec: PngSpec): Uint8Array {
  const { width, height, colorType, bitDepth } = spec;
  const spp = SAMPLES_PER_PIXEL[colorType];
  const bytesPerPixel = Math.max(1, (spp * bitDepth) / 8);
  const passes = spec.interlaced
    ? [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]]
    : [[0, 0, 1, 1]];
  const rows: number[] = [];
  for (const [x0, y0, dx, dy] of passes) {
    const xs: number[] = [];
    for (let x = x0; x < width; x += dx) xs.push(x);
    if (xs.length === 0) continue;
    let previous: number[] | undefined;
    let row = 0;
    for (let y = y0; y < height; y += dy) {
      const bytes = packRow(spec, y, xs, spp);
      const type = spec.filter ? spec.filter(row) : row % 5;
      rows.push(type);
      for (const b of filterRow(type, bytes, previous ?? bytes.map(() => 0), bytesPerPixel)) rows.push(b);
      previous = bytes;
      row++;
    }
  }
  const z = deflateSync(Uint8Array.from(rows));
  const idats: Uint8Array[] = [];
  const step = spec.idatSize ?? z.length;
  for (let at = 0; at < z.length; at += step) idats.push(chunk('IDAT', z.subarray(at, at + step)));
  return png([
    ihdr(width, height, bitDepth, colorType, spec.interlaced ? 1 : 0),
    ...(spec.palette ? [chunk('PLTE', spec.palette)] : []),
    ...(spec.trns ? [chunk('tRNS', spec.trns)] : []),
    ...idats,
    chunk('IEND', new Uint8Array(0)),
  ]);
}

/** The samples of pixels xs of row y, packed most significant bit first, 16-bit big-endian. */
function packRow(spec: PngSpec, y: number, xs: number[], spp: number): number[] {
  const bits: number[] = [];
  for (const x of xs) {
    for (let c = 0; c < spp; c++) {
      const v = spec.samples[(y * spec.width + x) * spp + c];
      for (let b = spec.bitDepth - 1; b >= 0; b--) bits.push((v >> b) & 1);
    }
  }
  while (bits.length % 8) bits.push(0);
  const out: number[] = [];
  for (let i = 0; i < bits.length; i += 8) out.push(bits.slice(i, i + 8).reduce((a, b) => a * 2 + b, 0));
  return out;
}

/** Filters as the spec writes them: Filt(x) = Orig(x) - predictor(a = left, b = up, c = up-left). */
function filterRow(type: number, row: number[], up: number[], bpp: number): number[] {
  return row.map((x, i) => {
    const a = i >= bpp ? row[i - bpp] : 0;
    const b = up[i];
    const c = i >= bpp ? up[i - bpp] : 0;
    const predictor = [0, a, b, Math.floor((a + b) / 2), paethPredictor(a, b, c)][type];
    return (x - predictor + 256) % 256;
  });
}

function paethPredictor(a: number, b: number, c: number): number {
  const estimate = a + b - c;
  const distances = [a, b, c].map((v) => Math.abs(estimate - v));
  const nearest = Math.min(...distances);
  return [a, b, c][distances.indexOf(nearest)]; // ties go to a, then b
}

export function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(Buffer.from(type, 'latin1'), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

export function png(chunks: Uint8Array[]): Uint8Array {
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), ...chunks]);
}

export function ihdr(width: number, height: number, bitDepth: number, colorType: number, interlace = 0): Uint8Array {
  const data = new Uint8Array(13);
  const view = new DataView(data.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  data.set([bitDepth, colorType, 0, 0, interlace], 8);
  return chunk('IHDR', data);
}

/** A seeded PRNG (mulberry32): integers in [0, n). */
export function random(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * n);
  };
}
