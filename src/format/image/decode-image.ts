import { encodeJpegReconstruct, uploadJpegCoefficients } from '../../kernels/jpeg/jpeg.js';
import { jpegPlan } from '../../kernels/jpeg/plan.js';
import { unpackJpegPixels } from '../../kernels/jpeg/jpeg.ref.js';
import { readBuffer, Transients } from '../../kernels/pipelines.js';
import type { DecodedImage, DecodeOptions } from './decoded-image.js';
import { decodeImageSync, sniffImageType } from './image.js';
import { readJpegCoefficients } from './jpeg/index.js';

export interface DecodeImageOptions extends DecodeOptions {
  /** Reconstructs JPEGs on this device (entropy decoding stays on the CPU); the CPU references without it. */
  device?: GPUDevice;
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
  const scale = options.scale ?? 1;
  const coef = readJpegCoefficients(bytes, { name, maxPixels: options.maxPixels });
  const plan = jpegPlan(coef, scale, name);
  const size = plan.outWidth * plan.outHeight * 4;
  const uploaded = uploadJpegCoefficients(device, coef, name);
  const output = device.createBuffer({ label: `${name} pixels`, size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const transients = new Transients();
  try {
    const encoder = device.createCommandEncoder({ label: `decode ${name}` });
    const pass = encoder.beginComputePass({ label: `decode ${name}` });
    encodeJpegReconstruct(device, pass, { ...uploaded, scale, output, name }, transients);
    pass.end();
    device.queue.submit([encoder.finish()]);
    const words = new Uint32Array(await readBuffer(device, output, size));
    return unpackJpegPixels(words, plan.outWidth, plan.outHeight, plan.channels);
  } finally {
    transients.destroy();
    output.destroy();
    uploaded.destroy();
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
