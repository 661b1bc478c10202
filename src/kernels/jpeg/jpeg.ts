import { EdgelakeError } from '../../errors.js';
import { isCpuAdapter } from '../device.js';
import {
  assertDeviceAlive, computePipeline, createBindGroup, paramsBindGroup, storageBinding, Transients, uploadBuffer, workgroupGrid,
} from '../pipelines.js';
import type { JpegCoefficients, JpegScale } from './coefficients.js';
import { orientationSteps } from './color.ref.js';
import { jpegColorWgsl } from './color.wgsl.js';
import { jpegIdctWgsl } from './idct.wgsl.js';
import { checkJpegArrays, jpegPlan, type JpegLayout, type JpegPlan, type JpegUpsample } from './plan.js';

/** A JPEG's coefficients on the device, as encodeJpegReconstruct reads them. */
export interface JpegGpuCoefficients {
  layout: JpegLayout;
  /** Two i16 coefficients per u32, the even-indexed one in the low half (little-endian Int16Array bytes). */
  coefficients: GPUBuffer;
  /** One u32 per quantization value, component c at c * 64. */
  quantTables: GPUBuffer;
  destroy(): void;
}

export interface JpegReconstructArgs {
  layout: JpegLayout;
  scale: JpegScale;
  coefficients: GPUBuffer;
  quantTables: GPUBuffer;
  /**
   * jpegPlan(layout, scale).outWidth * outHeight u32 pixels, display orientation, row-major:
   * R | G << 8 | B << 16 | 255 << 24; gray images with R = G = B.
   */
  output: GPUBuffer;
  /** Scratch for the IDCT's planes, plan.planeBytes; a transient when omitted. */
  planes?: GPUBuffer;
  /** Names the image in errors. */
  name?: string;
  /** Overrides jpegColorRun(device) (tests, benchmarks). */
  colorRun?: number;
}

const COLOR_CODES = { gray: 0, ycbcr: 1, rgb: 2, cmyk: 3, ycck: 4 } as const;
const UPSAMPLE_CODES: Record<JpegUpsample, number> = { full: 0, h2v1: 1, h2v2: 2, h1v2: 3, replicate: 4 };
const COLOR_WORKGROUP = 256;
const IDCT_WORKGROUP = 64;
const IDCT_ENTRY = 12; // u32s per (image, component): ENTRY vec4s in idct.wgsl.ts
const COLOR_ENTRY = 40; // u32s per image: IMAGE vec4s in color.wgsl.ts

/** Uploads `coef`'s coefficients and quantization tables for encodeJpegReconstruct; destroy() frees them. */
export function uploadJpegCoefficients(device: GPUDevice, coef: JpegCoefficients, name = 'JPEG'): JpegGpuCoefficients {
  checkJpegArrays(coef, name);
  jpegPlan(coef, coef.reducedFor ?? 1, name);
  const coefficients = uploadBuffer(device, `${name} coefficients`, GPUBufferUsage.STORAGE, coef.coefficients);
  const quantTables = uploadBuffer(device, `${name} quantization`, GPUBufferUsage.STORAGE, Uint32Array.from(coef.quantTables));
  return {
    layout: layoutOf(coef), coefficients, quantTables,
    destroy: () => {
      coefficients.destroy();
      quantTables.destroy();
    },
  };
}

/**
 * Records a JPEG's reconstruction at 1/scale into `pass` (the caller submits, then destroys the
 * returned transients): dequantize + IDCT into planes, then upsample, colour-convert, crop and
 * orient into `output`. Equal to reconstructJpegRef, so to djpeg -scale 1/scale.
 */
export function encodeJpegReconstruct(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  args: JpegReconstructArgs,
  transients: Transients = new Transients(),
): Transients {
  const { layout, scale, ...buffers } = args;
  return encodeJpegBatch(device, pass, { ...buffers, images: [{ layout, scale, firstBlock: 0, firstQuant: 0, firstPixel: 0 }] }, transients);
}

