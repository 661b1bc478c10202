import { EdgelakeError } from '../../errors.js';
import { assertDeviceAlive, cachedBindGroup, computePipeline, Transients, uploadBuffer, workgroupGrid } from '../pipelines.js';
import { checkStorageBuffer } from '../reduce/reduce.js';
import { checkCrossEntropy, checkRows, lossWorkgroupSize, type SoftmaxArgs, type SoftmaxCrossEntropyArgs } from './loss.ref.js';
import { lossWgsl } from './loss.wgsl.js';

/**
 * Records probs = softmax(logits), row by row, into `pass` (the caller submits; destroy the
 * returned transients after submitting). See softmaxRef for the CPU twin.
 */
export function encodeSoftmax(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  a: SoftmaxArgs<GPUBuffer>,
  transients: Transients = new Transients(),
): Transients {
  assertDeviceAlive(device, 'softmax');
  checkRows('softmax', a.n, a.classes);
  const bytes = a.n * a.classes * 4;
  const bindings: Binding[] = [['logits', a.logits, bytes], ['probs', a.probs, bytes]];
  checkBuffers(device, 'softmax', bindings);
  if (a.n === 0) return transients;
  record(device, pass, transients, { label: 'softmax', entryPoint: 'softmax', constants: {} }, a, bindings);
  return transients;
}

/**
 * Records softmax cross-entropy into `pass`: per-sample loss, correct flags and the gradient
 * with respect to the logits, in one dispatch (one workgroup per sample). Index labels outside
 * [0, classes) mean no target: loss 0, gradient softmax * gradScale, correct 0 (validate labels
 * beforehand where that is an error). See softmaxCrossEntropyRef for the CPU twin.
 */
export function encodeSoftmaxCrossEntropy(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  a: SoftmaxCrossEntropyArgs<GPUBuffer, GPUBuffer>,
  transients: Transients = new Transients(),
): Transients {
  const kernel = 'softmaxCrossEntropy';
  assertDeviceAlive(device, kernel);
  checkRows(kernel, a.n, a.classes);
  checkCrossEntropy(a);
  const soft = a.labelKind === 'soft';
  const bytes = a.n * a.classes * 4;
  // In the order of the shader's bindings.
  const bindings: Binding[] = [
    ['logits', a.logits, bytes],
    ['gradLogits', a.gradLogits, bytes],
    ['loss', a.loss, a.n * 4],
    ['correct', a.correct, a.n * 4],
    ['labels', a.labels, soft ? bytes : a.n * 4],
  ];
  checkBuffers(device, kernel, bindings);
  if (a.n === 0) return transients;
  const entry = { label: `${kernel}-${a.labelKind}`, entryPoint: 'crossEntropy', constants: { SOFT_LABELS: +soft } };
  record(device, pass, transients, entry, a, bindings);
  return transients;
}

type Binding = [name: string, buffer: GPUBuffer, bytes: number];

// Every binding is its own buffer: WebGPU rejects a buffer bound both read-only and writable.
function checkBuffers(device: GPUDevice, kernel: string, bindings: Binding[]): void {
  for (const [i, [name, buffer]] of bindings.entries()) {
    const other = bindings.findIndex(([, b]) => b === buffer);
    if (other !== i) {
      throw new EdgelakeError('invalid-input', `${kernel}: ${bindings[other][0]} and ${name} are the same buffer '${buffer.label}'`);
    }
  }
  // A zero-row batch binds nothing; it still needs buffers that could be bound.
  for (const [, buffer, bytes] of bindings) checkStorageBuffer(device, buffer, bytes, kernel);
}

function record(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  transients: Transients,
  entry: { label: string; entryPoint: string; constants: Record<string, number> },
  a: { n: number; classes: number; gradScale?: number },
  bindings: Binding[],
): void {
  const { label } = entry;
  const pipeline = computePipeline(device, {
    label,
    code: lossWgsl,
    entryPoint: entry.entryPoint,
    constants: { WORKGROUP_SIZE: lossWorkgroupSize(a.classes), ...entry.constants },
  });
  const data = new ArrayBuffer(16);
  new Uint32Array(data, 0, 2).set([a.n, a.classes]);
  new Float32Array(data, 8, 1)[0] = a.gradScale ?? 0;
  const params = transients.add(uploadBuffer(device, `${label} params`, GPUBufferUsage.UNIFORM, new Uint8Array(data)));
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, device.createBindGroup({
    label: `${label} parameters`,
    layout: pipeline.getBindGroupLayout(0),
    entries: [{ binding: 0, resource: { buffer: params } }],
  }));
  // Model buffers repeat from step to step: cached.
  const buffers = bindings.map(([, buffer, bytes]) => ({ buffer, size: bytes }));
  pass.setBindGroup(1, cachedBindGroup(device, pipeline, 1, `${label} ${bindings[0][1].label} -> ${bindings[1][1].label}`, buffers));
  pass.dispatchWorkgroups(...workgroupGrid(device, a.n));
}
