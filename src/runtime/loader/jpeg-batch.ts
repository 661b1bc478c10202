import { EdgelakeError } from '../../errors.js';
import { unpackJpegCoefficients } from '../../format/image/jpeg-packed.js';
import { encodeJpegReconstruct, uploadJpegCoefficients } from '../../kernels/jpeg/jpeg.js';
import { jpegPlan } from '../../kernels/jpeg/plan.js';
import type { Transients } from '../../kernels/pipelines.js';

/** A batch of JPEGs reconstructed on the device: RGBA words, one image after another. */
export interface JpegBatch {
  /** Byte offset of each image in the output buffer. */
  offsets: number[];
  /** [height, width, 3] per image, as the decode workers reported them. */
  shapes: Uint32Array;
  /** Bytes the output buffer needs. */
  bytes: number;
}

/**
 * The GPU half of the loader's JPEG path: decode workers entropy-decode each JPEG to packed
 * coefficients (packJpegCoefficients, at the scale a fit needs); this records, per image, the
 * upload, dequantization, IDCT, upsampling and colour conversion in its own pass, then copies
 * the pixels into `output` one after another, where the fit kernel reads them (pixelStride 4).
 * Uploads and scratch go to `transients`, destroyed once the caller has submitted.
 */
export function encodeJpegBatch(
  device: GPUDevice,
  encoder: GPUCommandEncoder,
  samples: readonly Uint8Array[],
  output: (bytes: number) => GPUBuffer,
  transients: Transients,
  name = 'image',
): JpegBatch {
  const images = samples.map((packed, i) => {
    const what = `tensor ${name} sample ${i} of the batch`;
    const { coef, scale } = unpackJpegCoefficients(packed, what);
    return { coef, scale, plan: jpegPlan(coef, scale, what), what };
  });
  const offsets: number[] = [];
  const shapes = new Uint32Array(3 * images.length);
  let bytes = 0;
  images.forEach(({ plan }, i) => {
    offsets.push(bytes);
    shapes.set([plan.outHeight, plan.outWidth, 3], 3 * i);
    bytes += plan.outWidth * plan.outHeight * 4;
  });
  if (bytes > device.limits.maxStorageBufferBindingSize) {
    throw new EdgelakeError('limit', `tensor ${name}: the batch's ${bytes} bytes of pixels exceed this device's storage binding; use a smaller batch or fit size`);
  }
  const target = output(bytes);
  const pass = encoder.beginComputePass({ label: `edgelake batch ${name} jpeg` });
  const pixels = images.map(({ coef, scale, plan, what }) => {
    const uploaded = uploadJpegCoefficients(device, coef, what);
    transients.add(uploaded.coefficients);
    transients.add(uploaded.quantTables);
    const size = plan.outWidth * plan.outHeight * 4;
    const out = transients.add(device.createBuffer({ label: `${what} pixels`, size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC }));
    encodeJpegReconstruct(device, pass, { ...uploaded, scale, output: out, name: what }, transients);
    return out;
  });
  pass.end();
  // A storage binding's offset must be 256-aligned; a copy lets the images sit back to back.
  pixels.forEach((p, i) => encoder.copyBufferToBuffer(p, 0, target, offsets[i], p.size));
  return { offsets, shapes, bytes };
}
