import { EdgelakeError } from '../../errors.js';
import {
  assertDeviceAlive, computePipeline, createBindGroup, paramsBindGroup, storageBinding, Transients, uploadBuffer, workgroupGrid,
} from '../pipelines.js';
import type { JpegCoefficients, JpegScale } from './coefficients.js';
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
}

const COLOR_CODES = { gray: 0, ycbcr: 1, rgb: 2 } as const;
const UPSAMPLE_CODES: Record<JpegUpsample, number> = { full: 0, h2v1: 1, h2v2: 2, h1v2: 3, replicate: 4 };
const COLOR_WORKGROUP = 256;
const IDCT_BLOCKS_PER_WORKGROUP = 8; // BLOCKS in idct.wgsl.ts

/** Uploads `coef`'s coefficients and quantization tables for encodeJpegReconstruct; destroy() frees them. */
export function uploadJpegCoefficients(device: GPUDevice, coef: JpegCoefficients, name = 'JPEG'): JpegGpuCoefficients {
  checkJpegArrays(coef, name);
  jpegPlan(coef, 1, name);
  const { width, height, maxH, maxV, color, components, orientation } = coef;
  const layout: JpegLayout = { width, height, maxH, maxV, color, components, orientation };
  const coefficients = uploadBuffer(device, `${name} coefficients`, GPUBufferUsage.STORAGE, coef.coefficients);
  const quantTables = uploadBuffer(device, `${name} quantization`, GPUBufferUsage.STORAGE, Uint32Array.from(coef.quantTables));
  return {
    layout, coefficients, quantTables,
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
  const kernel = `jpeg ${args.name ?? ''}`.trim();
  assertDeviceAlive(device, kernel);
  const plan = jpegPlan(args.layout, args.scale, args.name);
  const blocks = Math.max(...args.layout.components.map((c) => c.firstBlock + c.blocksWide * c.blocksHigh));
  const coefficients = storageBinding(device, kernel, 'coefficients', args.coefficients, blocks * 32, `${blocks} blocks`);
  const quant = storageBinding(device, kernel, 'quantTables', args.quantTables, plan.components.length * 64, 'a table per component');
  const pixels = plan.outWidth * plan.outHeight;
  const output = storageBinding(device, kernel, 'output', args.output, pixels, `${plan.outWidth}x${plan.outHeight} pixels`);
  const planeWords = plan.planeBytes / 4;
  const given = args.planes && storageBinding(device, kernel, 'planes', args.planes, planeWords, 'the IDCT planes');
  const buffers = [coefficients, quant, output, ...(given ? [given] : [])].map((b) => b.buffer);
  if (new Set(buffers).size < buffers.length) {
    throw new EdgelakeError('invalid-input', `${kernel}: coefficients, quantTables, output and planes must be different buffers`);
  }
  // Created last: nothing can throw after it, so a failed call leaves no buffer behind.
  const planes = given
    || { buffer: transients.add(device.createBuffer({ label: `${kernel} planes`, size: plan.planeBytes, usage: GPUBufferUsage.STORAGE })), size: plan.planeBytes };

  const idct = computePipeline(device, { label: 'jpeg-idct', code: jpegIdctWgsl });
  const [idctParams, workgroups] = idctParameters(plan);
  pass.setPipeline(idct);
  pass.setBindGroup(0, paramsBindGroup(device, transients, idct, 'jpeg-idct', idctParams));
  // Coefficients come uploaded per image: new bind groups, rather than filling the cache with dead ones.
  pass.setBindGroup(1, createBindGroup(device, idct, 1, `jpeg-idct ${args.coefficients.label}`, [coefficients, quant, planes]));
  pass.dispatchWorkgroups(...workgroupGrid(device, workgroups));

  const color = computePipeline(device, {
    label: `jpeg-color-${plan.color}`,
    code: jpegColorWgsl,
    constants: { WORKGROUP_SIZE: COLOR_WORKGROUP, COLOR: COLOR_CODES[plan.color] },
  });
  pass.setPipeline(color);
  pass.setBindGroup(0, paramsBindGroup(device, transients, color, 'jpeg-color', colorParameters(plan)));
  pass.setBindGroup(1, createBindGroup(device, color, 1, `jpeg-color ${planes.buffer.label} -> ${output.buffer.label}`, [planes, output]));
  pass.dispatchWorkgroups(...workgroupGrid(device, Math.ceil(pixels / COLOR_WORKGROUP)));
  return transients;
}

/** idct.wgsl.ts's Params (counts, blocks[3], planes[3]) and its workgroup count. */
function idctParameters(plan: JpegPlan): [Uint32Array, number] {
  const data = new Uint32Array(4 + 12 + 12);
  let workgroups = 0;
  plan.components.forEach((p, c) => {
    data.set([p.firstBlock, p.blocksWide, p.validBlocksWide, p.validBlocksHigh], 4 + c * 4);
    data.set([workgroups, p.offset / 4, p.stride / 4, p.size], 16 + c * 4);
    workgroups += p.validBlocksHigh * Math.ceil(p.validBlocksWide / IDCT_BLOCKS_PER_WORKGROUP);
  });
  data.set([plan.components.length, workgroups], 0);
  return [data, workgroups];
}

/** color.wgsl.ts's Params (size, layout[3], modes[3]). */
function colorParameters(plan: JpegPlan): Uint32Array {
  const data = new Uint32Array(4 + 12 + 12);
  data.set([plan.width, plan.height, plan.outWidth * plan.outHeight, plan.orientation], 0);
  plan.components.forEach((p, c) => {
    data.set([p.offset / 4, p.stride / 4, p.sampleWidth, p.sampleHeight], 4 + c * 4);
    data.set([UPSAMPLE_CODES[p.upsample], p.hExpand, p.vExpand, 0], 16 + c * 4);
  });
  return data;
}
