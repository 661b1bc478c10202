/**
 * Matmul throughput on this machine's WebGPU adapter (lavapipe where there is no GPU), on the
 * products of a 784-256 dense layer's forward and backward passes: GFLOP/s = 2mnk / time.
 * A round is `submits` command buffers of one dispatch each, then onSubmittedWorkDone; the table
 * gives the median round and the best one (the kernel's speed when other processes leave the
 * cores alone), and this process's CPU time per product (all threads, lavapipe's included).
 *
 *   npx tsx bench/matmul.ts [--batch 256] [--submits 5] [--rounds 5] [--sweep] [--only dW]
 *
 * --sweep times candidate tilings on every shape (how matmulTiling's choices were made).
 */
import { benchArgs, median } from './report.js';
import { formatAdapter } from '../src/index.js';
import { getNodeDevice } from '../src/node.js';
import { encodeMatmul, type MatmulArgs, matmulTiling, type MatmulTiling, STAGED_MATMUL_TILING } from '../src/kernels/index.js';

const { values } = benchArgs(import.meta.url, {
  options: {
    batch: { type: 'string', default: '256' }, submits: { type: 'string', default: '5' }, rounds: { type: 'string', default: '5' },
    sweep: { type: 'boolean', default: false }, only: { type: 'string', default: '' },
  },
});
const [batch, submits, rounds] = [values.batch, values.submits, values.rounds].map(Number);
const gpu = await getNodeDevice({ required: true });
const { device } = gpu!;

type Shape = Pick<MatmulArgs<GPUBuffer>, 'm' | 'n' | 'k' | 'transA' | 'transB' | 'activation'> & { variant: string; bias?: boolean };
const shapes: Shape[] = [
  { variant: 'forward Y = XW', m: batch, k: 784, n: 256 },
  { variant: 'forward + bias + relu', m: batch, k: 784, n: 256, bias: true, activation: 'relu' },
  { variant: 'dW = X^T dY (transA)', m: 784, k: batch, n: 256, transA: true },
  { variant: 'dX = dY W^T (transB)', m: batch, k: 256, n: 784, transB: true },
  { variant: 'both transposed', m: batch, k: 784, n: 256, transA: true, transB: true },
  { variant: 'forward 256-128', m: batch, k: 256, n: 128 },
  { variant: 'forward 128-10', m: batch, k: 128, n: 10 },
];
const tilings: Record<string, MatmulTiling | undefined> = values.sweep
  ? {
    'staged 64x64 (16x16 inv, 4x4 each)': STAGED_MATMUL_TILING,
    'staged 32x32 (8x8 inv, 4x4 each)': { kind: 'staged', wgX: 8, wgY: 8, rows: 4, cols: 4, tileK: 16 },
    'direct 8x32 (8 inv, 8x4 each)': { kind: 'direct', wgX: 8, wgY: 1, rows: 8, cols: 4, tileK: 1 },
    'direct 8x64 (8 inv, 8x8 each)': { kind: 'direct', wgX: 8, wgY: 1, rows: 8, cols: 8, tileK: 1 },
    'direct 8x128 (16 inv, 8x8 each)': { kind: 'direct', wgX: 16, wgY: 1, rows: 8, cols: 8, tileK: 1 },
    'direct 16x64 (8 inv, 16x8 each)': { kind: 'direct', wgX: 8, wgY: 1, rows: 16, cols: 8, tileK: 1 },
  }
  : { auto: undefined };

const { STORAGE, COPY_DST } = GPUBufferUsage;
const buffer = (label: string, floats: number) => {
  const b = device.createBuffer({ label, size: floats * 4, usage: STORAGE | COPY_DST });
  device.queue.writeBuffer(b, 0, Float32Array.from({ length: floats }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5));
  return b;
};

/** Median and best wall milliseconds per product, and median CPU milliseconds. */
async function time(shape: Shape, tiling: MatmulTiling | undefined): Promise<{ ms: number; bestMs: number; cpuMs: number }> {
  const { m, n, k } = shape;
  const [a, b, out, bias] = [buffer('bench a', m * k), buffer('bench b', k * n), buffer('bench out', m * n), buffer('bench bias', n)];
  const args = { ...shape, a, b, out, bias: shape.bias ? bias : undefined, tiling };
  const round = async (count: number) => {
    const [started, cpu] = [performance.now(), process.cpuUsage()];
    for (let s = 0; s < count; s++) {
      const encoder = device.createCommandEncoder({ label: 'bench matmul' });
      const pass = encoder.beginComputePass({ label: 'bench matmul' });
      const transients = encodeMatmul(device, pass, args);
      pass.end();
      device.queue.submit([encoder.finish()]);
      transients.destroy();
    }
    await device.queue.onSubmittedWorkDone();
    const { user, system } = process.cpuUsage(cpu);
    return { ms: (performance.now() - started) / count, cpuMs: (user + system) / 1000 / count };
  };
  await round(1); // compiles the pipeline (seconds on lavapipe, once per process or Mesa's disk cache)
  const results = [];
  for (let r = 0; r < rounds; r++) results.push(await round(submits));
  for (const x of [a, b, out, bias]) x.destroy();
  return { ms: median(results.map((r) => r.ms)), bestMs: Math.min(...results.map((r) => r.ms)), cpuMs: median(results.map((r) => r.cpuMs)) };
}

const describe = (t: MatmulTiling) => `${t.kind} ${t.wgY * t.rows}x${t.wgX * t.cols} (${t.wgX}x${t.wgY} inv, ${t.rows}x${t.cols} each)`;
console.log(`adapter: ${formatAdapter(gpu!.adapter)}; batch ${batch}; median of ${rounds} rounds of ${submits} submits\n`);
console.log('| shape (m x k x n) | variant | tiling | ms | GFLOP/s | best ms | best GFLOP/s | CPU ms |\n| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |');
for (const shape of shapes.filter((s) => s.variant.includes(values.only!))) {
  for (const [name, tiling] of Object.entries(tilings)) {
    const { ms, bestMs, cpuMs } = await time(shape, tiling);
    const gflops = (t: number) => ((2 * shape.m * shape.n * shape.k) / (t * 1e6)).toFixed(2);
    const label = tiling ? name : `auto: ${describe(matmulTiling(device, shape.m, shape.n))}`;
    const cells = [ms.toFixed(2), gflops(ms), bestMs.toFixed(2), gflops(bestMs), cpuMs.toFixed(2)];
    console.log(`| ${shape.m} x ${shape.k} x ${shape.n} | ${shape.variant} | ${label} | ${cells.join(' | ')} |`);
  }
}
device.destroy();
