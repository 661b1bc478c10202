import { afterAll, expect, test } from 'vitest';
import {
  encodeJpegBatch, encodeJpegReconstruct, idctRef, jpegColorRun, jpegPlan, readBuffer, reconstructJpegRef, unpackJpegPixels, uploadBuffer, uploadJpegBatch, uploadJpegCoefficients,
  type JpegCoefficients, type JpegImage, type JpegScale,
} from '../../src/kernels/index.js';
import { packJpegCoefficients } from '../../src/format/index.js';
import { reduceJpegCoefficients } from '../../src/kernels/jpeg/reduce.js';
import { Transients } from '../../src/kernels/pipelines.js';
import { encodeJpegSamples } from '../../src/runtime/loader/jpeg-batch.js';
import { gpuDescribe } from './gpu.js';
import { mulberry32 } from '../support/random.js';
import { SAMPLINGS, syntheticCoefficients, type SyntheticJpeg } from '../kernels/jpeg.synthetic.js';

// A new seed each run; EDGELAKE_SEED=<n> replays a failure.
const seed = Number(process.env.EDGELAKE_SEED ?? Date.now() % 2 ** 32);
const scales: JpegScale[] = [1, 2, 4, 8];
let images = 0;
afterAll(() => console.log(`jpeg: ${images} random images reconstructed on the GPU, equal to the CPU reference (seed ${seed})`));

/**
 * Upload, record into one pass, submit, read back: the round trip a caller does. Also returns the
 * planes. `colorRun`: pixels per colour invocation, by default the device's (32 on CPU adapters).
 */
async function reconstructOnGpu(device: GPUDevice, coef: JpegCoefficients, scale: JpegScale, colorRun?: number): Promise<{ image: JpegImage; planes: Uint8Array }> {
  const plan = jpegPlan(coef, scale);
  const input = uploadJpegCoefficients(device, coef, 'test JPEG');
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC;
  const output = device.createBuffer({ label: 'test pixels', size: plan.outWidth * plan.outHeight * 4, usage });
  const planes = device.createBuffer({ label: 'test planes', size: plan.planeBytes, usage });
  try {
    const encoder = device.createCommandEncoder({ label: 'jpeg test' });
    const pass = encoder.beginComputePass({ label: 'jpeg test' });
    const transients = encodeJpegReconstruct(device, pass, { ...input, scale, output, planes, colorRun });
    pass.end();
    device.queue.submit([encoder.finish()]);
    transients.destroy();
    const words = new Uint32Array(await readBuffer(device, output, output.size));
    images++;
    return { image: unpackJpegPixels(words, plan.outWidth, plan.outHeight, plan.channels), planes: new Uint8Array(await readBuffer(device, planes, planes.size)) };
  } finally {
    input.destroy();
    output.destroy();
    planes.destroy();
  }
}

/** Index and values of the first differing samples, for a readable failure. */
function firstDifferences(a: Uint8Array, b: Uint8Array): string[] {
  const out: string[] = [];
  for (let i = 0; i < a.length && out.length < 5; i++) if (a[i] !== b[i]) out.push(`${i}: ${a[i]} != ${b[i]}`);
  return out;
}

async function expectEqual(device: GPUDevice, spec: SyntheticJpeg, scale: JpegScale, salt: number) {
  const coef = syntheticCoefficients(mulberry32(seed ^ Math.imul(salt, 0x9e3779b1)), spec);
  const what = `${spec.width}x${spec.height} orientation ${spec.orientation} 1/${scale} ${spec.kind ?? 'photo'}, seed ${seed}`;
  const expected = reconstructJpegRef(coef, scale);
  // The device's own colour runs, and runs of one word (what GPUs get) or of 12 pixels.
  for (const colorRun of [undefined, 4, 12]) {
    const { image, planes } = await reconstructOnGpu(device, coef, scale, colorRun);
    const how = `${what}, colour runs of ${colorRun ?? jpegColorRun(device)}`;
    expect(firstDifferences(planes, idctRef(coef, jpegPlan(coef, scale))), `planes, ${how}`).toEqual([]);
    expect({ width: image.width, height: image.height, channels: image.channels }, how).toEqual({ width: expected.width, height: expected.height, channels: expected.channels });
    expect(firstDifferences(image.data, expected.data), `pixels, ${how}`).toEqual([]);
  }
  if (scale === 1) return;
  // Reduced to what 1/scale reads (what the loader's workers ship): the same planes and pixels, on either side.
  const reduced = reduceJpegCoefficients(coef, scale);
  expect(firstDifferences(reconstructJpegRef(reduced, scale).data, expected.data), `CPU reference from reduced coefficients, ${what}`).toEqual([]);
  const { image, planes } = await reconstructOnGpu(device, reduced, scale);
  expect(firstDifferences(planes, idctRef(coef, jpegPlan(coef, scale))), `planes from reduced coefficients, ${what}`).toEqual([]);
  expect(firstDifferences(image.data, expected.data), `pixels from reduced coefficients, ${what}`).toEqual([]);
}

