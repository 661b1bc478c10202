import { EdgelakeError } from '../../errors.js';
import { assertDeviceAlive, cachedBindGroup, computePipeline, createBindGroup, paramsBindGroup, storageBinding, Transients, workgroupGrid } from '../pipelines.js';
import { SUM_PER_THREAD, SUM_WORKGROUP, sumPlan, type SumArgs } from './reduce.ref.js';
import { sumWgsl } from './reduce.wgsl.js';

const CHUNK = SUM_WORKGROUP * SUM_PER_THREAD;

/**
 * Records output[outputIndex] (+)= sum of input[0..count) into `pass`; the caller submits. Levels
 * of a workgroup tree reduction, one dispatch each, until one workgroup is left (1e6 values: 2
 * dispatches); the partial sums live in `transients`: destroy it after submitting. Sums recorded
 * one after another into one pass, into the same output buffer, run in order (WebGPU orders
 * dispatches that write a storage buffer), so per-step statistics can accumulate in place.
 * See sumRef for the order of the additions. A count of 0 writes 0 (or leaves the sum as is).
 */
export function encodeSum(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  a: SumArgs<GPUBuffer>,
  transients: Transients = new Transients(),
): Transients {
  assertDeviceAlive(device, 'sum');
  const { count, outputIndex, accumulate } = sumPlan(a);
  if (a.input === a.output) throw new EdgelakeError('invalid-input', `sum: input and output are the same buffer '${a.input.label}'`);
  // Bindings cannot be empty: a count of 0 still binds (and needs) 4 input bytes.
  storageBinding(device, 'sum', 'input', a.input, Math.max(1, count), `${count} values`);
  storageBinding(device, 'sum', 'output', a.output, outputIndex + 1, `outputIndex ${outputIndex}`);
  if (count === 0 && accumulate) return transients;

  const pipeline = computePipeline(device, {
    label: 'sum',
    code: sumWgsl,
    constants: { WORKGROUP_SIZE: SUM_WORKGROUP, PER_THREAD: SUM_PER_THREAD },
  });
  pass.setPipeline(pipeline);
  const level = (input: GPUBuffer, n: number, output: GPUBuffer, at: number, add: boolean, groups: number) => {
    pass.setBindGroup(0, paramsBindGroup(device, transients, pipeline, 'sum', Uint32Array.of(n, groups, at, +add)));
    const bindings = [{ buffer: input, size: Math.max(1, n) * 4 }, { buffer: output, size: (at + groups) * 4 }];
    const label = `sum ${input.label} -> ${output.label}`;
    // The caller's buffers repeat every step (loss, stats): cached; partial sums are new each time.
    const data = input === a.input && output === a.output
      ? cachedBindGroup(device, pipeline, 1, label, bindings)
      : createBindGroup(device, pipeline, 1, label, bindings);
    pass.setBindGroup(1, data);
    pass.dispatchWorkgroups(...workgroupGrid(device, groups));
  };
  let input = a.input;
  let n = count;
  while (n > CHUNK) {
    const groups = Math.ceil(n / CHUNK);
    const partials = transients.add(device.createBuffer({ label: 'sum partials', size: groups * 4, usage: GPUBufferUsage.STORAGE }));
    level(input, n, partials, 0, false, groups);
    [input, n] = [partials, groups];
  }
  level(input, n, a.output, outputIndex, accumulate, 1);
  return transients;
}
