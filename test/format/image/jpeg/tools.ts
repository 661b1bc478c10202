// What the JPEG decoder's tests share: libjpeg-turbo's tools (cjpeg, djpeg, jpegtran) run on
// bytes in memory, small inputs made from the mate-backgrounds photos or from a seed, and a way to
// splice marker segments into a file.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { mulberry32 } from '../../../support/random.js';
import { hasCommand, missing } from '../../../support/system.js';

export const MATE = '/usr/share/backgrounds/mate';

/** True (and a line saying why) when libjpeg-turbo's tools or the photos are not installed. */
export const noTools = (photos: string[] = []) =>
  missing('cjpeg, djpeg and jpegtran', 'apt-get install libjpeg-turbo-progs', ['cjpeg', 'djpeg', 'jpegtran'].every(hasCommand)) ||
  missing('JPEG photos', 'apt-get install mate-backgrounds', photos.every((p) => existsSync(join(MATE, p))));

/** Runs a tool on bytes; exit status 2 (libjpeg's "finished with warnings", e.g. corrupt data) is fine. */
function run(tool: string, args: string[], input: Uint8Array): Uint8Array {
  const done = spawnSync(tool, args, { input, maxBuffer: 1 << 30 });
  if (done.status !== 0 && done.status !== 2) throw new Error(`${tool} ${args.join(' ')}: ${done.stderr}`);
  return new Uint8Array(done.stdout);
}

export const cjpeg = (pnm: Uint8Array, args: string[]) => run('cjpeg', args, pnm);
export const jpegtran = (jpeg: Uint8Array, args: string[]) => run('jpegtran', args, jpeg);
export const djpeg = (jpeg: Uint8Array, args: string[]) => readPnm(run('djpeg', [...args, '-pnm'], jpeg));

export interface Pnm {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

/** A photo of the package as PPM, shrunk by djpeg (1/2 .. 1/8) so tests stay fast. */
export const photoPnm = (photo: string, scale: string): Uint8Array =>
  new Uint8Array(execFileSync('djpeg', ['-scale', scale, '-pnm', join(MATE, photo)], { maxBuffer: 1 << 30 }));

/** A seeded PPM of smooth gradients with noise: something worth compressing at any size. */
export function syntheticPnm(width: number, height: number, seed: number): Uint8Array {
  const random = mulberry32(seed);
  const header = new TextEncoder().encode(`P6\n${width} ${height}\n255\n`);
  const out = new Uint8Array(header.length + width * height * 3);
  out.set(header);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = header.length + (y * width + x) * 3;
      out[i] = (x * 7 + y * 3 + random() * 40) & 255;
      out[i + 1] = (128 + 100 * Math.sin(x / 5) + random() * 20) & 255;
      out[i + 2] = (y * 11 + random() * 60) & 255;
    }
  }
  return out;
}

/** Reads the binary PGM (P5) or PPM (P6) that djpeg writes. */
export function readPnm(b: Uint8Array): Pnm {
  const fields: string[] = [];
  let pos = 0;
  const space = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
  while (fields.length < 4) {
    while (space(b[pos])) pos++;
    const start = pos;
    while (!space(b[pos])) pos++;
    fields.push(String.fromCharCode(...b.subarray(start, pos)));
  }
  const [magic, width, height] = fields;
  return { width: +width, height: +height, channels: magic === 'P5' ? 1 : 3, data: b.subarray(pos + 1) };
}

/** The marker segments before the first scan: marker code, where it starts (its 0xFF) and ends. */
export function segments(b: Uint8Array): { marker: number; start: number; end: number }[] {
  const out = [];
  for (let pos = 2; pos + 4 <= b.length; ) {
    const marker = b[pos + 1];
    const end = pos + 2 + ((b[pos + 2] << 8) | b[pos + 3]);
    out.push({ marker, start: pos, end });
    if (marker === 0xda) break;
    pos = end;
  }
  return out;
}

/** The first segment with this marker. */
export function segment(b: Uint8Array, marker: number): { start: number; end: number } {
  const s = segments(b).find((x) => x.marker === marker);
  if (!s) throw new Error(`no marker 0x${marker.toString(16)} in the test file`);
  return s;
}

/** A copy of `b` with `insert` put at byte `at` in place of the `remove` bytes there. */
export function splice(b: Uint8Array, at: number, remove: number, insert: ArrayLike<number> = []): Uint8Array {
  const out = new Uint8Array(b.length - remove + insert.length);
  out.set(b.subarray(0, at));
  out.set(insert, at);
  out.set(b.subarray(at + remove), at + insert.length);
  return out;
}

/** A marker segment: 0xFF, the code, the length, the payload. */
export function markerSegment(marker: number, payload: ArrayLike<number>): Uint8Array {
  const length = payload.length + 2;
  return Uint8Array.from([0xff, marker, length >> 8, length & 255, ...Array.from(payload)]);
}

/** An APP1 EXIF segment: a TIFF header and IFD0 of two entries, Make and then Orientation. */
export function exif(order: 'II' | 'MM', orientation: number): Uint8Array {
  const little = order === 'II';
  const bytes: number[] = [];
  const u16 = (v: number) => bytes.push(...(little ? [v & 255, v >> 8] : [v >> 8, v & 255]));
  const u32 = (v: number) => (little ? (u16(v & 0xffff), u16(v >>> 16)) : (u16(v >>> 16), u16(v & 0xffff)));
  bytes.push(...new TextEncoder().encode('Exif\0\0'), order.charCodeAt(0), order.charCodeAt(1));
  u16(42);
  u32(8); // IFD0 right after the 8-byte header
  u16(2);
  u16(0x010f); // Make, ASCII, 4 bytes held in the value field
  u16(2);
  u32(4);
  bytes.push(0x61, 0x62, 0x63, 0);
  u16(0x0112); // Orientation, one SHORT
  u16(3);
  u32(1);
  u16(orientation);
  u16(0);
  u32(0); // no IFD1
  return markerSegment(0xe1, bytes);
}
