import { EdgelakeError } from '../../errors.js';
import { unpackJpegCoefficients } from '../../format/image/jpeg-packed.js';
import { encodeJpegBatch, jpegBatchLayout, writeJpegBatch } from '../../kernels/jpeg/jpeg.js';
import { packJpegPixels, reconstructJpegRef } from '../../kernels/jpeg/jpeg.ref.js';
import { jpegPlan } from '../../kernels/jpeg/plan.js';
import type { Transients } from '../../kernels/pipelines.js';

/** A batch of JPEGs reconstructed on the device: RGBA words, one image after another. */
export interface JpegSamples {
  pixels: GPUBuffer;
  /** Byte offset of each image in `pixels`. */
  offsets: number[];
  /** [height, width, 3] per image. */
  shapes: Uint32Array;
}

/**
 * The GPU half of the loader's JPEG path: decode workers entropy-decode each JPEG to packed
 * coefficients (packJpegCoefficients, at the scale a fit needs); this writes them into buffers
 * from `buffer` (the transform's pool: reused, so no fresh memory per batch) and records their
 * reconstruction into `pass`, the pixels back to back in one buffer, where the fit kernel reads
 * them (pixelStride 4). Two dispatches per group of images that fits the storage bindings; an
 * image whose coefficients or planes alone exceed a binding is reconstructed by the CPU reference
 * instead (the same pixels) and its pixels written into place, so one huge photo slows its batch
 * rather than failing the epoch.
 */
export function encodeJpegSamples(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  samples: readonly Uint8Array[],
  buffer: (bytes: number, what: string) => GPUBuffer,
  transients: Transients,
  name = 'image',
): JpegSamples {
  const limit = device.limits.maxStorageBufferBindingSize;
  const items = samples.map((packed, i) => {
    const what = `tensor ${name} sample ${i} of the batch`;
    return { ...unpackJpegCoefficients(packed, what), name: what };
  });
  const layout = jpegBatchLayout(items);
  if (layout.pixels * 4 > limit) {
    throw new EdgelakeError(
      'limit',
      `tensor ${name}: the batch's ${layout.pixels * 4} bytes of decoded pixels exceed this device's ${limit}-byte storage binding; `
        + 'use a smaller batch or fit size, or decode on the CPU (no device; edgelake train --device cpu)',
    );
  }
  const pixels = buffer(layout.pixels * 4, 'pixels');
  // Groups whose coefficients and planes each fit one binding; their buffers come from the pool.
  const plans = layout.images.map((image) => jpegPlan(image.layout, image.scale));
  const onCpu = items.map((item, i) => item.coef.coefficients.byteLength > limit || plans[i].planeBytes > limit);
  for (let first = 0; first < items.length;) {
    if (onCpu[first]) {
      const { coef, scale, name: what } = items[first];
      device.queue.writeBuffer(pixels, layout.images[first].firstPixel * 4, packJpegPixels(reconstructJpegRef(coef, scale, what)));
      first++;
      continue;
    }
    let [end, coefficientBytes, planeBytes] = [first, 0, 0];
    while (end < items.length && !onCpu[end]) {
      const [moreCoefficients, morePlanes] = [items[end].coef.coefficients.byteLength, plans[end].planeBytes];
      if (end > first && (coefficientBytes + moreCoefficients > limit || planeBytes + morePlanes > limit)) break;
      [coefficientBytes, planeBytes] = [coefficientBytes + moreCoefficients, planeBytes + morePlanes];
      end++;
    }
    const group = items.slice(first, end);
    const groupLayout = jpegBatchLayout(group);
    const coefficients = buffer(groupLayout.coefficientWords * 4, 'coefficients');
    const quantTables = buffer(groupLayout.quantWords * 4, 'quantization');
    writeJpegBatch(device, group, groupLayout, coefficients, quantTables);
    const at = layout.images[first].firstPixel;
    const images = groupLayout.images.map((image) => ({ ...image, firstPixel: image.firstPixel + at }));
    const planes = buffer(groupLayout.planeBytes, 'planes');
    encodeJpegBatch(device, pass, { images, coefficients, quantTables, output: pixels, planes, name: `${name} batch` }, transients);
    first = end;
  }
  return {
    pixels,
    offsets: layout.images.map((image) => image.firstPixel * 4),
    shapes: Uint32Array.from(plans.flatMap((plan) => [plan.outHeight, plan.outWidth, 3])),
  };
}