/**
 * The loader's GPU step for one packed JPEG (encodeJpegSamples, buffers made here), its pixels
 * unpacked. Throws what encodeJpegSamples throws.
 */
async function loaderBatch(device: GPUDevice, packed: Uint8Array): Promise<JpegImage> {
  const made: GPUBuffer[] = [];
  const buffer = (bytes: number, what: string) => {
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
    return made[made.push(device.createBuffer({ label: `test batch ${what}`, size: Math.max(4, Math.ceil(bytes / 4) * 4), usage })) - 1];
  };
  const transients = new Transients();
  try {
    const encoder = device.createCommandEncoder({ label: 'jpeg loader batch test' });
    const pass = encoder.beginComputePass();
    const { pixels, shapes } = encodeJpegSamples(device, pass, [packed], buffer, transients, 'image');
    pass.end();
    device.queue.submit([encoder.finish()]);
    const [height, width] = shapes;
    return unpackJpegPixels(new Uint32Array(await readBuffer(device, pixels, width * height * 4)), width, height, 3);
  } finally {
    transients.destroy();
    for (const b of made) b.destroy();
  }
}

/** Big synthetic coefficients, quickly: a small random image's blocks repeated over a large layout. */
function bigCoefficients(spec: SyntheticJpeg): JpegCoefficients {
  const tile = syntheticCoefficients(mulberry32(seed), { ...spec, width: 64, height: 64 });
  const { maxH, maxV } = tile;
  const [mcusWide, mcusHigh] = [Math.ceil(spec.width / (8 * maxH)), Math.ceil(spec.height / (8 * maxV))];
  let firstBlock = 0;
  const components = spec.sampling.map(([h, v]) => {
    const c = { h, v, blocksWide: mcusWide * h, blocksHigh: mcusHigh * v, firstBlock };
    firstBlock += c.blocksWide * c.blocksHigh;
    return c;
  });
  const coefficients = new Int16Array(firstBlock * 64);
  for (let at = 0; at < coefficients.length; at += tile.coefficients.length) coefficients.set(tile.coefficients.subarray(0, coefficients.length - at), at);
  return { ...tile, width: spec.width, height: spec.height, components, coefficients };
}

