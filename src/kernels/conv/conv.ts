import { EdgelakeError } from '../../errors.js';
import { assertDeviceAlive, cachedBindGroup, computePipeline, createBindGroup, paramsBindGroup, storageBinding, Transients, workgroupGrid } from '../pipelines.js';
import {
  convPlan, type Conv2dArgs, type Conv2dBackwardInputArgs, type Conv2dBackwardWeightArgs, type ConvPlan,
} from './conv.ref.js';
import { conv2dDilateWgsl, conv2dPackWgsl, conv2dWeightGradWgsl, conv2dWeightReduceWgsl, conv2dWgsl } from './conv.wgsl.js';

// Register arrays per invocation, as conv.wgsl.ts declares them.
const MAX_ACC = 64;
const MAX_ROW = 48;
const GRAD_MAX_ACC = 48;
const GRAD_MAX_SEG = 64;
/** Widest kernel the register tiles hold. */
export const MAX_KERNEL_WIDTH = 16;
// Defaults measured on lavapipe with bench/conv.ts --sweep: bigger tiles spill, smaller ones load more per multiply-add.
const FORWARD_PX = 16;
const FORWARD_CO4 = 4;
const WEIGHT_GRAD_PX = 14;
const WEIGHT_GRAD_CI = 4;
const WEIGHT_GRAD_CO4 = 2;
// Partial sums of the weight gradient: enough workgroups to fill the device, few chunks to add up.
const WEIGHT_GRAD_WORKGROUPS = 64;
const WORKGROUP_SIZE = 64;

/** Register tile of an invocation (bench/conv.ts sweeps them); the defaults suit lavapipe. */
export interface ConvTiling {
  /** Output pixels along a row per invocation (forward, backward input), output columns per row segment (weight gradient). */
  px?: number;
  /** Output channels per invocation, in fours. */
  co4?: number;
  /** Weight gradient: input channels per invocation. */
  ci?: number;
  /** Weight gradient: how many workgroups the partial sums aim at. */
  workgroups?: number;
}
type Tuned = { tiling?: ConvTiling };

/**
 * Records output = relu?(conv(input, weight) + bias) into `pass` (NCHW float32, weights
 * [cOut, cIn, kh, kw]); the caller submits, then destroys the returned transients.
 */
export function encodeConv2d(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  args: Conv2dArgs<GPUBuffer> & Tuned,
  transients: Transients = new Transients(),
): Transients {
  const kernel = 'conv2d';
  assertDeviceAlive(device, kernel);
  const p = plan(args, kernel);
  if (args.activation !== undefined && args.activation !== 'none' && args.activation !== 'relu') {
    throw new EdgelakeError('invalid-input', `${kernel}: activation must be 'none' or 'relu', got '${String(args.activation)}'`);
  }
  const input = storageBinding(device, kernel, 'input', args.input, p.inputSize);
  const weight = storageBinding(device, kernel, 'weight', args.weight, p.weightSize);
  const bias = args.bias ? storageBinding(device, kernel, 'bias', args.bias, p.cOut) : undefined;
  const output = storageBinding(device, kernel, 'output', args.output, p.outputSize);
  checkDistinct(kernel, [output], bias ? [input, weight, bias] : [input, weight]);
  const { n, cIn, h, w, cOut, kh, kw } = p;
  return correlate(device, pass, transients, {
    label: kernel, source: { binding: input, transient: false }, weight, bias, dst: output, relu: args.activation === 'relu', n, stride: p.stride, kh, kw,
    cSrc: cIn, srcH: h, srcW: w, cDst: cOut, dstH: p.oh, dstW: p.ow, padH: p.pad, padW: p.pad,
    weightIndex: [0, kh * kw, cIn * kh * kw, kw, 1], tiling: args.tiling,
  });
}

