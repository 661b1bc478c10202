import { EdgelakeError } from '../../errors.js';
import { uniform } from '../random/random.js';
import type { FitBox } from './plan.js';

/**
 * Crop boxes chosen on the CPU, per sample, for the fit kernel's table.
 *
 * Keyed randomness: fitRandom(seed, epoch, id) is the stream uniform(seed, epoch, id, FIT_DRAW + k),
 * k = 0, 1, ..., so a sample gets the same box every time in an epoch, on any worker. FIT_DRAW
 * (1.5 * 2^30) sits between the augment family's ranges (ops below 2^14, mixup at 2^30 + batch
 * position, noise from 2^31), so a box never reuses an augmentation's draw.
 */
export const FIT_DRAW = 3 * 2 ** 29;

/**
 * The largest box of the output's aspect ratio, centred: what Resize(shorter side) + CenterCrop
 * approximates. The box's free side is rounded to nearest (halves up); its offset is
 * floor(margin / 2), so an odd margin leaves its extra pixel on the right or bottom.
 */
export function centerBox(width: number, height: number, outW: number, outH: number): FitBox {
  checkSizes('centerBox', { width, height, outW, outH });
  if (width * outH >= height * outW) {
    const w = Math.min(width, Math.max(1, Math.floor((2 * height * outW + outH) / (2 * outH))));
    return { x: Math.floor((width - w) / 2), y: 0, w, h: height };
  }
  const h = Math.min(height, Math.max(1, Math.floor((2 * width * outH + outW) / (2 * outW))));
  return { x: 0, y: Math.floor((height - h) / 2), w: width, h };
}

/**
 * torchvision's RandomResizedCrop.get_params: up to 10 tries of an area fraction in `scale` and a
 * log-uniform aspect ratio (w / h) in `ratio`, rounded half to even as Python's round; the first
 * that fits is placed uniformly (top, then left). Then the fallback: the whole image, cut to the
 * nearest ratio in range, centred. Draws from `random` in order: area, ratio per try, then top, left.
 */
export function randomResizedBox(
  width: number,
  height: number,
  random: () => number,
  scale: readonly [number, number] = [0.08, 1],
  ratio: readonly [number, number] = [3 / 4, 4 / 3],
): FitBox {
  checkSizes('randomResizedBox', { width, height });
  checkRange('scale', scale);
  checkRange('ratio', ratio);
  const area = width * height;
  const [logLo, logHi] = [Math.log(ratio[0]), Math.log(ratio[1])];
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * (scale[0] + random() * (scale[1] - scale[0]));
    const aspect = Math.exp(logLo + random() * (logHi - logLo));
    const w = roundHalfEven(Math.sqrt(target * aspect));
    const h = roundHalfEven(Math.sqrt(target / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const y = Math.floor(random() * (height - h + 1));
      return { x: Math.floor(random() * (width - w + 1)), y, w, h };
    }
  }
  let [w, h] = [width, height];
  if (width / height < ratio[0]) h = Math.max(1, roundHalfEven(width / ratio[0]));
  else if (width / height > ratio[1]) w = Math.max(1, roundHalfEven(height * ratio[1]));
  return { x: Math.floor((width - w) / 2), y: Math.floor((height - h) / 2), w, h };
}

/**
 * How a fit chooses each sample's box, as plain data (it travels to decode workers, which pick a
 * JPEG's decoding scale from the box): the output size [height, width], the crop, and for
 * 'random' the RandomResizedCrop ranges and the keys of its draws.
 */
export interface FitCrop {
  size: readonly [number, number];
  crop: 'center' | 'random';
  scale?: readonly [number, number];
  ratio?: readonly [number, number];
  seed: number;
  epoch: number;
}

/** Sample `id`'s box on its width x height image. */
export function fitBox(c: FitCrop, width: number, height: number, id: number): FitBox {
  return c.crop === 'center' ? centerBox(width, height, c.size[1], c.size[0]) : randomResizedBox(width, height, fitRandom(c.seed, c.epoch, id), c.scale, c.ratio);
}

/**
 * The largest libjpeg scale denominator N (1, 2, 4, 8) at which `box` still covers the output
 * size: decoding at 1/N then loses nothing the fit keeps, and does N^2 less work.
 */
export function boxScale(box: FitBox, size: readonly [number, number]): 1 | 2 | 4 | 8 {
  for (const n of [8, 4, 2] as const) if (Math.floor(box.w / n) >= size[1] && Math.floor(box.h / n) >= size[0]) return n;
  return 1;
}

/** `box` of an image, on the same image decoded at 1/scale to width x height: the covered pixels, at least one. */
export function scaleBox(box: FitBox, scale: number, width: number, height: number): FitBox {
  const x = Math.min(Math.floor(box.x / scale), width - 1);
  const y = Math.min(Math.floor(box.y / scale), height - 1);
  const w = Math.max(1, Math.min(Math.round(box.w / scale), width - x));
  const h = Math.max(1, Math.min(Math.round(box.h / scale), height - y));
  return { x, y, w, h };
}

/** The draws of sample `id` in `epoch` under `seed`, for randomResizedBox: [0, 1), 32 bits each. */
export function fitRandom(seed: number, epoch: number, id: number): () => number {
  for (const [name, value] of Object.entries({ seed, epoch, id })) {
    if (!Number.isInteger(value) || value < 0 || value >= 2 ** 32) {
      throw new EdgelakeError('invalid-input', `fitRandom: ${name} must be an integer in [0, 2^32), got ${value}`);
    }
  }
  let k = 0;
  return () => uniform(seed, epoch, id, FIT_DRAW + k++);
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function checkSizes(where: string, sizes: Record<string, number>): void {
  for (const [name, value] of Object.entries(sizes)) {
    if (!Number.isInteger(value) || value < 1) throw new EdgelakeError('invalid-input', `${where}: ${name} must be a positive integer, got ${value}`);
  }
}

function checkRange(name: string, range: readonly number[]): void {
  if (!Array.isArray(range) || range.length !== 2 || !range.every((v) => Number.isFinite(v) && v > 0) || range[0] > range[1]) {
    throw new EdgelakeError('invalid-input', `randomResizedBox: ${name} must be [lo, hi] with 0 < lo <= hi, got ${JSON.stringify(range)}`);
  }
}
