import { EdgelakeError } from '../../errors.js';
import { assertDeviceAlive, computePipeline, paramsBindGroup, storageBinding, Transients, uploadBuffer, workgroupGrid } from '../pipelines.js';
import { GRAY, MEAN_WORKGROUP } from './augment.ref.js';
import { augmentMeanWgsl, augmentWgsl, mixLabelsWgsl } from './augment.wgsl.js';
import { augmentParams, checkU32, PARAM_STRIDE, type AugmentMix } from './params.js';
import type { AugmentPlan } from './plan.js';

export interface AugmentArgs {
  /** n samples of plan.inputShape, float32 CHW; needs STORAGE usage. */
  input: GPUBuffer;
  /** n samples of plan.outputShape are written from offset 0; STORAGE, and not `input`. */
  output: GPUBuffer;
  n: number;
  /** Dataset indices of the samples (at least n): they key every random draw. */
  ids: Uint32Array;
  seed: number;
  epoch: number;
  /** augmentParams(plan, ids, seed, epoch), when the caller also needs it (e.g. augmentMix). */
  params?: Float32Array;
  /** Invocations per workgroup of the fused pass; 256 unless tuning. */
  workgroupSize?: number;
}

/**
 * Records plan.passes into `pass`: the mean gray reduction when contrast is jittered, then the
 * fused augmentation. The caller submits; destroy the returned transients after submitting.
 */
export function encodeAugment(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  plan: AugmentPlan,
  args: AugmentArgs,
  transients: Transients = new Transients(),
): Transients {
  assertDeviceAlive(device, 'augment');
  const { input, output, n, ids, seed, epoch } = args;
  const [c, h, w] = plan.inputShape;
  const [, outH, outW] = plan.outputShape;
  const workgroupSize = checkWorkgroupSize(device, args.workgroupSize ?? 256, 'augment');
  if (!Number.isInteger(n) || n < 0 || n > ids.length) {
    throw new EdgelakeError('invalid-input', `augment: n must be an integer in 0..${ids.length} (ids), got ${n}`);
  }
  checkU32('seed', seed);
  checkU32('epoch', epoch);
  if (n * outH * outW >= 2 ** 32) throw new EdgelakeError('limit', `augment: ${n} samples of ${outH}x${outW} pixels exceed 2^32 invocations; split the batch`);
  if (n === 0) return transients;
  if (input === output) throw new EdgelakeError('invalid-input', `augment: input and output are the same buffer '${input.label}'`);
  const inputBinding = storageBinding(device, 'augment', 'input', input, n * c * h * w, `${n} samples of ${c}x${h}x${w}`);
  const outputBinding = storageBinding(device, 'augment', 'output', output, n * c * outH * outW, `${n} samples of ${c}x${outH}x${outW}`);
  const params = args.params ?? augmentParams(plan, ids.subarray(0, n), seed, epoch);
  if (params.length !== n * PARAM_STRIDE) {
    throw new EdgelakeError('invalid-input', `augment: params hold ${params.length} floats, ${n} samples need ${n * PARAM_STRIDE}`);
  }

  const globals = new ArrayBuffer(112);
  new Uint32Array(globals, 0, 8).set([n, h, w, outH, outW, seed, epoch, 0]);
  const vec4 = (v: Float32Array, pad: number) => [0, 1, 2, 3].map((k) => v[k] ?? pad);
  new Float32Array(globals, 32, 20).set([
    h, w, plan.fill, (plan.noiseStd * Math.sqrt(3)) / 65536, plan.cutoutValue, 1 / (h * w), 0, 0,
    ...GRAY, 0, ...vec4(plan.mean, 0), ...vec4(plan.invStd, 1),
  ]);
  const { STORAGE, UNIFORM } = GPUBufferUsage;
  const uniforms = transients.add(uploadBuffer(device, 'augment globals', UNIFORM, new Uint8Array(globals)));
  const table = transients.add(uploadBuffer(device, 'augment params', STORAGE, params));
  const idBuffer = transients.add(uploadBuffer(device, 'augment ids', STORAGE, ids.subarray(0, n)));
  const means = transients.add(device.createBuffer({ label: 'augment mean gray', size: plan.stages.contrast ? n * 4 : 4, usage: STORAGE }));

  if (plan.stages.contrast) {
    const pipeline = computePipeline(device, {
      label: 'augment-mean',
      code: augmentMeanWgsl,
      constants: { CHANNELS: c, MEAN_WORKGROUP },
    });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, device.createBindGroup({
      label: `augment-mean ${input.label}`,
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: uniforms } },
        { binding: 1, resource: inputBinding },
        { binding: 2, resource: { buffer: means } },
      ],
    }));
    pass.dispatchWorkgroups(...workgroupGrid(device, n));
  }

  const { stages } = plan;
  const kernel = fusedKernel(device, {
    WORKGROUP_SIZE: workgroupSize,
    CHANNELS: c,
    BRIGHTNESS: +stages.brightness,
    CONTRAST: +stages.contrast,
    SATURATION: +stages.saturation,
    NOISE: +stages.noise,
    CUTOUT: +stages.cutout,
    MIXUP: +stages.mixup,
    NORMALIZE: +stages.normalize,
    CHANNELS_LAST: +(plan.outputLayout === 'HWC'),
  });
  pass.setPipeline(kernel.pipeline);
  pass.setBindGroup(0, device.createBindGroup({
    label: `augment ${input.label} -> ${output.label}`,
    layout: kernel.layout,
    entries: [
      { binding: 0, resource: { buffer: uniforms } },
      { binding: 1, resource: inputBinding },
      { binding: 2, resource: { buffer: table } },
      { binding: 3, resource: { buffer: idBuffer } },
      { binding: 4, resource: { buffer: means } },
      { binding: 5, resource: outputBinding },
    ],
  }));
  pass.dispatchWorkgroups(...workgroupGrid(device, Math.ceil((n * outH * outW) / workgroupSize)));
  return transients;
}

