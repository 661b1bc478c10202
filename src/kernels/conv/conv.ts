import { EdgelakeError } from '../../errors.js';
import { assertDeviceAlive, cachedBindGroup, computePipeline, Transients, uploadBuffer, workgroupGrid } from '../pipelines.js';
import {
  convPlan, type Conv2dArgs, type Conv2dBackwardInputArgs, type Conv2dBackwardWeightArgs, type ConvPlan,
} from './conv.ref.js';
import { conv2dWeightGradWgsl, conv2dWeightReduceWgsl, conv2dWgsl } from './conv.wgsl.js';

// Register tiles (conv.wgsl.ts): accumulators and row segments per invocation, as the shaders declare them.
const MAX_ACC = 16;
const MAX_SEG = 32;
/** Widest kernel the register tiles hold. */
export const MAX_KERNEL_WIDTH = 16;
// Tuned with bench/conv.ts on lavapipe: 14 pixels x 4 channels forward, 8 columns in the weight gradient.
const FORWARD_PX = 14;
const FORWARD_CO4 = 1;
const WEIGHT_GRAD_PX = 8;
const WEIGHT_GRAD_CI = 4;
// Partial sums of the weight gradient: enough workgroups to fill the device, few chunks to add up.
const WEIGHT_GRAD_WORKGROUPS = 64;
const WORKGROUP_SIZE = 64;

