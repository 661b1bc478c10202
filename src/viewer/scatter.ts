import { halfToFloat } from '../kernels/index.js';
import { Loader, type Dataset } from '../index.js';
import { classColour } from './palette.js';
import type { Pca2d } from './pca.js';

/** At most this many samples, spread evenly over the dataset, make the scatter. */
export const MAX_POINTS = 100_000;

/** An embedding tensor's real values (dequantized), one row per sample, and each sample's class. */
export interface Embeddings {
  rows: Float32Array;
  dim: number;
  labels?: Int32Array;
}

/** Reads the embedding tensor (and the labels) of up to MAX_POINTS samples: the probe's chunks, no image. */
export async function loadEmbeddings(ds: Dataset, name: string, label?: string): Promise<Embeddings> {
  const t = ds.tensor(name);
  const dim = (t.shape as number[]).reduce((a, d) => a * d, 1);
  const step = Math.max(1, ds.length / MAX_POINTS);
  const ids = Array.from({ length: Math.min(ds.length, MAX_POINTS) }, (_, i) => Math.floor(i * step));
  const rows = new Float32Array(ids.length * dim);
  const labels = label ? new Int32Array(ids.length) : undefined;
  const { scale = [1], zeroPoint = [0] } = t.quant ?? {};
  let at = 0;
  for await (const b of new Loader(ds.view({ indices: ids }), { batchSize: 8192, tensors: label ? [name, label] : [name] })) {
    const values = b.tensors[name] as ArrayLike<number>;
    for (let i = 0; i < b.ids.length * dim; i++) {
      const c = i % dim;
      const q = t.dtype === 'float16' ? halfToFloat(values[i]) : values[i];
      // real value = scale * (q - zeroPoint), per channel or for the whole tensor (FORMAT.md)
      rows[at * dim + i] = t.quant ? (scale[c] ?? scale[0]) * (q - (zeroPoint[c] ?? zeroPoint[0])) : q;
    }
    if (labels) labels.set(b.tensors[label!] as Int32Array, at);
    at += b.ids.length;
  }
  return { rows, dim, labels };
}

/** The points on `canvas`, coloured by class, the first axis across; axes scaled to fit with a margin. */
export function drawScatter(canvas: HTMLCanvasElement, pca: Pca2d, labels?: Int32Array): void {
  const ctx = canvas.getContext('2d')!;
  const { width, height } = canvas;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, width, height);
  const n = pca.points.length / 2;
  if (n === 0) return;
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (let i = 0; i < n; i++) {
    x0 = Math.min(x0, pca.points[2 * i]);
    x1 = Math.max(x1, pca.points[2 * i]);
    y0 = Math.min(y0, pca.points[2 * i + 1]);
    y1 = Math.max(y1, pca.points[2 * i + 1]);
  }
  const margin = 8;
  const sx = (width - 2 * margin) / (x1 - x0 || 1);
  const sy = (height - 2 * margin) / (y1 - y0 || 1);
  ctx.globalAlpha = Math.min(1, Math.max(0.3, 2000 / n)); // dense clouds stay readable
  // One fillStyle change per class, not per point.
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const c = labels?.[i] ?? 0;
    let list = byClass.get(c);
    if (!list) byClass.set(c, (list = []));
    list.push(i);
  }
  for (const [c, list] of byClass) {
    ctx.fillStyle = classColour(c);
    for (const i of list) ctx.fillRect(margin + (pca.points[2 * i] - x0) * sx - 1, height - margin - (pca.points[2 * i + 1] - y0) * sy - 1, 2, 2);
  }
  ctx.globalAlpha = 1;
}
