import { EdgelakeError } from '../../errors.js';
import { assertDeviceAlive, cachedBindGroup, computePipeline, paramsBindGroup, storageBinding, Transients, workgroupGrid } from '../pipelines.js';
import { checkUncertainty, type UncertaintyArgs, type UncertaintyMeasure } from './uncertainty.ref.js';
import { uncertaintyWgsl } from './uncertainty.wgsl.js';

export interface UncertaintyGpuArgs extends UncertaintyArgs<GPUBuffer> {
  /** Invocations per workgroup (WGSL override constant); 64 unless tuning. variation-ratio may use fewer. */
  workgroupSize?: number;
}

const MEASURE_CODES: Record<UncertaintyMeasure, number> = {
  'least-confidence': 0, margin: 1, entropy: 2, bald: 3, 'variation-ratio': 4,
};

/**
 * Records the scoring of n samples into `pass` (the caller submits): one float32 score per
 * sample in `scores`, higher = more uncertain. See uncertaintyRef for the CPU twin. The
 * parameter buffer goes to `transients`: destroy it after submitting.
 */
export function encodeUncertainty(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  args: UncertaintyGpuArgs,
  transients: Transients = new Transients(),
): Transients {
  assertDeviceAlive(device, 'uncertainty');
  const floats = checkUncertainty(args);
  const { probs, scores, n, classes, passes, measure } = args;
  const name = `uncertainty ${measure}`;
  let workgroupSize = args.workgroupSize ?? 64;
  const maxSize = device.limits.maxComputeInvocationsPerWorkgroup;
  if (!Number.isInteger(workgroupSize) || workgroupSize < 1 || workgroupSize > maxSize) {
    throw new EdgelakeError('invalid-input', `${name}: workgroupSize must be an integer in 1..${maxSize}, got ${workgroupSize}`);
  }
  let voteSlots = 1;
  if (measure === 'variation-ratio') {
    // Each invocation keeps one u32 argmax per pass in workgroup memory: fewer invocations if need be.
    const perInvocation = passes * 4;
    const storage = device.limits.maxComputeWorkgroupStorageSize;
    if (perInvocation > storage) {
      throw new EdgelakeError('limit', `${name}: ${passes} passes need ${perInvocation} bytes of workgroup memory, this device has ${storage}`);
    }
    workgroupSize = Math.min(workgroupSize, Math.floor(storage / perInvocation));
    voteSlots = workgroupSize * passes;
  }
  if (n === 0) return transients;
  if (probs === scores) throw new EdgelakeError('invalid-input', `${name}: probs and scores are the same buffer '${probs.label}'`);
  const bindings = [
    storageBinding(device, name, 'probs', probs, floats, `${passes} x ${n} x ${classes} probabilities`),
    storageBinding(device, name, 'scores', scores, n, `${n} scores`),
  ];

  const pipeline = computePipeline(device, {
    label: `uncertainty-${measure}`,
    code: uncertaintyWgsl,
    constants: { WORKGROUP_SIZE: workgroupSize, MEASURE: MEASURE_CODES[measure], VOTE_SLOTS: voteSlots },
  });
  const parameters = paramsBindGroup(device, transients, pipeline, name, Uint32Array.of(n, classes, passes, n * classes));
  // Model outputs and score buffers repeat from batch to batch (pooled): cached.
  const data = cachedBindGroup(device, pipeline, 1, `${name} ${probs.label} -> ${scores.label}`, bindings);
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, parameters);
  pass.setBindGroup(1, data);
  pass.dispatchWorkgroups(...workgroupGrid(device, Math.ceil(n / workgroupSize)));
  return transients;
}