/** Records gradInput = d(loss)/d(input) given gradOutput, overwriting gradInput. */
export function encodeConv2dBackwardInput(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  args: Conv2dBackwardInputArgs<GPUBuffer> & Tuned,
  transients: Transients = new Transients(),
): Transients {
  const kernel = 'conv2d backward input';
  assertDeviceAlive(device, kernel);
  const p = plan(args, kernel);
  const gradOutput = storageBinding(device, kernel, 'gradOutput', args.gradOutput, p.outputSize);
  const weight = storageBinding(device, kernel, 'weight', args.weight, p.weightSize);
  const gradInput = storageBinding(device, kernel, 'gradInput', args.gradInput, p.inputSize);
  checkDistinct(kernel, [gradInput], [gradOutput, weight]);
  const { n, cIn, cOut, kh, kw, stride, oh, ow } = p;
  // A stride-1 correlation of gradOutput, dilated by the stride, with the flipped, transposed kernel.
  const [srcH, srcW] = [(oh - 1) * stride + 1, (ow - 1) * stride + 1];
  const source = stride === 1 ? { binding: gradOutput, transient: false } : dilate(device, pass, transients, kernel, gradOutput, n * cOut, oh, ow, stride);
  return correlate(device, pass, transients, {
    label: kernel, source, weight, dst: gradInput, relu: false, n, stride: 1, kh, kw,
    cSrc: cOut, srcH, srcW, cDst: cIn, dstH: p.h, dstW: p.w, padH: kh - 1 - p.pad, padW: kw - 1 - p.pad,
    weightIndex: [kh * kw - 1, cIn * kh * kw, kh * kw, -kw, -1], tiling: args.tiling,
  });
}

/** One correlation for conv2dWgsl: dst[b, o] = sum over i of src[b, i] (x) packed(weight)[i, o], strided and padded. */
interface Correlation {
  label: string;
  source: { binding: GPUBufferBinding; transient: boolean };
  weight: GPUBufferBinding;
  bias?: GPUBufferBinding;
  dst: GPUBufferBinding;
  relu: boolean;
  n: number; stride: number; kh: number; kw: number; padH: number; padW: number;
  cSrc: number; srcH: number; srcW: number;
  cDst: number; dstH: number; dstW: number;
  /** [base, wSrc, wDst, wRow, wCol] of conv2dPackWgsl. */
  weightIndex: [number, number, number, number, number];
  tiling?: ConvTiling;
}

function correlate(device: GPUDevice, pass: GPUComputePassEncoder, transients: Transients, c: Correlation): Transients {
  // Output pixels per invocation: rows split evenly, as many as the row registers allow.
  const pxMax = Math.max(1, Math.min(c.tiling?.px ?? FORWARD_PX, Math.floor((MAX_ROW - c.kw) / c.stride) + 1));
  const rowBlocks = Math.ceil(c.dstW / pxMax);
  const px = Math.ceil(c.dstW / rowBlocks);
  const co4 = Math.max(1, Math.min(c.tiling?.co4 ?? FORWARD_CO4, Math.floor(MAX_ACC / px), Math.ceil(c.cDst / 4)));
  const cDstPadded = Math.ceil(c.cDst / (4 * co4)) * 4 * co4;

  const packedSize = c.cSrc * c.kh * c.kw * cDstPadded;
  const packed = transients.add(device.createBuffer({ label: `${c.label} packed weights`, size: packedSize * 4, usage: GPUBufferUsage.STORAGE }));
  const [base, wSrc, wDst, wRow, wCol] = c.weightIndex;
  dispatch(device, pass, transients, { label: `${c.label} pack`, code: conv2dPackWgsl }, packedSize,
    new Int32Array([c.kh, c.kw, c.cDst, cDstPadded, packedSize, base, wSrc, wDst, wRow, wCol, 0, 0]), [c.weight, { buffer: packed }]);

  const blocks = c.n * c.dstH * rowBlocks;
  const blockGroups = Math.ceil(blocks / WORKGROUP_SIZE);
  const dstGroups = cDstPadded / (4 * co4);
  const pipeline = computePipeline(device, {
    label: c.label,
    code: conv2dWgsl,
    constants: { WORKGROUP_SIZE, KW: c.kw, STRIDE: c.stride, PX: px, CO4: co4, RELU: Number(c.relu), BIAS: Number(c.bias !== undefined) },
  });
  const params = new Int32Array([
    c.n, c.cSrc, c.srcH, c.srcW, c.cDst, c.dstH, c.dstW, rowBlocks,
    c.padH, c.padW, c.kh, blockGroups, dstGroups, cDstPadded / 4, 0, 0,
  ]);
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, paramsBindGroup(device, transients, pipeline, c.label, params, [{ buffer: packed }]));
  // Without a bias the source stands in (read-only, never read). Caller's buffers repeat: cached.
  const data = [c.source.binding, c.bias ?? c.source.binding, c.dst];
  const label = `${c.label} ${data.map((b) => b.buffer.label).join(', ')}`;
  pass.setBindGroup(1, c.source.transient ? createBindGroup(device, pipeline, 1, label, data) : cachedBindGroup(device, pipeline, 1, label, data));
  pass.dispatchWorkgroups(...workgroupGrid(device, blockGroups * dstGroups));
  return transients;
}

