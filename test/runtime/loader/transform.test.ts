// The layout a transform gives: [H, W, C] by default, [C, H, W] with toCHW or augment, and
// [H, W, C] again with augment and toCHW: false (channels-last models, TF.js's).
import { describe, expect, it } from 'vitest';
import { batchArray, Loader, type TensorTransform } from '../../../src/index.js';
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
