// The fit: images of any size into one size, a box of each resized (src/kernels/fit), on either path.
import { EdgelakeError } from '../../errors.js';
import type { TensorMeta } from '../../format/manifest.js';
import type { Range } from '../../kernels/augment/index.js';
import { fitBox, MAX_FIT_OUTPUT, packImages, type FitBox, type FitCrop, type FitOptions } from '../../kernels/fit/index.js';
import type { TypedArray } from '../dataset/batch.js';

/**
 * How each image becomes `size` [height, width]: a box of it is resized (area average when
 * shrinking, bilinear when enlarging; src/kernels/fit). 'center' (the default) takes the largest
 * centred box of the output's aspect ratio, as Resize + CenterCrop; 'random' draws torchvision's
 * RandomResizedCrop box (area fraction `scale`, aspect ratio `ratio`) per sample and epoch.
 */
export interface FitTransform {
  size: Range;
  crop?: 'center' | 'random';
  scale?: Range;
  ratio?: Range;
}

/** The fit's boxes as plain data (decode workers choose a JPEG's scale from them), keyed by (seed, epoch, sample id). */
export function fitCrop(fit: FitTransform, seed: number, epoch: number): FitCrop {
  return { size: [fit.size[0], fit.size[1]], crop: fit.crop ?? 'center', ...(fit.scale && { scale: fit.scale }), ...(fit.ratio && { ratio: fit.ratio }), seed, epoch };
}

/**
 * Whether, on a device, this tensor's samples come from the decode workers as JPEG coefficients
 * (the entropy-decoded file) for GpuBatchTransform to reconstruct and fit on the device.
 */
export function jpegOnDevice(meta: TensorMeta, fit: FitTransform | undefined): boolean {
  return meta.sampleCompression === 'jpeg' && fit !== undefined;
}

/**
 * A batch's fit: output size, channels and each sample's box, given each one's [h, w, c], and
 * the boxes the decode workers chose (x, y, w, h each) when they decoded with the fit's crop.
 */
export type FitPlanner = (shapes: Uint32Array, ids: Uint32Array, epoch: number, given?: Uint32Array) => { channels: number; width: number; height: number; boxes: FitBox[] };

/** Checks a tensor's fit against its images and returns its planner; errors name the tensor. */
export function prepareFit(name: string, meta: TensorMeta, fit: FitTransform, seed: number): FitPlanner {
  const channels = meta.shape[2];
  if (meta.dtype !== 'uint8' || meta.shape.length !== 3 || (channels !== 1 && channels !== 3)) {
    throw new EdgelakeError('invalid-input', `tensor ${name}: fit needs uint8 [H, W, 1 or 3] images, not ${meta.dtype} [${meta.shape.join(', ')}]`);
  }
  const [height, width] = fit.size ?? [];
  const side = (v: unknown) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= MAX_FIT_OUTPUT;
  if (fit.size?.length !== 2 || !side(height) || !side(width)) {
    throw new EdgelakeError('invalid-input', `tensor ${name}: fit.size must be [height, width], integers in 1..${MAX_FIT_OUTPUT}, got ${JSON.stringify(fit.size)}`);
  }
  const crop = fit.crop ?? 'center';
  if (crop !== 'center' && crop !== 'random') throw new EdgelakeError('invalid-input', `tensor ${name}: fit.crop must be 'center' or 'random', not '${String(crop)}'`);
  return (shapes, ids, epoch, given) => {
    const crops = fitCrop(fit, seed, epoch);
    const boxes = Array.from(ids, (id, i) => (given
      ? { x: given[4 * i], y: given[4 * i + 1], w: given[4 * i + 2], h: given[4 * i + 3] }
      : fitBox(crops, shapes[3 * i + 1], shapes[3 * i], id)));
    return { channels, width, height, boxes };
  };
}

/** Per sample [h, w, c]: as the loader reported them, else the tensor's fixed shape. */
function sampleShapes(meta: TensorMeta, n: number, given: Uint32Array | undefined): Uint32Array {
  if (given) return given;
  const shapes = new Uint32Array(3 * n);
  for (let i = 0; i < n; i++) shapes.set(meta.shape as number[], 3 * i);
  return shapes;
}

/** Each sample's bytes: the list, or views into a batch stacked because its samples had one size. */
export function samplesOf(raw: TypedArray | Uint8Array[], n: number): Uint8Array[] {
  if (Array.isArray(raw)) return raw;
  const size = raw.byteLength / n;
  return Array.from({ length: n }, (_, i) => new Uint8Array(raw.buffer, raw.byteOffset + i * size, size));
}

/** The batch's images one after another (each at a 4-byte boundary) and the fit's sample table. */
export function fitInput(
  fit: FitPlanner, meta: TensorMeta, raw: TypedArray | Uint8Array[], ids: Uint32Array, epoch: number, given: { shapes?: Uint32Array; boxes?: Uint32Array } = {},
): { bytes: Uint8Array; options: FitOptions } {
  const images = samplesOf(raw, ids.length);
  const shapes = sampleShapes(meta, ids.length, given.shapes);
  const { boxes, ...options } = fit(shapes, ids, epoch, given.boxes);
  const { bytes, offsets } = packImages(images);
  const samples = boxes.map((box, i) => ({ offset: offsets[i], height: shapes[3 * i], width: shapes[3 * i + 1], box }));
  return { bytes, options: { ...options, samples } };
}