/** One image of a batch: its layout and scale, and where its data lies in the batch's buffers. */
export interface JpegBatchImage {
  layout: JpegLayout;
  scale: JpegScale;
  /** Its first block of 64 in the batch's coefficients (its components' firstCoefficient count from there). */
  firstBlock: number;
  /** Its first quantization value in the batch's quantTables (component c's table at + c * 64). */
  firstQuant: number;
  /** Its first pixel (u32) in the output; images in increasing order, not overlapping. */
  firstPixel: number;
}

export interface JpegBatchArgs {
  images: readonly JpegBatchImage[];
  coefficients: GPUBuffer;
  quantTables: GPUBuffer;
  /** Each image's pixels from its firstPixel, as JpegReconstructArgs.output; pixels between images are not written. */
  output: GPUBuffer;
  /** Scratch for every image's planes, back to back; a transient when omitted. */
  planes?: GPUBuffer;
  name?: string;
  /** Overrides jpegColorRun(device) (tests, benchmarks). */
  colorRun?: number;
}

/**
 * Stored pixels the colour kernel makes per invocation: 4 (one plane word) on GPUs; 32 on CPU
 * adapters, where finding an image and loading its table entries costs as much as 4 pixels'
 * work (lavapipe, 68 MP of photos: 0.73 s at 4, 0.53 at 8, 0.39 at 16, 0.34 at 32, 0.30 at 64).
 */
export function jpegColorRun(device: GPUDevice): number {
  return isCpuAdapter(device) ? 32 : 4;
}

/** Several JPEGs' coefficients in one buffer (and their tables in another), as encodeJpegBatch reads them. */
export interface JpegGpuBatch {
  images: JpegBatchImage[];
  coefficients: GPUBuffer;
  quantTables: GPUBuffer;
  /** Output pixels the batch needs: the images back to back from pixel 0. */
  pixels: number;
  destroy(): void;
}

/** A batch's images and their data, as JpegBatchArgs needs them. */
export interface JpegBatchItem {
  coef: JpegCoefficients;
  scale: JpegScale;
  /** Names the image in errors. */
  name?: string;
}

/** Where each image of a batch goes in its buffers (back to back), and the buffers' sizes. */
export interface JpegBatchLayout {
  images: JpegBatchImage[];
  /** u32 words of the coefficients buffer, of the quantization buffer, pixels of the output, bytes of the planes. */
  coefficientWords: number;
  quantWords: number;
  pixels: number;
  planeBytes: number;
}

export function jpegBatchLayout(items: readonly JpegBatchItem[]): JpegBatchLayout {
  let [blocks, quantWords, pixels, planeBytes] = [0, 0, 0, 0];
  const images = items.map(({ coef, scale, name }) => {
    checkJpegArrays(coef, name);
    const plan = jpegPlan(coef, scale, name);
    const image = { layout: layoutOf(coef), scale, firstBlock: blocks, firstQuant: quantWords, firstPixel: pixels };
    blocks += Math.ceil(coef.coefficients.length / 64);
    quantWords += coef.quantTables.length;
    pixels += plan.outWidth * plan.outHeight;
    planeBytes += plan.planeBytes;
    return image;
  });
  return { images, coefficientWords: blocks * 32, quantWords, pixels, planeBytes };
}

/**
 * Writes each item's coefficients and quantization tables where `layout` puts them, straight
 * from its own arrays (no batch-sized copy): buffers reused from batch to batch then cost no
 * fresh memory, which dominates the upload where pages are slow to map.
 */
export function writeJpegBatch(device: GPUDevice, items: readonly JpegBatchItem[], layout: JpegBatchLayout, coefficients: GPUBuffer, quantTables: GPUBuffer): void {
  items.forEach(({ coef }, i) => {
    const image = layout.images[i];
    device.queue.writeBuffer(coefficients, image.firstBlock * 128, coef.coefficients as Int16Array<ArrayBuffer>); // the types refuse shared views, which writeBuffer takes
    device.queue.writeBuffer(quantTables, image.firstQuant * 4, Uint32Array.from(coef.quantTables));
  });
}

