// The layout a transform gives: [H, W, C] by default, [C, H, W] with toCHW or augment, and
// [H, W, C] again with augment and toCHW: false (channels-last models, TF.js's).
import { describe, expect, it } from 'vitest';
import type { AugmentOp } from '../../../src/kernels/index.js';
import type { TensorMeta } from '../../../src/format/manifest.js';
import { batchArray, Loader, type TensorTransform } from '../../../src/index.js';
import { CpuBatchTransform } from '../../../src/runtime/loader/transform.js';
import { mulberry32 } from '../../support/random.js';
import { pngFolder } from '../../support/image-folder.js';

const { ds } = await pngFolder(); // RGB photos of many sizes
const fit = { size: [6, 4] as [number, number] };

async function firstBatch(transform: TensorTransform): Promise<Float32Array> {
  for await (const b of new Loader(ds.view(), { batchSize: 3, tensors: ['image'], transform: { image: { fit, scale: 1 / 255, ...transform } } })) return batchArray(b, 'image', Float32Array);
  throw new Error('no batch');
}

/** [n, H, W, C] pixels as [n, C, H, W] planes. */
function toPlanes(pixels: Float32Array, n: number, plane: number, c: number): Float32Array {
  const planes = new Float32Array(pixels.length);
  for (let s = 0; s < n; s++) for (let k = 0; k < c; k++) for (let p = 0; p < plane; p++) planes[(s * c + k) * plane + p] = pixels[(s * plane + p) * c + k];
  return planes;
}

describe('a transform lays samples out as asked', () => {
  it('augment gives [C, H, W] planes, and with toCHW: false [H, W, C] pixels, as without augment', async () => {
    const pixels = await firstBatch({});
    const keep: TensorTransform = { augment: [{ op: 'flip', p: 0 }] }; // changes nothing but the layout
    expect(await firstBatch({ toCHW: false, ...keep })).toEqual(pixels);
    expect(await firstBatch(keep)).toEqual(toPlanes(pixels, 3, 24, 3));
    expect(await firstBatch({ toCHW: true })).toEqual(toPlanes(pixels, 3, 24, 3));
  });
});

describe('augmentation acts on scaled values; mean and std come last (torchvision, DALI, TF.js order)', () => {
  const [mean, std] = [[0.485, 0.456, 0.406], [0.229, 0.224, 0.225]]; // ImageNet's
  const [h, w] = [16, 12];
  const random = mulberry32(12345);
  const pixels = Uint8Array.from({ length: h * w * 3 }, () => Math.floor(random() * 256)); // one [H, W, 3] sample
  const meta = { htype: 'image', dtype: 'uint8', shape: [h, w, 3], sampleCompression: 'none', chunkCompression: 'none', chunks: [] } as TensorMeta;
  /** The [3, H, W] planes of the sample, scale 1 / 255, normalized, augmented by `augment`. */
  const transformed = async (augment: AugmentOp[]) => {
    const t = new CpuBatchTransform({ image: meta }, { image: { scale: 1 / 255, mean, std, augment } }, 0, 7);
    return (await t.apply({ image: pixels }, Uint32Array.of(3))).image as Float32Array;
  };
  /** Pixel p's channel k in [0, 1], and a [0, 1] value normalized as torchvision's Normalize. */
  const scaled = (p: number, k: number) => pixels[p * 3 + k] / 255;
  const normalize = (v: number, k: number) => (v - mean[k]) / std[k];
  const expectPlanes = (out: Float32Array, value: (p: number, k: number) => number) => {
    for (let k = 0; k < 3; k++) for (let p = 0; p < h * w; p++) expect(out[k * h * w + p], `channel ${k}, pixel ${p}`).toBeCloseTo(normalize(value(p, k), k), 5);
  };

  it('brightness multiplies [0, 1] values: black stays black', async () => {
    expectPlanes(await transformed([{ op: 'colorJitter', brightness: [1.5, 1.5] }]), (p, k) => scaled(p, k) * 1.5);
  });

  it('saturation 0 gives the gray of the [0, 1] pixel on every channel', async () => {
    const gray = (p: number) => 0.2989 * scaled(p, 0) + 0.587 * scaled(p, 1) + 0.114 * scaled(p, 2);
    expectPlanes(await transformed([{ op: 'colorJitter', saturation: [0, 0] }]), (p) => gray(p));
  });

  it("rotate's fill and cutout's value are [0, 1] values: 0 is black, not the mean colour", async () => {
    const corners = [0, w - 1, (h - 1) * w, h * w - 1];
    for (const fill of [0, 1]) {
      const out = await transformed([{ op: 'rotate', degrees: [45, 45], fill }]);
      for (let k = 0; k < 3; k++) for (const p of corners) expect(out[k * h * w + p]).toBeCloseTo(normalize(fill, k), 5);
    }
    const erased = await transformed([{ op: 'cutout', p: 1, value: 0 }]);
    const black = (p: number) => [0, 1, 2].every((k) => Math.abs(erased[k * h * w + p] - normalize(0, k)) < 1e-5);
    const kept = (p: number) => [0, 1, 2].every((k) => Math.abs(erased[k * h * w + p] - normalize(scaled(p, k), k)) < 1e-5);
    const blacks = Array.from({ length: h * w }, (_, p) => p).filter(black).length;
    expect(blacks).toBeGreaterThan(0);
    for (let p = 0; p < h * w; p++) expect(black(p) || kept(p), `pixel ${p}`).toBe(true);
  });

  it("noise's std is in [0, 1] units: after Normalize it is std / std[k] on channel k", async () => {
    const noisy = await transformed([{ op: 'noise', std: 0.05 }]);
    for (let k = 0; k < 3; k++) {
      const deltas = Array.from({ length: h * w }, (_, p) => noisy[k * h * w + p] - normalize(scaled(p, k), k));
      const spread = Math.sqrt(deltas.reduce((a, d) => a + d * d, 0) / deltas.length);
      expect(spread / (0.05 / std[k])).toBeGreaterThan(0.85);
      expect(spread / (0.05 / std[k])).toBeLessThan(1.15);
    }
  });
});
