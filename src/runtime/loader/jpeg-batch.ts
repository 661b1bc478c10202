import { EdgelakeError } from '../../errors.js';
import { unpackJpegBatchSample } from '../../format/image/jpeg-packed.js';
import { encodeJpegBatch, jpegBatchLayout, writeJpegBatch, type JpegBatchItem } from '../../kernels/jpeg/jpeg.js';
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
 * rather than failing the epoch; so are the pixels of a PNG among the JPEGs (packJpegBatchPixels).
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
    return { ...unpackJpegBatchSample(packed, what), name: what };
  });
  // Each image's output size, and where its pixels start in the batch's buffer.
  const sizes = items.map((item) => {
    if (!('coef' in item)) return { width: item.width, height: item.height };
    const plan = jpegPlan(item.coef, item.scale, item.name);
    return { width: plan.outWidth, height: plan.outHeight, plan };
  });
  const firstPixel: number[] = [];
  let total = 0;
  for (const { width, height } of sizes) {
    firstPixel.push(total);
    total += width * height;
  }
  if (total * 4 > limit) {
    throw new EdgelakeError(
      'limit',
      `tensor ${name}: the batch's ${total * 4} bytes of decoded pixels exceed this device's ${limit}-byte storage binding; `
        + 'use a smaller batch or fit size, or decode on the CPU (no device; edgelake train --device cpu)',
    );
  }
  const pixels = buffer(total * 4, 'pixels');
  // The JPEGs reconstructed here: those whose coefficients and planes each fit one binding.
  const onDevice = items.map((item, k) => ('coef' in item && item.coef.coefficients.byteLength <= limit && sizes[k].plan!.planeBytes <= limit ? { ...item, plan: sizes[k].plan! } : undefined));
  for (let first = 0; first < items.length;) {
    const item = items[first];
    if (!onDevice[first]) {
      // Pixels the CPU made (a PNG), or a JPEG too large for a binding, reconstructed by the CPU reference.
      const words = 'coef' in item ? packJpegPixels(reconstructJpegRef(item.coef, item.scale, item.name)) : item.pixels;
      device.queue.writeBuffer(pixels, firstPixel[first] * 4, words as Uint32Array<ArrayBuffer>);
      first++;
      continue;
    }
    // Groups that fit the bindings together; their buffers come from the pool.
    const group: JpegBatchItem[] = [];
    let [coefficientBytes, planeBytes] = [0, 0];
    for (let next = onDevice[first]; next; next = onDevice[first + group.length]) {
      const [moreCoefficients, morePlanes] = [next.coef.coefficients.byteLength, next.plan.planeBytes];
      if (group.length > 0 && (coefficientBytes + moreCoefficients > limit || planeBytes + morePlanes > limit)) break;
      [coefficientBytes, planeBytes] = [coefficientBytes + moreCoefficients, planeBytes + morePlanes];
      group.push(next);
    }
    const groupLayout = jpegBatchLayout(group);
    const coefficients = buffer(groupLayout.coefficientWords * 4, 'coefficients');
    const quantTables = buffer(groupLayout.quantWords * 4, 'quantization');
    writeJpegBatch(device, group, groupLayout, coefficients, quantTables);
    const at = firstPixel[first];
    const images = groupLayout.images.map((image) => ({ ...image, firstPixel: image.firstPixel + at }));
    const planes = buffer(groupLayout.planeBytes, 'planes');
    encodeJpegBatch(device, pass, { images, coefficients, quantTables, output: pixels, planes, name: `${name} batch` }, transients);
    first += group.length;
  }
  return {
    pixels,
    offsets: firstPixel.map((p) => p * 4),
    shapes: Uint32Array.from(sizes.flatMap(({ width, height }) => [height, width, 3])),
  };
}