/** Register tile of an invocation (bench/conv.ts sweeps them); the defaults suit lavapipe. */
export interface ConvTiling {
  /** Output pixels along a row (forward, backward input) or output columns per segment (weight gradient). */
  px?: number;
  /** Output channels, in fours. */
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
  const buffers = [
    checkBuffer(device, kernel, 'input', args.input, p.inputSize),
    checkBuffer(device, kernel, 'weight', args.weight, p.weightSize),
    ...(args.bias ? [checkBuffer(device, kernel, 'bias', args.bias, p.cOut)] : []),
  ];
  const output = checkBuffer(device, kernel, 'output', args.output, p.outputSize);
  checkDistinct(kernel, [output], buffers);
  const { cIn, cOut, kh, kw } = p;
  return correlate(device, pass, transients, {
    label: kernel, src: buffers[0], weight: buffers[1], bias: args.bias ? buffers[2] : undefined, dst: output,
    relu: args.activation === 'relu', n: p.n, stride: p.stride, dilation: 1, kh, kw,
    cSrc: cIn, srcH: p.h, srcW: p.w, cDst: cOut, dstH: p.oh, dstW: p.ow, padH: p.pad, padW: p.pad,
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
  const gradOutput = checkBuffer(device, kernel, 'gradOutput', args.gradOutput, p.outputSize);
  const weight = checkBuffer(device, kernel, 'weight', args.weight, p.weightSize);
  const gradInput = checkBuffer(device, kernel, 'gradInput', args.gradInput, p.inputSize);
  checkDistinct(kernel, [gradInput], [gradOutput, weight]);
  const { cIn, cOut, kh, kw } = p;
  // A stride-1 correlation of gradOutput, dilated by the stride, with the flipped, transposed kernel.
  return correlate(device, pass, transients, {
    label: kernel, src: gradOutput, weight, dst: gradInput, relu: false, n: p.n, stride: 1, dilation: p.stride, kh, kw,
    cSrc: cOut, srcH: p.oh, srcW: p.ow, cDst: cIn, dstH: p.h, dstW: p.w, padH: kh - 1 - p.pad, padW: kw - 1 - p.pad,
    weightIndex: [kh * kw - 1, cIn * kh * kw, kh * kw, -kw, -1], tiling: args.tiling,
  });
}

interface Correlation {
  label: string;
  src: GPUBufferBinding;
  weight: GPUBufferBinding;
  bias?: GPUBufferBinding;
  dst: GPUBufferBinding;
  relu: boolean;
  n: number;
  stride: number;
  dilation: number;
  kh: number;
  kw: number;
  cSrc: number;
  srcH: number;
  srcW: number;
  cDst: number;
  dstH: number;
  dstW: number;
  padH: number;
  padW: number;
  /** [wBase, wSrc, wDst, wRow, wCol] of conv2dWgsl. */
  weightIndex: [number, number, number, number, number];
  tiling?: ConvTiling;
}

function correlate(device: GPUDevice, pass: GPUComputePassEncoder, transients: Transients, c: Correlation): Transients {
  // Output pixels per invocation: rows split evenly, as many as the segment registers allow.
  const pxMax = Math.min(c.tiling?.px ?? FORWARD_PX, Math.floor((MAX_SEG - c.kw) / c.stride) + 1);
  const rowBlocks = Math.ceil(c.dstW / pxMax);
  const px = Math.ceil(c.dstW / rowBlocks);
  const co4 = Math.min(c.tiling?.co4 ?? FORWARD_CO4, Math.floor(MAX_ACC / px), Math.ceil(c.cDst / 4));
  const blocks = c.n * c.dstH * rowBlocks;
  const blockGroups = Math.ceil(blocks / WORKGROUP_SIZE);
  const dstGroups = Math.ceil(c.cDst / (co4 * 4));
  const pipeline = computePipeline(device, {
    label: c.label,
    code: conv2dWgsl,
    constants: {
      WORKGROUP_SIZE, KW: c.kw, STRIDE: c.stride, DILATION: c.dilation, PX: px, CO4: co4,
      RELU: Number(c.relu), BIAS: Number(c.bias !== undefined),
    },
  });
  const params = new Int32Array([
    c.n, c.cSrc, c.srcH, c.srcW, c.cDst, c.dstH, c.dstW, rowBlocks,
    c.padH, c.padW, (c.srcH - 1) * c.dilation + 1, (c.srcW - 1) * c.dilation + 1,
    ...c.weightIndex, blockGroups, dstGroups, c.kh,
  ]);
  const uniforms = transients.add(uploadBuffer(device, `${c.label} params`, GPUBufferUsage.UNIFORM, params));
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, device.createBindGroup({
    label: `${c.label} params`,
    layout: pipeline.getBindGroupLayout(0),
    entries: [{ binding: 0, resource: { buffer: uniforms } }],
  }));
  // Without a bias the weights stand in (read-only, never read), so the cached bind group still hits.
  const data = [c.src, c.weight, c.bias ?? c.weight, c.dst];
  const label = `${c.label} ${data.map((b) => b.buffer.label).join(', ')}`;
  pass.setBindGroup(1, cachedBindGroup(device, pipeline, 1, label, data));
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
  const input = checkBuffer(device, kernel, 'input', args.input, p.inputSize);
  const gradOutput = checkBuffer(device, kernel, 'gradOutput', args.gradOutput, p.outputSize);
  const gradWeight = checkBuffer(device, kernel, 'gradWeight', args.gradWeight, p.weightSize);
  const gradBias = args.gradBias ? checkBuffer(device, kernel, 'gradBias', args.gradBias, p.cOut) : undefined;
  checkDistinct(kernel, gradBias ? [gradWeight, gradBias] : [gradWeight], [input, gradOutput]);

  const { n, cIn, h, w, cOut, oh, ow, kh, kw, stride, pad } = p;
  // Input channels per invocation: each uniform gradOutput load then feeds ci * kw multiply-adds.
  const ci = Math.max(1, Math.min(args.tiling?.ci ?? WEIGHT_GRAD_CI, cIn, Math.floor(MAX_ACC / kw), Math.floor(MAX_SEG / kw)));
  const co4 = Math.max(1, Math.min(args.tiling?.co4 ?? 4, Math.floor(MAX_ACC / (ci * kw)), Math.ceil(cOut / 4)));
  const px = Math.max(1, Math.min(args.tiling?.px ?? WEIGHT_GRAD_PX, ow, Math.floor((Math.floor(MAX_SEG / ci) - kw) / stride) + 1));
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
  const rows = n * oh;
  const wanted = Math.min(rows, Math.ceil((args.tiling?.workgroups ?? WEIGHT_GRAD_WORKGROUPS) / (laneGroups * outGroups)), Math.floor(limit / (chunkStride * 4)));
  const rowsPerChunk = Math.ceil(rows / Math.max(1, wanted));
  const chunks = Math.ceil(rows / rowsPerChunk);

  const { STORAGE } = GPUBufferUsage;
  const partial = transients.add(device.createBuffer({ label: `${kernel} partial sums`, size: chunks * chunkStride * 4, usage: STORAGE }));
  const gradPipeline = computePipeline(device, {
    label: `${kernel} partials`,
    code: conv2dWeightGradWgsl,
    constants: { WORKGROUP_SIZE: groupSize, KH: kh, KW: kw, STRIDE: stride, CI: ci, CO4: co4, PX: px },
  });
  const gradParams = new Uint32Array([n, cIn, h, w, cOut, oh, ow, lanes, pad, rowsPerChunk, chunks, laneGroups, outGroups, chunkStride, laneStride, 0]);
  pass.setPipeline(gradPipeline);
  pass.setBindGroup(0, paramsGroup(device, transients, gradPipeline, `${kernel} partials params`, gradParams));
  pass.setBindGroup(1, device.createBindGroup({
    label: `${kernel} partials ${input.buffer.label}, ${gradOutput.buffer.label}`,
    layout: gradPipeline.getBindGroupLayout(1),
    entries: [input, gradOutput, { buffer: partial }].map((resource, binding) => ({ binding, resource })),
  }));
  pass.dispatchWorkgroups(...workgroupGrid(device, laneGroups * outGroups * chunks));

  const reducePipeline = computePipeline(device, {
    label: `${kernel} reduce`,
    code: conv2dWeightReduceWgsl,
    constants: { WORKGROUP_SIZE, ACCUMULATE: Number(args.accumulate === true), BIAS: Number(gradBias !== undefined) },
  });
  const reduceParams = new Uint32Array([chunks, chunkStride, laneStride, cIn * kh * kw]);
  // Without a gradBias a 4-byte stand-in is bound: the shader never writes it.
  const bias = gradBias ?? { buffer: transients.add(device.createBuffer({ label: `${kernel} no bias`, size: 4, usage: STORAGE })) };
  pass.setPipeline(reducePipeline);
  pass.setBindGroup(0, paramsGroup(device, transients, reducePipeline, `${kernel} reduce params`, reduceParams));
  pass.setBindGroup(1, device.createBindGroup({
    label: `${kernel} reduce -> ${gradWeight.buffer.label}`,
    layout: reducePipeline.getBindGroupLayout(1),
    entries: [{ buffer: partial }, gradWeight, bias].map((resource, binding) => ({ binding, resource })),
  }));
  pass.dispatchWorkgroups(...workgroupGrid(device, Math.ceil(chunkStride / WORKGROUP_SIZE)));
  return transients;
}

function paramsGroup(device: GPUDevice, transients: Transients, pipeline: GPUComputePipeline, label: string, data: Uint32Array): GPUBindGroup {
  const buffer = transients.add(uploadBuffer(device, label, GPUBufferUsage.UNIFORM, data));
  return device.createBindGroup({ label, layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer } }] });
}