/** Uploads a batch of images' coefficients into new buffers for encodeJpegBatch, their pixels to lie back to back from pixel 0. */
export function uploadJpegBatch(device: GPUDevice, items: readonly JpegBatchItem[], name = 'JPEG batch'): JpegGpuBatch {
  const layout = jpegBatchLayout(items);
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
  const coefficients = device.createBuffer({ label: `${name} coefficients`, size: Math.max(4, layout.coefficientWords * 4), usage });
  const quantTables = device.createBuffer({ label: `${name} quantization`, size: Math.max(4, layout.quantWords * 4), usage });
  writeJpegBatch(device, items, layout, coefficients, quantTables);
  return {
    images: layout.images, coefficients, quantTables, pixels: layout.pixels,
    destroy: () => {
      coefficients.destroy();
      quantTables.destroy();
    },
  };
}

/**
 * Records the reconstruction of a batch of JPEGs into `pass` in two dispatches whatever their
 * number (per-image dispatches cost more than small images' work): each image as
 * encodeJpegReconstruct would make it, at its firstPixel in `output`.
 */
export function encodeJpegBatch(device: GPUDevice, pass: GPUComputePassEncoder, args: JpegBatchArgs, transients: Transients = new Transients()): Transients {
  const kernel = `jpeg ${args.name ?? ''}`.trim();
  assertDeviceAlive(device, kernel);
  if (args.images.length === 0) return transients;
  const plans = args.images.map((image) => jpegPlan(image.layout, image.scale, args.name));
  let [blocks, quant, pixels, planeBytes] = [0, 0, 0, 0];
  const planeBase: number[] = [];
  args.images.forEach((image, i) => {
    const { components } = image.layout;
    if (![image.firstBlock, image.firstQuant, image.firstPixel].every((v) => Number.isInteger(v) && v >= 0)) {
      throw new EdgelakeError('invalid-input', `${kernel}: image ${i}: firstBlock, firstQuant and firstPixel must be non-negative integers`);
    }
    if (image.firstPixel < pixels) throw new EdgelakeError('invalid-input', `${kernel}: image ${i}: firstPixel ${image.firstPixel} overlaps the image before (its pixels end at ${pixels})`);
    blocks = Math.max(blocks, image.firstBlock + Math.ceil(plans[i].coefficientCount / 64));
    quant = Math.max(quant, image.firstQuant + components.length * 64);
    pixels = image.firstPixel + plans[i].outWidth * plans[i].outHeight;
    planeBase.push(planeBytes);
    planeBytes += plans[i].planeBytes;
  });
  const coefficients = storageBinding(device, kernel, 'coefficients', args.coefficients, blocks * 32, `${blocks} blocks`);
  const quantTables = storageBinding(device, kernel, 'quantTables', args.quantTables, quant, 'a table per component');
  const output = storageBinding(device, kernel, 'output', args.output, pixels, `${pixels} pixels`);
  const given = args.planes && storageBinding(device, kernel, 'planes', args.planes, planeBytes / 4, 'the IDCT planes');
  const buffers = [coefficients, quantTables, output, ...(given ? [given] : [])].map((b) => b.buffer);
  if (new Set(buffers).size < buffers.length) {
    throw new EdgelakeError('invalid-input', `${kernel}: coefficients, quantTables, output and planes must be different buffers`);
  }
  const [idctTable, idctInvocations] = idctTableOf(args.images, plans, planeBase);
  const run = args.colorRun ?? jpegColorRun(device);
  if (!Number.isInteger(run) || run < 4 || run % 4 !== 0) throw new EdgelakeError('invalid-input', `${kernel}: colorRun must be a positive multiple of 4, got ${run}`);
  const [colorTable, runs] = colorTableOf(args.images, plans, planeBase, run);
  // Created last: nothing can throw after it, so a failed call leaves no buffer behind.
  const planes = given
    || { buffer: transients.add(device.createBuffer({ label: `${kernel} planes`, size: Math.max(4, planeBytes), usage: GPUBufferUsage.STORAGE })), size: Math.max(4, planeBytes) };
  const table = (data: Uint32Array, what: string) => ({ buffer: transients.add(uploadBuffer(device, `${kernel} ${what}`, GPUBufferUsage.STORAGE, data)) });

  const idct = computePipeline(device, { label: 'jpeg-idct', code: jpegIdctWgsl, constants: { WORKGROUP_SIZE: IDCT_WORKGROUP } });
  pass.setPipeline(idct);
  pass.setBindGroup(0, paramsBindGroup(device, transients, idct, 'jpeg-idct', Uint32Array.of(idctTable.length / IDCT_ENTRY, idctInvocations, 0, 0), [table(idctTable, 'idct table')]));
  // Coefficients come uploaded per batch: new bind groups, rather than filling the cache with dead ones.
  pass.setBindGroup(1, createBindGroup(device, idct, 1, `jpeg-idct ${args.coefficients.label}`, [coefficients, quantTables, planes]));
  pass.dispatchWorkgroups(...workgroupGrid(device, Math.ceil(idctInvocations / IDCT_WORKGROUP)));

  const color = computePipeline(device, { label: 'jpeg-color', code: jpegColorWgsl, constants: { WORKGROUP_SIZE: COLOR_WORKGROUP, RUN: run } });
  pass.setPipeline(color);
  pass.setBindGroup(0, paramsBindGroup(device, transients, color, 'jpeg-color', Uint32Array.of(args.images.length, runs, 0, 0), [table(colorTable, 'color table')]));
  pass.setBindGroup(1, createBindGroup(device, color, 1, `jpeg-color ${planes.buffer.label} -> ${output.buffer.label}`, [planes, output]));
  pass.dispatchWorkgroups(...workgroupGrid(device, Math.ceil(runs / COLOR_WORKGROUP)));
  return transients;
}