/**
 * Records gradWeight (+)= d(loss)/d(weight) and gradBias (+)= the sum of gradOutput over
 * n, oh, ow: partial sums per chunk of rows into a transient buffer, then one pass adding them
 * up (deterministic, no atomics). Destroy the returned transients after submitting.
 */
export function encodeConv2dBackwardWeight(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  args: Conv2dBackwardWeightArgs<GPUBuffer> & Tuned,
  transients: Transients = new Transients(),
): Transients {
  const kernel = 'conv2d backward weight';
  assertDeviceAlive(device, kernel);
  const p = plan(args, kernel);
  const input = storageBinding(device, kernel, 'input', args.input, p.inputSize);
  const gradOutput = storageBinding(device, kernel, 'gradOutput', args.gradOutput, p.outputSize);
  const gradWeight = storageBinding(device, kernel, 'gradWeight', args.gradWeight, p.weightSize);
  const gradBias = args.gradBias ? storageBinding(device, kernel, 'gradBias', args.gradBias, p.cOut) : undefined;
  checkDistinct(kernel, gradBias ? [gradWeight, gradBias] : [gradWeight], [input, gradOutput]);

  const { n, cIn, h, w, cOut, oh, ow, kh, kw, stride, pad } = p;
  // Input channels per invocation: each uniform gradOutput load then feeds ci * kw multiply-adds.
  const ci = Math.max(1, Math.min(args.tiling?.ci ?? WEIGHT_GRAD_CI, cIn, Math.floor(GRAD_MAX_ACC / kw), Math.floor(GRAD_MAX_SEG / kw)));
  const co4 = Math.max(1, Math.min(args.tiling?.co4 ?? WEIGHT_GRAD_CO4, Math.floor(GRAD_MAX_ACC / (ci * kw)), Math.ceil(cOut / 4)));
  const px = Math.max(1, Math.min(args.tiling?.px ?? WEIGHT_GRAD_PX, ow, Math.floor((Math.floor(GRAD_MAX_SEG / ci) - kw) / stride) + 1));
  const lanes = Math.ceil(cIn / ci) * kh + 1; // one per (input channel group, ky), and the bias lane
  const groupSize = Math.min(WORKGROUP_SIZE, Math.ceil(lanes / 8) * 8);
  const laneGroups = Math.ceil(lanes / groupSize);
  const outGroups = Math.ceil(cOut / (co4 * 4));
  const laneStride = cIn * kh * kw + kw; // per output channel: the taps, then the bias (and kw - 1 unused)
  const chunkStride = cOut * laneStride;
  const limit = device.limits.maxStorageBufferBindingSize;
  if (chunkStride * 4 > limit) {
    throw new EdgelakeError('limit', `${kernel}: ${chunkStride * 4} bytes of partial sums exceed this device's ${limit}-byte storage binding`);
  }
  // Small cIn leaves SIMD lanes idle: `split` invocations then share a lane's taps, on alternate rows.
  const split = laneGroups === 1 ? Math.floor(groupSize / lanes) : 1;
  const rows = n * oh;
  const wanted = Math.min(rows, Math.ceil((args.tiling?.workgroups ?? WEIGHT_GRAD_WORKGROUPS) / (laneGroups * outGroups)), Math.floor(limit / (chunkStride * 4 * split)));
  const rowsPerChunk = Math.ceil(rows / Math.max(1, wanted));
  const chunks = Math.ceil(rows / rowsPerChunk);

  const partial = transients.add(device.createBuffer({ label: `${kernel} partial sums`, size: chunks * split * chunkStride * 4, usage: GPUBufferUsage.STORAGE }));
  const gradPipeline = computePipeline(device, {
    label: `${kernel} partials`,
    code: conv2dWeightGradWgsl,
    constants: { WORKGROUP_SIZE: groupSize, KH: kh, KW: kw, STRIDE: stride, CI: ci, CO4: co4, PX: px },
  });
  pass.setPipeline(gradPipeline);
  pass.setBindGroup(0, paramsBindGroup(device, transients, gradPipeline, `${kernel} partials`,
    new Int32Array([n, cIn, h, w, cOut, oh, ow, lanes, pad, rowsPerChunk, chunks, laneGroups, outGroups, chunkStride, laneStride, split])));
  pass.setBindGroup(1, createBindGroup(device, gradPipeline, 1, `${kernel} partials`, [input, gradOutput, { buffer: partial }]));
  pass.dispatchWorkgroups(...workgroupGrid(device, laneGroups * outGroups * chunks));

  const reducePipeline = computePipeline(device, {
    label: `${kernel} reduce`,
    code: conv2dWeightReduceWgsl,
    constants: { WORKGROUP_SIZE, ACCUMULATE: Number(args.accumulate === true), BIAS: Number(gradBias !== undefined) },
  });
  // Without a gradBias a 4-byte stand-in is bound: the shader never writes it.
  const bias = gradBias ?? { buffer: transients.add(device.createBuffer({ label: `${kernel} no bias`, size: 4, usage: GPUBufferUsage.STORAGE })) };
  pass.setPipeline(reducePipeline);
  pass.setBindGroup(0, paramsBindGroup(device, transients, reducePipeline, `${kernel} reduce`, new Int32Array([chunks * split, chunkStride, laneStride, cIn * kh * kw])));
  pass.setBindGroup(1, createBindGroup(device, reducePipeline, 1, `${kernel} reduce -> ${gradWeight.buffer.label}`, [{ buffer: partial }, gradWeight, bias]));
  pass.dispatchWorkgroups(...workgroupGrid(device, Math.ceil(chunkStride / WORKGROUP_SIZE)));
  return transients;
}