function plan(shape: Parameters<typeof convPlan>[0], kernel: string): ConvPlan {
  const p = convPlan(shape, kernel);
  if (p.kw > MAX_KERNEL_WIDTH) {
    throw new EdgelakeError('limit', `${kernel}: kernels up to ${MAX_KERNEL_WIDTH} wide are supported, got ${p.kw}`);
  }
  return p;
}

/** The binding of `count` floats of `buffer`, after checking its usage, size and the binding limit. */
function checkBuffer(device: GPUDevice, kernel: string, name: string, buffer: GPUBuffer, count: number): GPUBufferBinding {
  const what = `${kernel}: ${name} '${buffer?.label}'`;
  if (!buffer || typeof buffer.size !== 'number') throw new EdgelakeError('invalid-input', `${kernel}: ${name} must be a GPUBuffer`);
  if ((buffer.usage & GPUBufferUsage.STORAGE) === 0) throw new EdgelakeError('invalid-input', `${what} needs GPUBufferUsage.STORAGE`);
  const bytes = count * 4;
  if (buffer.size < bytes) throw new EdgelakeError('invalid-input', `${what} holds ${buffer.size} bytes, the shape needs ${bytes}`);
  const limit = device.limits.maxStorageBufferBindingSize;
  if (bytes > limit) {
    throw new EdgelakeError('limit', `${what}: ${bytes} bytes exceed this device's ${limit}-byte storage binding; split the batch`);
  }
  return { buffer, size: bytes };
}

/** Written buffers may not be read or written by another binding of the same dispatch. */
function checkDistinct(kernel: string, written: GPUBufferBinding[], read: GPUBufferBinding[]): void {
  for (const [k, out] of written.entries()) {
    const other = [...read, ...written.slice(0, k)].find((b) => b.buffer === out.buffer);
    if (other) throw new EdgelakeError('invalid-input', `${kernel}: '${out.buffer.label}' is bound twice, once as an output`);
  }
}
