import { execFileSync } from 'node:child_process';

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