/** gradOutput with `stride` - 1 zeros between values, in a transient buffer: the source of a stride-1 correlation. */
function dilate(device: GPUDevice, pass: GPUComputePassEncoder, transients: Transients, kernel: string, src: GPUBufferBinding,
  planes: number, h: number, w: number, stride: number): { binding: GPUBufferBinding; transient: boolean } {
  const [dstH, dstW] = [(h - 1) * stride + 1, (w - 1) * stride + 1];
  const bytes = planes * dstH * dstW * 4;
  const limit = device.limits.maxStorageBufferBindingSize;
  if (bytes > limit) throw new EdgelakeError('limit', `${kernel}: ${bytes} bytes of dilated '${src.buffer.label}' exceed this device's ${limit}-byte storage binding`);
  const copy = transients.add(device.createBuffer({ label: `${kernel} ${src.buffer.label} dilated`, size: bytes, usage: GPUBufferUsage.STORAGE }));
  dispatch(device, pass, transients, { label: `${kernel} dilate`, code: conv2dDilateWgsl, constants: { WORKGROUP_SIZE, DILATION: stride } },
    planes * dstH * dstW, new Uint32Array([h, w, dstH, dstW, planes * dstH * dstW, 0, 0, 0]), [src, { buffer: copy }]);
  return { binding: { buffer: copy }, transient: true };
}

/** One dispatch of `count` invocations of a one-group shader: params, then the buffers. */
function dispatch(device: GPUDevice, pass: GPUComputePassEncoder, transients: Transients, source: { label: string; code: string; constants?: Record<string, number> },
  count: number, params: Int32Array | Uint32Array, buffers: GPUBufferBinding[]): void {
  const pipeline = computePipeline(device, { constants: { WORKGROUP_SIZE }, ...source });
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, paramsBindGroup(device, transients, pipeline, source.label, params, buffers));
  pass.dispatchWorkgroups(...workgroupGrid(device, Math.ceil(count / WORKGROUP_SIZE)));
}

function plan(shape: Parameters<typeof convPlan>[0], kernel: string): ConvPlan {
  const p = convPlan(shape, kernel);
  if (p.kw > MAX_KERNEL_WIDTH) {
    throw new EdgelakeError('limit', `${kernel}: kernels up to ${MAX_KERNEL_WIDTH} wide are supported, got ${p.kw}`);
  }
  return p;
}

/** Written buffers may not be read or written by another binding of the same dispatch. */
function checkDistinct(kernel: string, written: GPUBufferBinding[], read: GPUBufferBinding[]): void {
  for (const [k, out] of written.entries()) {
    if ([...read, ...written.slice(0, k)].some((b) => b.buffer === out.buffer)) {
      throw new EdgelakeError('invalid-input', `${kernel}: '${out.buffer.label}' is bound twice, once as an output`);
    }
  }
}