gpuDescribe('JPEG reconstruction on the GPU equals its CPU reference', ({ device }) => {
  const cases = Object.keys(SAMPLINGS).flatMap((name, n) => scales.map((scale) => ({ name, scale, n })));
  test.each(cases)('$name at 1/$scale, all 8 orientations, odd sizes', async ({ name, scale, n }) => {
    const random = mulberry32(seed + n * 31 + scale);
    for (let orientation = 1; orientation <= 8; orientation++) {
      // Sizes from 1 pixel up, rarely a multiple of 8, sometimes narrow enough to turn the fancy filters off.
      const size = () => 1 + Math.floor(random() ** 2 * (random() < 0.3 ? 20 : 90));
      const spec = { ...SAMPLINGS[name], width: size(), height: size(), orientation };
      await expectEqual(device, spec, scale, n * 1000 + scale * 10 + orientation);
    }
  });

  test.each(scales)('wild coefficients and 16-bit quantization wrap the same way, 1/%i', async (scale) => {
    for (const [n, name] of ['4:2:0', '4:2:2', '4:4:0', 'gray'].entries()) {
      await expectEqual(device, { ...SAMPLINGS[name], width: 37, height: 29, orientation: 1 + n, kind: 'wild' }, scale, 99_000 + n * 10 + scale);
    }
  });

  test('a 4:2:0 photo-sized image (640x480) and one of 8 MCUs across', async () => {
    await expectEqual(device, { ...SAMPLINGS['4:2:0'], width: 640, height: 480, orientation: 6 }, 1, 7);
    await expectEqual(device, { ...SAMPLINGS['4:2:0'], width: 128, height: 9, orientation: 1 }, 1, 8);
  });

  test('a batch in two dispatches: every sampling, scale and orientation, gray and colour, each as the CPU reference makes it, gaps untouched', async () => {
    const random = mulberry32(seed + 4242);
    const names = Object.keys(SAMPLINGS);
    const items = Array.from({ length: 24 }, (_, i) => {
      const size = () => 1 + Math.floor(random() ** 2 * 70);
      const spec = { ...SAMPLINGS[names[i % names.length]], width: size(), height: size(), orientation: 1 + (i % 8) };
      return { coef: syntheticCoefficients(random, spec), scale: scales[Math.floor(random() * 4)] };
    });
    const batch = uploadJpegBatch(device, items, 'test batch');
    // Three pixels of gap before each image: the kernel must leave them alone.
    const placed = batch.images.map((image, i) => ({ ...image, firstPixel: image.firstPixel + 3 * (i + 1) }));
    const total = batch.pixels + 3 * items.length;
    try {
      for (const colorRun of [undefined, 4]) {
        const output = uploadBuffer(device, 'test batch pixels', GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC, new Uint32Array(total).fill(0xdeadbeef));
        const encoder = device.createCommandEncoder();
        const pass = encoder.beginComputePass();
        const transients = encodeJpegBatch(device, pass, { images: placed, coefficients: batch.coefficients, quantTables: batch.quantTables, output, colorRun });
        pass.end();
        device.queue.submit([encoder.finish()]);
        transients.destroy();
        const words = new Uint32Array(await readBuffer(device, output, total * 4));
        output.destroy();
        items.forEach(({ coef, scale }, i) => {
          const expected = reconstructJpegRef(coef, scale);
          const at = placed[i].firstPixel;
          const got = unpackJpegPixels(words.subarray(at, at + expected.width * expected.height), expected.width, expected.height, expected.channels);
          const what = `image ${i} (${coef.width}x${coef.height} 1/${scale}, colour runs of ${colorRun ?? jpegColorRun(device)}, seed ${seed})`;
          expect(firstDifferences(got.data, expected.data), what).toEqual([]);
          expect([...words.subarray(at - 3, at)], `the gap before ${what}`).toEqual([0xdeadbeef, 0xdeadbeef, 0xdeadbeef]);
        });
        images += items.length;
      }
    } finally {
      batch.destroy();
    }
  });

  test('a 48 MP 4:2:0 photo for a small fit packs at 1/8 within the default storage binding (the luma\'s DC alone), as the CPU reference makes it', async () => {
    const coef = bigCoefficients({ ...SAMPLINGS['4:2:0'], width: 8000, height: 6000 });
    const full = coef.coefficients.byteLength; // 144,000,000 bytes: more than WebGPU's default 128 MiB binding
    const packed = packJpegCoefficients(coef, 8);
    // Per MCU 4 luma blocks of 1 and 2 chroma blocks of 5x5 (jpeg_idct_2x2's reads), of 6 x 64.
    expect(packed.byteLength, `${packed.byteLength} packed bytes of ${full}`).toBeLessThan(full * (4 + 2 * 25) / (6 * 64) + 4096);
    const expected = reconstructJpegRef(coef, 8);
    const got = await loaderBatch(device, packed);
    expect([got.width, got.height]).toEqual([1000, 750]);
    expect(firstDifferences(got.data, expected.data)).toEqual([]);
  });

  test('an image whose coefficients alone exceed a storage binding is reconstructed on the CPU into its batch', async () => {
    // 4:4:4 at 1/2 keeps 7x7 of each block: 6000x5000 is still 137,812,500 bytes, over the binding.
    const coef = bigCoefficients({ ...SAMPLINGS['4:4:4'], width: 6000, height: 5000 });
    const packed = packJpegCoefficients(coef, 2);
    expect(packed.byteLength).toBeGreaterThan(device.limits.maxStorageBufferBindingSize);
    const expected = reconstructJpegRef(coef, 2);
    const got = await loaderBatch(device, packed);
    expect(firstDifferences(got.data, expected.data)).toEqual([]);
  });

  test('bad arguments are EdgelakeErrors before anything is recorded', () => {
    const coef = syntheticCoefficients(mulberry32(seed), { ...SAMPLINGS['4:2:0'], width: 20, height: 20 });
    const input = uploadJpegCoefficients(device, coef, 'small');
    const { STORAGE, COPY_DST } = GPUBufferUsage;
    const output = device.createBuffer({ label: 'small output', size: 20 * 20 * 4, usage: STORAGE });
    const tooSmall = device.createBuffer({ label: 'too small', size: 16, usage: STORAGE });
    const mapped = device.createBuffer({ label: 'not storage', size: 4096, usage: COPY_DST });
    const encoder = device.createCommandEncoder({ label: 'bad arguments' });
    const pass = encoder.beginComputePass({ label: 'bad arguments' });
    const ok = { ...input, scale: 1 as JpegScale, output };
    const bad = [
      { output: tooSmall },
      { output: mapped },
      { coefficients: tooSmall },
      { planes: tooSmall },
      { output: input.coefficients },
      { scale: 3 as JpegScale },
      { layout: { ...input.layout, orientation: 9 } },
      { colorRun: 6 },
    ];
    for (const change of bad) {
      const record = () => encodeJpegReconstruct(device, pass, { ...ok, ...change });
      expect(record, Object.keys(change).join()).toThrow(expect.objectContaining({ code: 'invalid-input' }));
    }
    pass.end();
    input.destroy();
    for (const buffer of [output, tooSmall, mapped]) buffer.destroy();
  });
});
