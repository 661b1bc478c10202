import { acquireBuffer, releaseBuffer } from '../../kernels/buffer-pool.js';
import type { JpegCoefficients, JpegScale } from '../../kernels/jpeg/coefficients.js';
import { encodeJpegBatch, jpegBatchLayout, writeJpegBatch } from '../../kernels/jpeg/jpeg.js';
import { unpackJpegPixels } from '../../kernels/jpeg/jpeg.ref.js';
import { jpegPlan } from '../../kernels/jpeg/plan.js';
import { Transients } from '../../kernels/pipelines.js';
import type { DecodedImage, DecodeOptions } from './decoded-image.js';
import { decodeImageSync, sniffImageType } from './image.js';
import { readJpegCoefficients } from './jpeg/index.js';

export interface DecodeImageOptions extends DecodeOptions {
  /** Reconstructs JPEGs on this device (entropy decoding stays on the CPU); the CPU references without it. */
  device?: GPUDevice | undefined;
}

/** A decoded photo as models take it: gray, or RGB with any alpha dropped. */
export interface Pixels extends DecodedImage {
  channels: 1 | 3;
}

/**
 * Decodes one JPEG or PNG. With `device`, a JPEG's dequantization, IDCT, upsampling, colour
 * conversion and orientation run there (submitted and read back here; a device error rejects,
 * never falls back to the CPU); PNGs inflate and unfilter on the CPU either way.
 */
export async function decodeImage(bytes: Uint8Array, options: DecodeImageOptions = {}): Promise<Pixels> {
  const { device, ...decode } = options;
  if (device && sniffImageType(bytes) === 'jpeg') return decodeJpegOnDevice(device, bytes, decode);
  return dropAlpha(decodeImageSync(bytes, decode));
}

async function decodeJpegOnDevice(device: GPUDevice, bytes: Uint8Array, options: DecodeOptions): Promise<Pixels> {
  const name = options.name ?? 'JPEG';
  const coef = readJpegCoefficients(bytes, { name, maxPixels: options.maxPixels });
  return reconstructOnDevice(device, coef, options.scale ?? 1, name);
}

/**
 * A JPEG's pixels from its coefficients, reconstructed on `device` and read back. Buffers come
 * from the device's pool: one image after another reuses them instead of mapping fresh memory.
 */
export async function reconstructOnDevice(device: GPUDevice, coef: JpegCoefficients, scale: JpegScale, name = 'JPEG'): Promise<Pixels> {
  const items = [{ coef, scale, name }];
  const layout = jpegBatchLayout(items);
  const plan = jpegPlan(coef, scale, name);
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
  const acquired: GPUBuffer[] = [];
  const acquire = (bytes: number, what: string, use = usage) => {
    const b = acquireBuffer(device, Math.max(4, bytes), use, `${name} ${what}`);
    acquired.push(b);
    return b;
  };
  const transients = new Transients();
  try {
    const [coefficients, quantTables] = [acquire(layout.coefficientWords * 4, 'coefficients'), acquire(layout.quantWords * 4, 'quantization')];
    const [planes, output] = [acquire(layout.planeBytes, 'planes'), acquire(layout.pixels * 4, 'pixels')];
    const readback = acquire(layout.pixels * 4, 'read-back', GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
    writeJpegBatch(device, items, layout, coefficients, quantTables);
    const encoder = device.createCommandEncoder({ label: `decode ${name}` });
    const pass = encoder.beginComputePass({ label: `decode ${name}` });
    encodeJpegBatch(device, pass, { images: layout.images, coefficients, quantTables, planes, output, name }, transients);
    pass.end();
    encoder.copyBufferToBuffer(output, 0, readback, 0, layout.pixels * 4);
    device.queue.submit([encoder.finish()]);
    await readback.mapAsync(GPUMapMode.READ, 0, layout.pixels * 4);
    try {
      return unpackJpegPixels(new Uint32Array(readback.getMappedRange(0, layout.pixels * 4)), plan.outWidth, plan.outHeight, plan.channels);
    } finally {
      readback.unmap();
    }
  } finally {
    transients.destroy();
    for (const b of acquired) releaseBuffer(b);
  }
}

function dropAlpha(img: DecodedImage): Pixels {
  const { width, height, channels, data } = img;
  if (channels === 1 || channels === 3) return { width, height, channels, data };
  const keep = channels === 2 ? 1 : 3;
  const out = new Uint8Array(width * height * keep);
  for (let i = 0, s = 0, o = 0; i < width * height; i++, s += channels) {
    for (let c = 0; c < keep; c++) out[o++] = data[s + c];
  }
  return { width, height, channels: keep, data: out };
}
