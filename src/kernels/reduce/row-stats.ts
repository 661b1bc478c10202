import { assertDeviceAlive, computePipeline, createBindGroup, paramsBindGroup, readBuffer, storageBinding, Transients, uploadBuffer, workgroupGrid } from '../pipelines.js';
import { ROW_STATS_MAX_SIZE, ROW_STATS_WORKGROUP, rowStatsPlan, type RowStatsArgs } from './row-stats.ref.js';
import { rowStatsWgsl } from './row-stats.wgsl.js';

/**
 * Records each row's sum, min and max (rowStatsRef) into `pass`, one workgroup a row; the caller
 * submits, then destroys `transients`. `input` holds the uint8 rows packed in u32 words.
 */
export function encodeRowStats(device: GPUDevice, pass: GPUComputePassEncoder, a: RowStatsArgs<GPUBuffer>, transients: Transients = new Transients()): Transients {
  assertDeviceAlive(device, 'rowStats');
  rowStatsPlan(a);
  if (a.rows === 0) return transients;
  const input = storageBinding(device, 'rowStats', 'input', a.input, Math.ceil((a.rows * a.size) / 4), `${a.rows} rows of ${a.size} uint8 values`);
  const output = storageBinding(device, 'rowStats', 'output', a.output, 3 * a.rows, `sum, min and max of ${a.rows} rows`);
  const pipeline = computePipeline(device, { label: 'rowStats', code: rowStatsWgsl, constants: { WORKGROUP_SIZE: ROW_STATS_WORKGROUP } });
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, paramsBindGroup(device, transients, pipeline, 'rowStats', Uint32Array.of(a.rows, a.size)));
  pass.setBindGroup(1, createBindGroup(device, pipeline, 1, 'rowStats', [input, output]));
  pass.dispatchWorkgroups(...workgroupGrid(device, a.rows));
  return transients;
}

/** Whether rows of `size` values can be reduced on `device`: one row within a u32 sum and one storage binding. */
export function rowStatsFits(device: GPUDevice, size: number): boolean {
  return Number.isInteger(size) && size >= 1 && size <= Math.min(ROW_STATS_MAX_SIZE, device.limits.maxStorageBufferBindingSize);
}

/**
 * Uploads uint8 rows, reduces them on `device` and reads back [sum, min, max] per row; as many
 * rows a dispatch as one storage binding holds.
 */
export async function rowStatsOnDevice(device: GPUDevice, values: Uint8Array, rows: number, size: number): Promise<Uint32Array> {
  rowStatsPlan({ rows, size });
  const perDispatch = Math.max(1, Math.floor(device.limits.maxStorageBufferBindingSize / size));
  if (rows <= perDispatch) return rowStatsOnce(device, values, rows, size);
  const out = new Uint32Array(3 * rows);
  for (let r = 0; r < rows; r += perDispatch) {
    const n = Math.min(perDispatch, rows - r);
    out.set(await rowStatsOnce(device, values.subarray(r * size, (r + n) * size), n, size), 3 * r);
  }
  return out;
}

async function rowStatsOnce(device: GPUDevice, values: Uint8Array, rows: number, size: number): Promise<Uint32Array> {
  const { STORAGE, COPY_SRC } = GPUBufferUsage;
  const input = uploadBuffer(device, 'rowStats input', STORAGE, values.subarray(0, rows * size));
  const output = device.createBuffer({ label: 'rowStats output', size: Math.max(4, 12 * rows), usage: STORAGE | COPY_SRC });
  const transients = new Transients();
  try {
    const encoder = device.createCommandEncoder({ label: 'rowStats' });
    const pass = encoder.beginComputePass({ label: 'rowStats' });
    encodeRowStats(device, pass, { input, rows, size, output }, transients);
    pass.end();
    device.queue.submit([encoder.finish()]);
    return new Uint32Array(await readBuffer(device, output, 12 * rows));
  } finally {
    transients.destroy();
    input.destroy();
    output.destroy();
  }
}
