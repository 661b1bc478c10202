/**
 * npm run demo: builds the bundled Fashion-MNIST subset into .cache/demo, inspects it, reads the
 * first chunk back (every hash verified) and decodes it to normalized float32 on the GPU (or the
 * CPU reference).
 * Later issues turn this into the active-learning loop.
 */
import { getNodeDevice, runCli, FileSource } from '../../src/node.js';
import { decodeRef, encodeDecode, formatAdapter, GpuTimer, openVersion, readChunk, readBuffer, uploadBuffer, type DecodeKernelOptions } from '../../src/index.js';
import { buildSubsetArgs } from '../../scripts/make-subset.js';

const out = '.cache/demo/fashion-mnist-subset';
if ((await runCli(buildSubsetArgs(out, '--chunk-kib', '256', '--embedding-dims', '32'))) !== 0) process.exit(1);
await runCli(['inspect', out]);

const version = await openVersion(new FileSource(out));
const chunk = await readChunk(version, 'image', 0);
const labels = await readChunk(version, 'label', 0);
const classNames = version.manifest.tensors.label.classNames ?? [];
console.log(`\nfirst image chunk: ${chunk.header.samples} samples, sha256 ${version.manifest.tensors.image.chunks[0].hash.slice(0, 16)}… verified`);
const first = chunk.payload(0);
const label = new DataView(labels.payload(0).slice().buffer).getInt32(0, true);
console.log(`sample 0 is a "${classNames[label]}":`);
const shades = ' .:-=+*#%@';
for (let y = 0; y < 28; y += 2) {
  let line = '  ';
  for (let x = 0; x < 28; x++) line += shades[Math.floor((first[y * 28 + x] / 256) * shades.length)];
  console.log(line);
}

// Decode the whole first chunk to float32 with mean/std: on the GPU when there is one.
const pixels = chunk.body.subarray(chunk.header.payloadStart);
const decode: DecodeKernelOptions = { samples: chunk.header.samples, shape: [28, 28, 1], dtype: 'uint8', scale: 1 / 255, mean: [0.2860], std: [0.3530] };
const gpu = await getNodeDevice();
let normalized: Float32Array;
let timing = '';
if (gpu) {
  const { device } = gpu;
  const timer = new GpuTimer(device, { label: 'demo' });
  const input = uploadBuffer(device, 'demo pixels', GPUBufferUsage.STORAGE, pixels);
  const output = device.createBuffer({ label: 'demo normalized', size: pixels.length * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const encoder = device.createCommandEncoder({ label: 'demo' });
  const pass = encoder.beginComputePass(timer.pass('decode'));
  const transients = encodeDecode(device, pass, { ...decode, input, output });
  pass.end();
  timer.resolve(encoder);
  device.queue.submit([encoder.finish()]);
  normalized = new Float32Array(await readBuffer(device, output, pixels.length * 4));
  const ms = (await timer.read()).decode;
  if (ms !== undefined) timing = ` in ${ms.toFixed(3)} ms of GPU time`;
  timer.destroy();
  transients.destroy();
  input.destroy();
  output.destroy();
  device.destroy();
} else {
  normalized = decodeRef(pixels, decode);
}
const reference = decodeRef(pixels, decode);
const maxDiff = normalized.reduce((m, v, i) => Math.max(m, Math.abs(v - reference[i])), 0);
console.log(`\ndecoded ${pixels.length} pixels on ${gpu ? `the GPU${timing}: ${formatAdapter(gpu.adapter)}` : 'the CPU (no WebGPU adapter)'}; max difference from the CPU reference ${maxDiff}`);
