import { EdgelakeError } from '../../errors.js';
import { isCpuAdapter } from '../device.js';
import { assertDeviceAlive, cachedBindGroup, computePipeline, paramsBindGroup, storageBinding, Transients, workgroupGrid } from '../pipelines.js';
import { matmulSizes, type MatmulArgs } from './matmul.ref.js';
import { matmulWgsl } from './matmul.wgsl.js';

/** How the work is cut (see matmul.wgsl.ts): each workgroup computes (wgY * rows) x (wgX * cols) of out. */
export interface MatmulTiling {
  /** 'staged': slices of a and b in workgroup memory (GPUs); 'direct': none, and wgY 1 (CPU drivers). */
  kind: 'staged' | 'direct';
  /** Invocations per workgroup across n and down m. */
  wgX: number;
  wgY: number;
  /** The block of sums each invocation keeps in registers: rows * cols <= 128, cols <= 8. */
  rows: number;
  cols: number;
  /** Depth of the slices staged in workgroup memory ('staged' only). */
  tileK: number;
}

/** For GPUs: 64 x 64 tiles, 16 x 16 invocations of 4 x 4 sums, 16-deep slices (8 KiB). */
export const STAGED_MATMUL_TILING: Readonly<MatmulTiling> = { kind: 'staged', wgX: 16, wgY: 16, rows: 4, cols: 4, tileK: 16 };

/**
 * The tiling encodeMatmul picks for an m x n output on `device`. CPU drivers (lavapipe,
 * SwiftShader) run invocations as SIMD lanes but load memory lane by lane, workgroup memory
 * included, so there the fastest kernel (bench/matmul.ts: 5-10x the staged one) stages nothing
 * and keeps 8 x 8 sums per invocation, 16 loads per 64 multiply-adds.
 */
export function matmulTiling(device: GPUDevice, m: number, n: number): MatmulTiling {
  if (!isCpuAdapter(device)) return { ...STAGED_MATMUL_TILING };
  const cols = Math.min(8, Math.ceil(n / 8)); // narrow outputs (10 classes) waste fewer lanes
  return { kind: 'direct', wgX: 8, wgY: 1, rows: cols >= 4 || m <= 8 ? 8 : 16, cols, tileK: 1 };
}

/**
 * Records out = activation(op(a) op(b) + bias), or out += op(a) op(b), into `pass`; the caller
 * submits, then destroys the returned transients. See matmulRef for the CPU twin. `tiling`
 * overrides matmulTiling (benchmarks, tests).
 */
export function encodeMatmul(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  args: MatmulArgs<GPUBuffer> & { tiling?: MatmulTiling },
  transients: Transients = new Transients(),
): Transients {
  assertDeviceAlive(device, 'matmul');
  const sizes = matmulSizes(args);
  const { m, n, k } = args;
  const tiling = args.tiling ?? matmulTiling(device, m, n);
  checkTiling(device, tiling);
  // At least one float each: an empty matrix still binds (WebGPU rejects empty bindings).
  const bind = (name: string, buffer: GPUBuffer, floats: number) => storageBinding(device, 'matmul', name, buffer, Math.max(1, floats), `${floats} floats`);
  const bindings = {
    a: bind('a', args.a, sizes.a),
    b: bind('b', args.b, sizes.b),
    out: bind('out', args.out, sizes.out),
    bias: args.bias ? bind('bias', args.bias, sizes.bias) : { buffer: args.a, size: 4 }, // never read
  };
  if (m === 0 || n === 0) return transients;

  const { kind, wgX, wgY, rows, cols, tileK } = tiling;
  const flags = { TRANS_A: args.transA, TRANS_B: args.transB, HAS_BIAS: !!args.bias, RELU: args.activation === 'relu', ACCUMULATE: args.accumulate };
  const variant = Object.entries(flags).filter(([, on]) => on).map(([name]) => name.toLowerCase()).join('+');
  const label = `matmul-${kind}${variant ? ` ${variant}` : ''}`;
  const pipeline = computePipeline(device, {
    label,
    code: matmulWgsl,
    entryPoint: kind,
    constants: {
      WG_X: wgX, WG_Y: wgY, ROWS: rows, COLS: cols, TILE_K: tileK,
      ...Object.fromEntries(Object.entries(flags).map(([name, on]) => [name, on ? 1 : 0])),
    },
  });
  const tilesN = Math.ceil(n / (wgX * cols));
  const tiles = tilesN * Math.ceil(m / (wgY * rows));
  const parameters = paramsBindGroup(device, transients, pipeline, label, new Uint32Array([m, n, k, tilesN, tiles, 0, 0, 0]), [bindings.bias]);
  // Weights, activations and gradients are long-lived buffers that come back every step: cached.
  const data = cachedBindGroup(device, pipeline, 1, `${label} ${args.a.label} x ${args.b.label} -> ${args.out.label}`, [
    bindings.a, bindings.b, bindings.out,
  ]);
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, parameters);
  pass.setBindGroup(1, data);
  pass.dispatchWorkgroups(...workgroupGrid(device, tiles));
  return transients;
}

function checkTiling(device: GPUDevice, t: MatmulTiling): void {
  const { limits } = device;
  const fail = (why: string): never => {
    throw new EdgelakeError('invalid-input', `matmul: tiling ${JSON.stringify(t)}: ${why}`);
  };
  if (t.kind !== 'staged' && t.kind !== 'direct') fail(`kind must be 'staged' or 'direct'`);
  if ([t.wgX, t.wgY, t.rows, t.cols, t.tileK].some((c) => !Number.isInteger(c) || c < 1)) fail('every count must be a positive integer');
  if (t.cols > 8 || t.rows * t.cols > 128) fail('an invocation keeps at most 128 sums in at most 8 columns');
  if (t.kind !== 'staged' && t.wgY !== 1) fail('a direct tiling has wgY 1');
  const threads = t.wgX * t.wgY;
  if (t.wgX > limits.maxComputeWorkgroupSizeX || t.wgY > limits.maxComputeWorkgroupSizeY || threads > limits.maxComputeInvocationsPerWorkgroup) {
    fail(`a ${t.wgX} x ${t.wgY} workgroup exceeds this device's limits`);
  }
  if (t.kind !== 'staged') return;
  const [aSize, bSize] = [t.tileK * t.wgY * t.rows, t.tileK * t.wgX * t.cols];
  if (aSize % threads !== 0 || bSize % threads !== 0) fail(`the staged slices (${aSize} and ${bSize} floats) must be multiples of the ${threads} invocations`);
  const bytes = (aSize + bSize) * 4;
  if (bytes > limits.maxComputeWorkgroupStorageSize) fail(`${bytes} bytes of workgroup memory exceed ${limits.maxComputeWorkgroupStorageSize}`);
}
