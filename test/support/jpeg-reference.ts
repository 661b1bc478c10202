import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { FOUR_COMPONENTS, type TestsetEntry } from '../../scripts/jpeg-testset.js';

export interface Decoded {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

/** djpeg's default decode of `file` at 1/scale (PPM or PGM samples). */
export function djpeg(file: string, scale = 1): Decoded {
  const bytes = execFileSync('djpeg', ['-scale', `1/${scale}`, '-pnm', file], { maxBuffer: 1 << 30 });
  const header = /^P([56])\s+(\d+)\s+(\d+)\s+255\s/.exec(bytes.subarray(0, 40).toString('latin1'))!;
  return { width: Number(header[2]), height: Number(header[3]), channels: header[1] === '6' ? 3 : 1, data: bytes.subarray(header[0].length) };
}

/**
 * What a decoder must make of a test-set file (in `dir`) at 1/scale: djpeg's decode, but for CMYK
 * without an Adobe marker, whose inks djpeg's PPM writer reads as Adobe's inverted values: there,
 * R = (255 - C)(255 - K) / 255 rounded, from djpeg's decodes of its parts (which hold its samples).
 */
export function expectedPixels(dir: string, entry: TestsetEntry, scale = 1): Decoded {
  const whole = djpeg(join(dir, entry.file), scale);
  const four = Object.entries(FOUR_COMPONENTS).find(([name]) => entry.file.endsWith(`-${name}.jpg`))?.[1];
  if (!four || four.adobeTransform !== undefined) return whole;
  const [cmy, k] = entry.parts!.map((part) => djpeg(join(dir, part), scale).data);
  const data = whole.data.map((_, i) => Math.floor(((255 - cmy[i]) * (255 - k[Math.floor(i / 3)])) / 255 + 0.5));
  return { ...whole, data };
}
