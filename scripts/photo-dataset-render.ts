/**
 * The pixel work of scripts/photo-dataset.ts: one seeded image from a photo pyramid and a stamp,
 * and the shells that encode images with cjpeg. Integer and IEEE arithmetic only, so the same
 * inputs give the same pixels on every machine.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { createInterface } from 'node:readline';
import { resizeArea, type DecodedImage } from '../src/format/index.js';

/** Images' long side in pixels, and the aspects (long / short) they take, either way round. */
export const LONG_SIDE = [384, 768];
export const ASPECTS = [1, 5 / 4, 4 / 3, 3 / 2, 16 / 9];
/** The stamp's long side, as a fraction of the image's short side: the object is the photo's subject, the photo its setting. */
export const STAMP_SIZE = [0.7, 0.95];
/** Grain added to every pixel: a triangular distribution over -GRAIN..GRAIN levels. */
export const GRAIN = 8;
const LEVELS = ['1', '1/2', '1/4'];

export interface Rendered {
  width: number;
  height: number;
  /** The pyramid level the window was taken from, and the window's corner in it. */
  photoScale: string;
  crop: number[];
  /** Where the resized stamp went: [x, y, width, height]. */
  box: number[];
  flipped: boolean;
}

/**
 * One image: a seeded window of the photo (`pyramid`: full size, 1/2, 1/4) with the stamp
 * (premultiplied RGBA) resized, maybe mirrored, laid over it, and grain over all.
 */
export function render(pyramid: DecodedImage[], stamp: DecodedImage, random: () => number): Rendered & { image: DecodedImage } {
  const long = LONG_SIDE[0] + Math.floor(random() * (LONG_SIDE[1] - LONG_SIDE[0] + 1));
  const short = Math.round(long / ASPECTS[Math.floor(random() * ASPECTS.length)]);
  const [width, height] = random() < 0.5 ? [long, short] : [short, long];
  const fitting = pyramid.map((_, i) => i).filter((i) => pyramid[i].width >= width && pyramid[i].height >= height);
  if (fitting.length === 0) throw new Error(`a ${pyramid[0].width}x${pyramid[0].height} photo cannot hold a ${width}x${height} window`);
  const level = fitting[Math.floor(random() * fitting.length)];
  const photo = pyramid[level];
  const crop = [Math.floor(random() * (photo.width - width + 1)), Math.floor(random() * (photo.height - height + 1))];
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const from = ((crop[1] + y) * photo.width + crop[0]) * 3;
    data.set(photo.data.subarray(from, from + width * 3), y * width * 3);
  }

  const size = (Math.min(width, height) * (STAMP_SIZE[0] + (STAMP_SIZE[1] - STAMP_SIZE[0]) * random())) / Math.max(stamp.width, stamp.height);
  const [sw, sh] = [Math.max(1, Math.round(stamp.width * size)), Math.max(1, Math.round(stamp.height * size))];
  const box = [Math.floor(random() * (width - sw + 1)), Math.floor(random() * (height - sh + 1)), sw, sh];
  const flipped = random() < 0.5;
  const s = resizeArea(stamp, sw, sh).data;
  for (let y = 0; y < sh; y++) {
    for (let x = 0; x < sw; x++) {
      const i = (y * sw + (flipped ? sw - 1 - x : x)) * 4;
      const o = ((box[1] + y) * width + box[0] + x) * 3;
      const keep = (255 - s[i + 3]) / 255;
      for (let c = 0; c < 3; c++) data[o + c] = Math.min(255, Math.round(s[i + c] + data[o + c] * keep));
    }
  }
  // Grain like a camera's: the wallpapers are smooth, and without it many images would encode under 10 kB.
  for (let o = 0; o < data.length; o += 3) {
    const g = Math.round((random() + random() - 1) * GRAIN);
    for (let c = 0; c < 3; c++) data[o + c] = Math.min(255, Math.max(0, data[o + c] + g));
  }
  return { image: { width, height, channels: 3, data }, width, height, photoScale: LEVELS[level], crop, box, flipped };
}

/** Half the size, each pixel the rounded mean of a 2x2 block (a last odd row or column is dropped). */
export function halve(img: DecodedImage): DecodedImage {
  const c = img.channels;
  const [width, height] = [img.width >> 1, img.height >> 1];
  const data = new Uint8Array(width * height * c);
  const row = img.width * c;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const s = 2 * y * row + 2 * x * c;
      for (let k = 0; k < c; k++) {
        const sum = img.data[s + k] + img.data[s + c + k] + img.data[s + row + k] + img.data[s + row + c + k];
        data[(y * width + x) * c + k] = (sum + 2) >> 2;
      }
    }
  }
  return { width, height, channels: c, data };
}

/** RGBA with colour multiplied by alpha, so resizing does not bleed hidden colours into edges. */
export function premultipliedRgba(img: DecodedImage): DecodedImage {
  const { width, height, channels: n, data } = img;
  const out = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    const a = n === 2 || n === 4 ? data[p * n + n - 1] : 255;
    for (let c = 0; c < 3; c++) out[p * 4 + c] = Math.round((data[p * n + (n < 3 ? 0 : c)] * a) / 255);
    out[p * 4 + 3] = a;
  }
  return { width, height, channels: 4, data: out };
}

/** A binary PPM (P6, maxval 255), as djpeg -pnm writes it for colour JPEGs. */
export function readPpm(bytes: Buffer): DecodedImage {
  const m = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(bytes.subarray(0, 32).toString('latin1'));
  if (!m) throw new Error(`djpeg wrote no P6 PPM (it starts ${JSON.stringify(bytes.subarray(0, 16).toString('latin1'))})`);
  const [width, height] = [Number(m[1]), Number(m[2])];
  return { width, height, channels: 3, data: new Uint8Array(bytes.buffer, bytes.byteOffset + m[0].length, width * height * 3) };
}

/**
 * A shell that runs cjpeg on PPM files it is sent, one line each ("quality ppm jpg"), removes
 * each PPM, and answers with cjpeg's exit status: forking a small shell is cheaper than forking node.
 */
export class CjpegShell {
  private readonly child: ChildProcessByStdio<Writable, Readable, null>;
  private readonly waiting: { jpg: string; resolve: () => void; reject: (e: Error) => void }[] = [];

  constructor() {
    const loop = 'while read -r q ppm jpg; do cjpeg -quality "$q" -optimize -outfile "$jpg" "$ppm"; s=$?; rm -f "$ppm"; echo "$s"; done';
    this.child = spawn('sh', ['-c', loop], { stdio: ['pipe', 'pipe', 'inherit'] });
    createInterface({ input: this.child.stdout }).on('line', (status) => {
      const w = this.waiting.shift()!;
      if (status === '0') w.resolve();
      else w.reject(new Error(`cjpeg failed (status ${status}) writing ${w.jpg}`));
    });
    this.child.on('exit', (code) => {
      for (const w of this.waiting.splice(0)) w.reject(new Error(`the cjpeg shell exited (${code}) before writing ${w.jpg}`));
    });
  }

  encode(quality: number, ppm: string, jpg: string): Promise<void> {
    if (/\s/.test(ppm)) throw new Error(`scratch path "${ppm}" has a space; the shell reads space-separated fields`);
    return new Promise((resolve, reject) => {
      this.waiting.push({ jpg, resolve, reject });
      this.child.stdin.write(`${quality} ${ppm} ${jpg}\n`);
    });
  }

  close(): void {
    this.child.stdin.end();
  }
}
