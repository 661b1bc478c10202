/**
 * Decode + augment throughput: the GPU kernels against their CPU references, side by side in
 * one run, on the same batches. Reports samples/s for both, the ratio, kernel-only time from GPU
 * timestamps (where the adapter offers them) and the bytes the kernels move per second. Here
 * the "GPU" is whatever adapter dawn-node finds (Mesa lavapipe on a machine without a GPU).
 *
 *   npx tsx bench/kernels.ts [--batch 128] [--size 64] [--out 56] [--rounds 5]
 */
import {
  augmentParams, augmentRef, BatchUploader, compileAugment, decodeRef, encodeAugment, encodeDecode, formatAdapter, GpuTimer, Transients,
  type AugmentOp,
} from '../src/kernels/index.js';
import { getNodeDevice } from '../src/node.js';
import { benchArgs, median, report } from './report.js';

const { values } = benchArgs(import.meta.url, { options: { batch: { type: 'string', default: '128' }, size: { type: 'string', default: '64' }, out: { type: 'string', default: '56' }, rounds: { type: 'string', default: '5' } } });
const [n, size, out, rounds] = [values.batch, values.size, values.out, values.rounds].map(Number);
const gpu = await getNodeDevice({ required: true });
const { device } = gpu!;

const ops: AugmentOp[] = [
  { op: 'randomResizedCrop', size: [out, out] }, { op: 'flip', p: 0.5 }, { op: 'rotate', degrees: [-10, 10] },
  { op: 'colorJitter', brightness: 0.2, contrast: 0.2, saturation: 0.2 }, { op: 'noise', std: 0.02 }, { op: 'cutout', p: 0.5 },
];
const plan = compileAugment(ops, [3, size, size]);
const decode = { samples: n, shape: [size, size, 3], dtype: 'uint8' as const, scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], toCHW: true };
let seed = 1;
const batches = Array.from({ length: 4 }, () => Uint8Array.from({ length: n * size * size * 3 }, () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) >>> 24)));
const ids = Uint32Array.from({ length: n }, (_, i) => i);

const uploader = new BatchUploader(device, { label: 'bench input' });
const decoded = device.createBuffer({ label: 'bench decoded', size: n * 3 * size * size * 4, usage: GPUBufferUsage.STORAGE });
const augmented = device.createBuffer({ label: 'bench augmented', size: n * 3 * out * out * 4, usage: GPUBufferUsage.STORAGE });
const timer = new GpuTimer(device, { label: 'bench' });

async function gpuRound(epoch: number): Promise<{ seconds: number; kernelMs: number }> {
  const started = performance.now();
  let kernelMs = 0;
  for (const [b, bytes] of batches.entries()) {
    const encoder = device.createCommandEncoder({ label: 'bench' });
    const pass = encoder.beginComputePass(timer.pass('decode+augment'));
    const transients = new Transients();
    const input = uploader.upload(bytes);
    encodeDecode(device, pass, { ...decode, input, output: decoded }, transients);
    encodeAugment(device, pass, plan, { input: decoded, output: augmented, n, ids, seed: b, epoch, params: augmentParams(plan, ids, b, epoch) }, transients);
    pass.end();
    timer.resolve(encoder);
    device.queue.submit([encoder.finish()]);
    transients.destroy();
    kernelMs += (await timer.read())['decode+augment'] ?? 0;
  }
  await device.queue.onSubmittedWorkDone();
  return { seconds: (performance.now() - started) / 1000, kernelMs };
}

function cpuRound(epoch: number): number {
  const started = performance.now();
  for (const [b, bytes] of batches.entries()) augmentRef(plan, decodeRef(bytes, decode), { n, ids, seed: b, epoch });
  return (performance.now() - started) / 1000;
}

await gpuRound(0); // compile pipelines
const gpuRates: number[] = [];
const cpuRates: number[] = [];
const kernelRates: number[] = [];
for (let r = 0; r < rounds; r++) {
  const g = await gpuRound(r + 1);
  gpuRates.push((n * batches.length) / g.seconds);
  if (g.kernelMs > 0) kernelRates.push((n * batches.length) / (g.kernelMs / 1000));
  cpuRates.push((n * batches.length) / cpuRound(r + 1));
}
// Bytes the kernels move per sample: uint8 in, float32 decoded out and back in, float32 augmented out.
const bytesPerSample = size * size * 3 * (1 + 4 + 4) + out * out * 3 * 4;
const kernel = kernelRates.length ? median(kernelRates) : undefined;
report('kernels', 'Decode + augment: GPU kernels vs CPU references (same batches, one run)', [
  { measure: 'GPU path (upload + kernels, end to end)', value: median(gpuRates), unit: 'samples/s' },
  ...(kernel ? [{ measure: 'GPU kernels alone (timestamps)', value: kernel, unit: 'samples/s' }, { measure: 'GPU kernels: bytes moved', value: (kernel * bytesPerSample) / 1e9, unit: 'GB/s' }] : []),
  { measure: 'CPU reference', value: median(cpuRates), unit: 'samples/s' },
  { measure: 'ratio GPU path / CPU reference', value: median(gpuRates) / median(cpuRates), unit: '' },
], [
  `adapter: ${formatAdapter(gpu!.adapter)}`,
  `${batches.length} batches of ${n} RGB ${size}x${size} uint8 -> normalize, CHW -> crop ${out}x${out}, flip, rotate, jitter, noise, cutout; median of ${rounds} rounds`,
]);
uploader.destroy();
decoded.destroy();
augmented.destroy();
device.destroy();
