import { Loader, type Dataset, type TensorMeta } from '../index.js';

/** One sample as the grid draws it: 8-bit pixels, row by row, and its class when the dataset has one. */
export interface Thumb {
  id: number;
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
  label?: number;
}

/** Images of varying size (JPEG or PNG photos) become centred squares of this side. */
export const FIT_PX = 96;

/**
 * The pixels (and labels) of `ids`, in that order, through a Loader: it reads only the chunks that
 * hold them, each once. Images of one shape come as they are; photos of any size are fitted to
 * FIT_PX squares, a JPEG decoded at the smallest DCT scale that still covers its square.
 */
export async function loadThumbs(ds: Dataset, ids: Uint32Array, image: string, label?: string): Promise<Thumb[]> {
  const t = ds.tensor(image);
  const fit = t.shape.some((d) => d === null);
  const { width, height, channels, at } = geometry(t, fit);
  const size = width * height * channels;
  const byId = new Map<number, Thumb>();
  const loader = new Loader(ds.view({ indices: ids }), {
    batchSize: Math.max(1, ids.length),
    tensors: label ? [image, label] : [image],
    ...(fit && { transform: { [image]: { fit: { size: [FIT_PX, FIT_PX] } } } }),
  });
  // ids may come in a query's order; a view's are ascending, so they are matched back by id.
  for await (const b of loader) {
    const values = b.tensors[image] as ArrayLike<number>;
    const labels = label ? (b.tensors[label] as ArrayLike<number>) : undefined;
    b.ids.forEach((id, row) => {
      const data = new Uint8Array(size);
      // 8-bit images (and fitted ones, 0..255 as floats) as they are; any other values stretched to 0..255.
      const [lo, hi] = t.dtype === 'uint8' ? [0, 255] : range(values, row * size, size);
      const scale = hi > lo ? 255 / (hi - lo) : 0;
      for (let y = 0, o = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < channels; c++) data[o++] = Math.round((values[row * size + at(y, x, c)] - lo) * scale);
      byId.set(id, { id, width, height, channels, data, label: labels?.[row] });
    });
  }
  return Array.from(ids, (id) => byId.get(id)!);
}

/** Width, height, channels and where pixel (y, x, c) lies in a sample: HWC, or CHW when the tensor says so. */
function geometry(t: TensorMeta, fit: boolean): { width: number; height: number; channels: number; at: (y: number, x: number, c: number) => number } {
  if (t.layout === 'CHW' && t.shape.length === 3 && !fit) {
    const [channels, height, width] = t.shape as number[];
    return { width, height, channels, at: (y, x, c) => (c * height + y) * width + x };
  }
  const [height, width, channels = 1] = fit ? [FIT_PX, FIT_PX, t.shape[2] ?? 3] : (t.shape as number[]);
  return { width, height, channels, at: (y, x, c) => (y * width + x) * channels + c };
}

function range(values: ArrayLike<number>, from: number, length: number): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = from; i < from + length; i++) {
    lo = Math.min(lo, values[i]);
    hi = Math.max(hi, values[i]);
  }
  return [lo, hi];
}