export interface MixLabelsArgs {
  /** n int32 labels; a label outside [0, classes) puts no mass anywhere. Needs STORAGE. */
  labels: GPUBuffer;
  /** n * classes float32 soft labels are written from offset 0; needs STORAGE. */
  output: GPUBuffer;
  classes: number;
  /** From augmentMix(plan, params): n partners and lambdas. */
  mix: AugmentMix;
  workgroupSize?: number;
}

/** Records the soft labels of a mixed batch (mixLabels on the GPU) into `pass`. */
export function encodeMixLabels(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  args: MixLabelsArgs,
  transients: Transients = new Transients(),
): Transients {
  assertDeviceAlive(device, 'mixLabels');
  const { labels, output, classes, mix } = args;
  const n = mix.partner.length;
  const workgroupSize = checkWorkgroupSize(device, args.workgroupSize ?? 256, 'mixLabels');
  if (!Number.isInteger(classes) || classes < 1 || n * classes >= 2 ** 32) {
    throw new EdgelakeError('invalid-input', `mixLabels: classes must be a positive integer (n * classes < 2^32), got ${classes}`);
  }
  if (mix.lambda.length !== n || mix.partner.some((p) => p >= n)) {
    throw new EdgelakeError('invalid-input', `mixLabels: mix needs ${n} lambdas and partners in 0..${n - 1}`);
  }
  if (n === 0) return transients;
  const labelsBinding = storageBinding(device, 'mixLabels', 'labels', labels, n, `${n} labels`);
  const outputBinding = storageBinding(device, 'mixLabels', 'output', output, n * classes, `${n} x ${classes} soft labels`);
  const table = new Float32Array(n * 4);
  for (let s = 0; s < n; s++) table.set([mix.partner[s], mix.lambda[s], 1 - mix.lambda[s], 0], s * 4);
  const pipeline = computePipeline(device, {
    label: 'mix-labels',
    code: mixLabelsWgsl,
    constants: { WORKGROUP_SIZE: workgroupSize },
  });
  const mixBuffer = transients.add(uploadBuffer(device, 'mix-labels table', GPUBufferUsage.STORAGE, table));
  const sizes = Uint32Array.of(n * classes, classes, 0, 0);
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, paramsBindGroup(device, transients, pipeline, `mix-labels ${labels.label} -> ${output.label}`, sizes, [
    labelsBinding, { buffer: mixBuffer }, outputBinding,
  ]));
  pass.dispatchWorkgroups(...workgroupGrid(device, Math.ceil((n * classes) / workgroupSize)));
  return transients;
}

interface FusedKernel { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }
interface FusedCache extends Omit<FusedKernel, 'pipeline'> {
  pipelineLayout: GPUPipelineLayout;
  module: GPUShaderModule;
  pipelines: Map<string, GPUComputePipeline>;
}
// An explicit layout: stages compiled out leave bindings unused, which 'auto' would drop.
const fused = new WeakMap<GPUDevice, FusedCache>();

function fusedKernel(device: GPUDevice, constants: Record<string, number>): FusedKernel {
  let cache = fused.get(device);
  if (!cache) {
    const entry = (binding: number, type: GPUBufferBindingType) => ({ binding, visibility: GPUShaderStage.COMPUTE, buffer: { type } });
    const layout = device.createBindGroupLayout({
      label: 'augment bindings',
      entries: [entry(0, 'uniform'), ...[1, 2, 3, 4].map((b) => entry(b, 'read-only-storage')), entry(5, 'storage')],
    });
    cache = {
      layout,
      pipelineLayout: device.createPipelineLayout({ label: 'augment layout', bindGroupLayouts: [layout] }),
      module: device.createShaderModule({ label: 'augment', code: augmentWgsl }),
      pipelines: new Map(),
    };
    fused.set(device, cache);
  }
  const key = `augment ${JSON.stringify(constants)}`;
  let pipeline = cache.pipelines.get(key);
  if (!pipeline) {
    pipeline = device.createComputePipeline({
      label: key,
      layout: cache.pipelineLayout,
      compute: { module: cache.module, entryPoint: 'main', constants },
    });
    cache.pipelines.set(key, pipeline);
  }
  return { pipeline, layout: cache.layout };
}

function checkWorkgroupSize(device: GPUDevice, size: number, name: string): number {
  const max = device.limits.maxComputeInvocationsPerWorkgroup;
  if (!Number.isInteger(size) || size < 1 || size > max) {
    throw new EdgelakeError('invalid-input', `${name}: workgroupSize must be an integer in 1..${max}, got ${size}`);
  }
  return size;
}
