import { assertDeviceAlive, cachedBindGroup, computePipeline, createBindGroup, paramsBindGroup, storageBinding, Transients, workgroupGrid } from '../pipelines.js';
import { checkColumnSum, checkReluBackward, type ColumnSumArgs, type ReluBackwardArgs } from './dense.ref.js';
import { columnSumWgsl, reluBackwardInPlaceWgsl, reluBackwardWgsl } from './dense.wgsl.js';

const RELU_WORKGROUP = 256;
const SUM_WORKGROUP = 64;
/** Rows one invocation sums per level of encodeColumnSum. */
export const COLUMN_SUM_CHUNK = 256;

/**
 * Records gradInput = output > 0 ? gradOutput : 0 (count elements) into `pass`; gradInput may be
 * gradOutput (in place). The caller submits, then destroys the returned transients.
 */
export function encodeReluBackward(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  args: ReluBackwardArgs<GPUBuffer>,
  transients: Transients = new Transients(),
): Transients {
  assertDeviceAlive(device, 'reluBackward');
  checkReluBackward(args);
  const { count } = args;
  const inPlace = args.gradInput === args.gradOutput;
  // At least one float: a count of 0 still binds (WebGPU rejects empty bindings).
  const bind = (name: string, buffer: GPUBuffer) => storageBinding(device, 'reluBackward', name, buffer, Math.max(1, count), `${count} floats`);
  const buffers = inPlace
    ? [bind('gradInput (= gradOutput)', args.gradInput), bind('output', args.output)]
    : [bind('gradOutput', args.gradOutput), bind('output', args.output), bind('gradInput', args.gradInput)];
  if (count === 0) return transients;
  const label = inPlace ? 'reluBackward in place' : 'reluBackward';
  const pipeline = computePipeline(device, {
    label,
    code: inPlace ? reluBackwardInPlaceWgsl : reluBackwardWgsl,
    constants: { WORKGROUP_SIZE: RELU_WORKGROUP },
  });
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, paramsBindGroup(device, transients, pipeline, label, new Uint32Array([count, 0, 0, 0])));
  pass.setBindGroup(1, cachedBindGroup(device, pipeline, 1, `${label} ${args.gradOutput.label} -> ${args.gradInput.label}`, buffers));
  pass.dispatchWorkgroups(...workgroupGrid(device, Math.ceil(count / RELU_WORKGROUP)));
  return transients;
}

/**
 * Records output[c] (+)= sum over r of input[r * cols + c] into `pass`: a dense layer's bias
 * gradient. Columns longer than COLUMN_SUM_CHUNK rows are summed in levels through transient
 * partial sums, so many invocations share a long column. Destroy the transients after submitting.
 */
export function encodeColumnSum(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  args: ColumnSumArgs<GPUBuffer>,
  transients: Transients = new Transients(),
): Transients {
  assertDeviceAlive(device, 'columnSum');
  checkColumnSum(args);
  const { rows, cols } = args;
  let input = storageBinding(device, 'columnSum', 'input', args.input, Math.max(1, rows * cols), `${rows} x ${cols} floats`);
  const output = storageBinding(device, 'columnSum', 'output', args.output, Math.max(1, cols), `${cols} floats`);
  if (cols === 0) return transients;
  const colGroups = Math.ceil(cols / SUM_WORKGROUP);
  for (let levelRows = rows, level = 0; ; level++) {
    const chunks = Math.max(1, Math.ceil(levelRows / COLUMN_SUM_CHUNK));
    const last = chunks === 1;
    const accumulate = last && !!args.accumulate;
    const label = `columnSum${accumulate ? ' accumulate' : ''}`;
    const pipeline = computePipeline(device, {
      label,
      code: columnSumWgsl,
      constants: { WORKGROUP_SIZE: SUM_WORKGROUP, CHUNK: COLUMN_SUM_CHUNK, ACCUMULATE: accumulate ? 1 : 0 },
    });
    const out = last ? output : {
      buffer: transients.add(device.createBuffer({ label: `columnSum level ${level} partial sums`, size: chunks * cols * 4, usage: GPUBufferUsage.STORAGE })),
    };
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, paramsBindGroup(device, transients, pipeline, label, new Uint32Array([levelRows, cols, colGroups, chunks])));
    // Partial-sum buffers are new each call; only the single-level case repeats its buffers.
    const bindGroup = level === 0 && last
      ? cachedBindGroup(device, pipeline, 1, `${label} ${args.input.label} -> ${args.output.label}`, [input, out])
      : createBindGroup(device, pipeline, 1, `${label} level ${level}`, [input, out]);
    pass.setBindGroup(1, bindGroup);
    pass.dispatchWorkgroups(...workgroupGrid(device, colGroups * chunks));
    if (last) return transients;
    [input, levelRows] = [out, chunks];
  }
}
