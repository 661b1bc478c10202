/**
 * Convolution and max-pool throughput on this machine's WebGPU adapter (lavapipe without a GPU),
 * on the layers of the Fashion-MNIST CNN: conv 1->16 3x3 pad 1 on 28x28, pool 2, conv 16->32
 * 3x3 pad 1 on 14x14, pool 2. Each measure is `submits` command buffers of one kernel, then
 * onSubmittedWorkDone; GFLOP/s counts 2 * n * cOut * oh * ow * cIn * kh * kw per kernel.
 * "first run" is the first submit of a new pipeline: lavapipe compiles it then (Mesa's shader
 * cache keeps it for later processes; MESA_SHADER_CACHE_DISABLE=true to see the cold cost).
 *
 *   npx tsx bench/conv.ts [--batch 128] [--submits 10] [--sweep] [--only backward]
 *
 * --sweep times candidate register tiles (how the defaults in conv.ts were chosen).
 */
import { formatAdapter } from '../src/index.js';
import { getNodeDevice } from '../src/node.js';
import { type ConvShape, type ConvTiling, encodeConv2d, encodeConv2dBackwardInput, encodeConv2dBackwardWeight, encodeMaxPool, encodeMaxPoolBackward, poolOutputSize, type PoolShape, type Transients } from '../src/kernels/index.js';
import { benchArgs } from './report.js';

const { values } = benchArgs(import.meta.url, { options: { batch: { type: 'string', default: '128' }, submits: { type: 'string', default: '10' }, sweep: { type: 'boolean', default: false }, only: { type: 'string', default: '' } } });
const n = Number(values.batch);
const submits = Number(values.submits);
const gpu = await getNodeDevice({ required: true });
const { device } = gpu!;

const convs: { layer: string; shape: ConvShape }[] = [
  { layer: 'conv1 1->16 3x3 28x28', shape: { n, cIn: 1, h: 28, w: 28, cOut: 16, kh: 3, kw: 3, pad: 1 } },
  { layer: 'conv2 16->32 3x3 14x14', shape: { n, cIn: 16, h: 14, w: 14, cOut: 32, kh: 3, kw: 3, pad: 1 } },
];
const pools: { layer: string; shape: PoolShape }[] = [
  { layer: 'pool1 2x2 16x28x28', shape: { n, c: 16, h: 28, w: 28, size: 2 } },
  { layer: 'pool2 2x2 32x14x14', shape: { n, c: 32, h: 14, w: 14, size: 2 } },
];
const tilings: ConvTiling[] = values.sweep
  // Forward and backward input read px and co4; the weight gradient ci, co4 and px.
  ? [{}, { px: 16, co4: 2 }, { px: 8, co4: 4 }, { px: 8, co4: 8 }, { px: 16, co4: 4, ci: 2 }, { px: 8, co4: 4, ci: 4 }, { px: 14, co4: 2, ci: 8 }, { px: 8, co4: 8, ci: 2 }]
  : [{}];

const { STORAGE, COPY_DST } = GPUBufferUsage;
const buffer = (label: string, floats: number) => {
  const b = device.createBuffer({ label, size: floats * 4, usage: STORAGE | COPY_DST });
  device.queue.writeBuffer(b, 0, Float32Array.from({ length: floats }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5));
  return b;
};

/** First submit (compile included), then wall and CPU milliseconds per submit (CPU: every thread, lavapipe's too). */
async function time(record: (pass: GPUComputePassEncoder) => Transients): Promise<{ first: number; ms: number; cpuMs: number }> {
  const run = async (count: number) => {
    for (let s = 0; s < count; s++) {
      const encoder = device.createCommandEncoder({ label: 'bench conv' });
      const pass = encoder.beginComputePass({ label: 'bench conv' });
      const transients = record(pass);
      pass.end();
      device.queue.submit([encoder.finish()]);
      transients.destroy();
    }
    await device.queue.onSubmittedWorkDone();
  };
  let started = performance.now();
  await run(1);
  const first = performance.now() - started;
  await run(1); // warm
  const cpu = process.cpuUsage();
  started = performance.now();
  await run(submits);
  const { user, system } = process.cpuUsage(cpu);
  return { first, ms: (performance.now() - started) / submits, cpuMs: (user + system) / 1000 / submits };
}

const rows: string[] = [];
const row = (layer: string, kernel: string, tiling: string, t: { first: number; ms: number; cpuMs: number }, flops?: number) =>
  rows.push(`| ${layer} | ${kernel} | ${tiling} | ${t.ms.toFixed(2)} | ${flops ? (flops / (t.ms * 1e6)).toFixed(2) : '-'} | ${t.cpuMs.toFixed(2)} | ${t.first.toFixed(0)} |`);

for (const { layer, shape } of convs) {
  const oh = shape.h;
  const ow = shape.w;
  const [input, weight, bias, output, gradOutput, gradInput, gradWeight, gradBias] = [
    buffer('bench input', n * shape.cIn * shape.h * shape.w), buffer('bench weight', shape.cOut * shape.cIn * 9), buffer('bench bias', shape.cOut),
    buffer('bench output', n * shape.cOut * oh * ow), buffer('bench gradOutput', n * shape.cOut * oh * ow), buffer('bench gradInput', n * shape.cIn * shape.h * shape.w),
    buffer('bench gradWeight', shape.cOut * shape.cIn * 9), buffer('bench gradBias', shape.cOut),
  ];
  const flops = 2 * n * shape.cOut * oh * ow * shape.cIn * shape.kh * shape.kw;
  const kernels: [string, (tiling: ConvTiling) => (pass: GPUComputePassEncoder) => Transients][] = [
    ['forward + bias + relu', (tiling) => (pass) => encodeConv2d(device, pass, { ...shape, input, weight, bias, output, activation: 'relu', tiling })],
    ['backward input', (tiling) => (pass) => encodeConv2dBackwardInput(device, pass, { ...shape, gradOutput, weight, gradInput, tiling })],
    ['backward weight + bias', (tiling) => (pass) => encodeConv2dBackwardWeight(device, pass, { ...shape, input, gradOutput, gradWeight, gradBias, tiling })],
  ];
  for (const [kernel, make] of kernels.filter(([name]) => name.includes(values.only!))) {
    for (const tiling of tilings) row(layer, kernel, JSON.stringify(tiling), await time(make(tiling)), flops);
  }
  for (const b of [input, weight, bias, output, gradOutput, gradInput, gradWeight, gradBias]) b.destroy();
}

for (const { layer, shape } of pools.filter(() => 'maxpool'.includes(values.only!) || values.only === '')) {
  const { oh, ow } = poolOutputSize(shape);
  const [input, output, argmax, gradInput] = [buffer('bench input', n * shape.c * shape.h * shape.w), buffer('bench output', n * shape.c * oh * ow), buffer('bench argmax', n * shape.c * oh * ow), buffer('bench gradInput', n * shape.c * shape.h * shape.w)];
  row(layer, 'maxpool', '', await time((pass) => encodeMaxPool(device, pass, { ...shape, input, output, argmax })));
  row(layer, 'maxpool backward', '', await time((pass) => encodeMaxPoolBackward(device, pass, { ...shape, gradOutput: output, argmax, gradInput })));
  for (const b of [input, output, argmax, gradInput]) b.destroy();
}

console.log(`adapter: ${formatAdapter(gpu!.adapter)}; batch ${n}; mean of ${submits} submits\n`);
console.log('| layer | kernel | tiling | ms | GFLOP/s | CPU ms | first run ms |\n| --- | --- | --- | ---: | ---: | ---: | ---: |');
console.log(rows.join('\n'));
device.destroy();
