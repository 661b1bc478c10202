// Images of any size into fixed batches: an image-folder dataset of PNGs of many sizes, loaded
// with `fit`, gives [B, C, H, W] float32 batches: each sample's box (centred, or drawn per sample
// and epoch) resized by the fit kernel's CPU reference, then scaled and laid out channels-first.
import { describe, expect, it } from 'vitest';
import { centerBox, fitRandom, fitRef, randomResizedBox } from '../../../src/kernels/index.js';
import { Loader } from '../../../src/index.js';
import { pngFolder, SIZES } from '../../support/image-folder.js';

async function collect(loader: Loader) {
  const out: { ids: Uint32Array; image: Float32Array }[] = [];
  for await (const b of loader) out.push({ ids: b.ids, image: b.tensors.image as Float32Array });
  return out;
}

/** What sample `id` should be: its box fitted to h x w by the reference, then to [C, H, W] floats / 255. */
function expected(image: Uint8Array, [h, w]: readonly [number, number], box: { x: number; y: number; w: number; h: number }, size: readonly [number, number]) {
  const fitted = fitRef(image, { channels: 3, height: size[0], width: size[1], samples: [{ offset: 0, width: w, height: h, box }] });
  const chw = new Float32Array(fitted.length);
  const plane = size[0] * size[1];
  for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) chw[c * plane + p] = fitted[p * 3 + c] * Math.fround(1 / 255);
  return chw;
}

describe('a transform with fit', () => {
  it('gives [B, 3, H, W] batches of centred boxes from images of every size', async () => {
    const { ds, pixels } = await pngFolder();
    expect(ds.tensor('image').shape).toEqual([null, null, 3]);
    const size = [6, 10] as const;
    const batches = await collect(new Loader(ds.view(), { batchSize: 3, tensors: ['image'], transform: { image: { fit: { size }, scale: 1 / 255, toCHW: true } } }));
    expect(batches.map((b) => b.image.length)).toEqual([3, 3, 1].map((n) => n * 3 * 6 * 10));
    for (const b of batches) {
      b.ids.forEach((id, i) => {
        const [h, w] = sizeOf(pixels.get(id)!);
        const want = expected(pixels.get(id)!, [h, w], centerBox(w, h, size[1], size[0]), size);
        expect(b.image.subarray(i * want.length, (i + 1) * want.length), `sample ${id}`).toEqual(want);
      });
    }
  });

  it('draws random boxes per sample and epoch, the same again for the same epoch', async () => {
    const { ds, pixels } = await pngFolder();
    const transform = { image: { fit: { size: [4, 4] as const, crop: 'random' as const, scale: [0.2, 1] as const }, scale: 1 / 255, toCHW: true, seed: 5 } };
    const epoch = (e: number) => collect(new Loader(ds.view(), { batchSize: 7, tensors: ['image'], epoch: e, transform }));
    const [a, again, b] = [await epoch(1), await epoch(1), await epoch(2)];
    expect(again).toEqual(a);
    expect(b[0].image).not.toEqual(a[0].image);
    a[0].ids.forEach((id, i) => {
      const [h, w] = sizeOf(pixels.get(id)!);
      const box = randomResizedBox(w, h, fitRandom(5, 1, id), [0.2, 1]);
      const want = expected(pixels.get(id)!, [h, w], box, [4, 4]);
      expect(a[0].image.subarray(i * want.length, (i + 1) * want.length), `sample ${id}`).toEqual(want);
    });
  });

  it('is asked for when samples differ in size, and refuses what it cannot fit', async () => {
    const { ds } = await pngFolder();
    const run = (transform: object) => collect(new Loader(ds.view(), { batchSize: 2, tensors: ['image'], transform: { image: transform } }));
    await expect(run({ scale: 1 / 255 })).rejects.toThrow(/tensor image: .*give images of any size a fit, e\.g\. \{ fit: \{ size: \[224, 224\] \} \}/);
    await expect(run({ fit: { size: [4, 4], crop: 'middle' } })).rejects.toThrow(/fit\.crop must be 'center' or 'random', not 'middle'/);
    await expect(run({ fit: { size: [0, 4] } })).rejects.toThrow(/fit/);
  });
});

/** [h, w] of an image from its byte count: each size in SIZES has its own. */
function sizeOf(image: Uint8Array): [number, number] {
  const [h, w] = SIZES.find(([h, w]) => h * w * 3 === image.length)!;
  return [h, w];
}
