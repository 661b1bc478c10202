import { EdgelakeError } from '../../errors.js';
import { assertDeviceAlive, cachedBindGroup, computePipeline, paramsBindGroup, storageBinding, Transients, workgroupGrid } from '../pipelines.js';
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
  const values = a.n * a.classes;
  const buffers = checkBuffers(device, 'softmax', [['logits', a.logits, values], ['probs', a.probs, values]]);
  if (a.n === 0) return transients;
  record(device, pass, transients, { label: 'softmax', entryPoint: 'softmax', constants: {} }, a, buffers);
  return transients;
}

/**
 * Records softmax cross-entropy into `pass`: per-sample loss, correct flags and the gradient
 * with respect to the logits, in one dispatch (one workgroup per sample). Index labels outside
 * [0, classes) mean no target: loss 0, gradient softmax * gradScale, correct 0, and a 1 in
 * `invalid` (sum it and refuse the batch where that is an error). See softmaxCrossEntropyRef for the CPU twin.
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
  const values = a.n * a.classes;
  // In the order of the shader's bindings.
  const buffers = checkBuffers(device, kernel, [
    ['logits', a.logits, values],
    ['gradLogits', a.gradLogits, values],
    ['loss', a.loss, a.n],
    ['correct', a.correct, a.n],
    ['labels', a.labels, soft ? values : a.n],
    ...(a.invalid ? [['invalid', a.invalid, a.n] as Binding] : []),
  ]);
  if (a.n === 0) return transients;
  if (!a.invalid) {
    // The shader always writes the flags: a caller that wants none gets a scratch buffer.
    const scratch = transients.add(device.createBuffer({ label: `${kernel} invalid (unread)`, size: a.n * 4, usage: GPUBufferUsage.STORAGE }));
    buffers.push(storageBinding(device, kernel, 'invalid', scratch, a.n));
  }
  const entry = { label: `${kernel}-${a.labelKind}`, entryPoint: 'crossEntropy', constants: { SOFT_LABELS: +soft } };
  record(device, pass, transients, entry, a, buffers);
  return transients;
}

type Binding = [name: string, buffer: GPUBuffer, values: number];

// Every binding is its own buffer: WebGPU rejects a buffer bound both read-only and writable.
function checkBuffers(device: GPUDevice, kernel: string, bindings: Binding[]): GPUBufferBinding[] {
  for (const [i, [name, buffer]] of bindings.entries()) {
    const other = bindings.findIndex(([, b]) => b === buffer);
    if (other !== i) {
      throw new EdgelakeError('invalid-input', `${kernel}: ${bindings[other][0]} and ${name} are the same buffer '${buffer.label}'`);
    }
  }
  // A zero-row batch binds nothing; it still needs buffers that could be bound.
  return bindings.map(([name, buffer, values]) => storageBinding(device, kernel, name, buffer, values));
}

function record(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  transients: Transients,
  entry: { label: string; entryPoint: string; constants: Record<string, number> },
  a: { n: number; classes: number; gradScale?: number },
  buffers: GPUBufferBinding[],
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
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, paramsBindGroup(device, transients, pipeline, label, new Uint8Array(data)));
  // Model buffers repeat from step to step: cached.
  pass.setBindGroup(1, cachedBindGroup(device, pipeline, 1, `${label} ${buffers[0].buffer.label} -> ${buffers[1].buffer.label}`, buffers));
  pass.dispatchWorkgroups(...workgroupGrid(device, a.n));
}