function layoutOf(coef: JpegCoefficients): JpegLayout {
  const { width, height, maxH, maxV, color, components, orientation, reducedFor } = coef;
  return { width, height, maxH, maxV, color, components, orientation, ...(reducedFor !== undefined && { reducedFor }) };
}

/**
 * idct.wgsl.ts's table, an entry per (image, component) in invocation order, and the invocations
 * in all: one per word of plane samples across (4 / size blocks, at least 1) per block row.
 */
function idctTableOf(images: readonly JpegBatchImage[], plans: readonly JpegPlan[], planeBase: readonly number[]): [Uint32Array, number] {
  const entries = plans.reduce((n, p) => n + p.components.length, 0);
  const data = new Uint32Array(entries * IDCT_ENTRY);
  let [e, invocations] = [0, 0];
  plans.forEach((plan, i) => {
    plan.components.forEach((p, c) => {
      const perRow = Math.ceil(p.validBlocksWide / Math.max(1, 4 / p.size));
      data.set([images[i].firstBlock * 64 + p.firstCoefficient, p.blocksWide, p.validBlocksWide, p.validBlocksHigh], e);
      data.set([invocations, (planeBase[i] + p.offset) / 4, p.stride / 4, p.size], e + 4);
      data.set([images[i].firstQuant + c * 64, perRow, p.side], e + 8);
      invocations += p.validBlocksHigh * perRow;
      e += IDCT_ENTRY;
    });
  });
  return [data, invocations];
}

/**
 * color.wgsl.ts's table, and the runs of `run` stored pixels of the batch (an invocation each): per
 * image its size, runs per row, colour, first run, where its pixels go, and each component's plane and upsampling.
 */
function colorTableOf(images: readonly JpegBatchImage[], plans: readonly JpegPlan[], planeBase: readonly number[], run: number): [Uint32Array, number] {
  const data = new Uint32Array(images.length * COLOR_ENTRY);
  let runs = 0;
  plans.forEach((plan, i) => {
    const at = i * COLOR_ENTRY;
    const runsPerRow = Math.ceil(plan.width / run);
    const { origin, dx, dy } = orientationSteps(plan.orientation, plan.width, plan.height);
    data.set([plan.width, plan.height, runsPerRow, COLOR_CODES[plan.color]], at);
    data.set([runs, images[i].firstPixel + origin, dx >>> 0, dy >>> 0], at + 4);
    plan.components.forEach((p, c) => {
      data.set([(planeBase[i] + p.offset) / 4, p.stride / 4, p.sampleWidth, p.sampleHeight], at + 8 + c * 4);
      data.set([UPSAMPLE_CODES[p.upsample], p.hExpand, p.vExpand, 0], at + 24 + c * 4);
    });
    runs += runsPerRow * plan.height;
  });
  return [data, runs];
}
