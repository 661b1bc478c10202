/**
 * JPEG decoding speed, side by side in one run on the same files: edgelake's CPU path, its GPU
 * path (entropy decoding in worker threads, reconstruction on the adapter), jpeg-js and sharp
 * (libvips on libjpeg-turbo with SIMD), one thread each; plus edgelake's scaled decoding (1/2,
 * 1/4, 1/8) against its own full-size decode. Files: the 16 mate-backgrounds photos at full size,
 * and each of them as a 256x256 JPEG (centre crop, cjpeg -quality 90, 4:2:0). Megapixels/s of
 * full-size output; the median of `--rounds` rounds over all files.
 *
 *   npx tsx bench/jpeg.ts [--rounds 3] [--workers 2]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import jpegJs from 'jpeg-js';
import sharp from 'sharp';
import { listPhotos, MATE_DIR } from '../scripts/jpeg-testset.js';
import { decodeJpeg, readJpegCoefficients } from '../src/format/index.js';
import { decodeImage, formatAdapter } from '../src/index.js';
import { centerBox, encodeJpegBatch, fitRef, jpegPlan, uploadJpegBatch } from '../src/kernels/index.js';
import { getNodeDevice } from '../src/node.js';
import { benchArgs, median, report, type BenchRow } from './report.js';
import { workerDecoder } from './jpeg-workers.js';

const { values } = benchArgs(import.meta.url, { options: { rounds: { type: 'string', default: '3' }, workers: { type: 'string', default: '2' } } });
const rounds = Number(values.rounds);
const gpu = await getNodeDevice({ required: true });
sharp.concurrency(1);
sharp.cache(false);

const full = listPhotos().map((p) => new Uint8Array(readFileSync(join(MATE_DIR, p))));
const small = full.map(square256);
const sets = { 'full-size': full, '256x256': small };

/** A decoder under test: decodes one file, resolves when its pixels are in memory. */
type Decoder = (bytes: Uint8Array) => unknown;
const decoders: Record<string, Decoder> = {
  'jpeg-js': (b) => jpegJs.decode(b, { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: 4096, maxResolutionInMP: 100 }),
  sharp: (b) => sharp(b).raw().toBuffer(),
  'edgelake CPU': (b) => decodeJpeg(b),
  'edgelake GPU': (b) => decodeImage(b, { device: gpu!.device }),
};

const rows: BenchRow[] = [];
const mps: Record<string, number> = {};
// A round decodes each set at least 16 MP: long enough that small files time the decoder, not the JIT.
const passesOf = (pixels: number) => Math.max(1, Math.ceil(16e6 / pixels));
for (const [set, files] of Object.entries(sets)) {
  const pixels = files.reduce((n, b) => n + frameSize(b), 0);
  const passes = passesOf(pixels);
  for (const [name, decode] of Object.entries(decoders)) {
    const seconds = await timeRounds(async () => {
      for (let p = 0; p < passes; p++) for (const b of files) await decode(b);
    });
    mps[`${set} ${name}`] = (pixels * passes) / 1e6 / seconds;
  }
  // The GPU path as the loader runs it: entropy decoding in workers, overlapped with the adapter.
  const pool = workerDecoder(Number(values.workers));
  const seconds = await timeRounds(async () => {
    for (let p = 0; p < passes; p++) await pool.decodeAll(files, gpu!.device);
  });
  await pool.close();
  mps[`${set} edgelake GPU, entropy in ${values.workers} workers`] = (pixels * passes) / 1e6 / seconds;
  mps[`${set} edgelake GPU reconstruction alone`] = (pixels * passes) / 1e6 / await timeReconstruction(files, passes);
}
for (const [set, files] of Object.entries(sets)) {
  const pixels = files.reduce((n, b) => n + frameSize(b), 0);
  const passes = passesOf(pixels);
  for (const scale of [2, 4, 8] as const) {
    const seconds = await timeRounds(async () => {
      for (let p = 0; p < passes; p++) for (const b of files) decodeJpeg(b, { scale });
    });
    mps[`${set} edgelake CPU at 1/${scale}`] = (pixels * passes) / 1e6 / seconds;
  }
}
for (const [measure, value] of Object.entries(mps)) rows.push({ measure, value, unit: 'MP/s (full-size pixels)' });
for (const set of Object.keys(sets)) {
  const base = mps[`${set} jpeg-js`];
  for (const name of ['edgelake CPU', 'edgelake GPU', `edgelake GPU, entropy in ${values.workers} workers`]) {
    rows.push({ measure: `${set}: ${name} / jpeg-js`, value: mps[`${set} ${name}`] / base, unit: 'x' });
    rows.push({ measure: `${set}: ${name} / sharp`, value: mps[`${set} ${name}`] / mps[`${set} sharp`], unit: 'x' });
  }
  for (const scale of [2, 4, 8]) rows.push({ measure: `${set}: edgelake CPU at 1/${scale} / full size`, value: mps[`${set} edgelake CPU at 1/${scale}`] / mps[`${set} edgelake CPU`], unit: 'x' });
}
report('jpeg', 'JPEG decoding: edgelake CPU and GPU paths, jpeg-js, sharp (same files, one run)', rows, [
  `${full.length} mate-backgrounds photos (${(full.reduce((n, b) => n + frameSize(b), 0) / 1e6).toFixed(1)} MP in all) and the same as 256x256; median of ${rounds} rounds, each of at least 16 MP (the 256x256 set repeated)`,
  `adapter: ${formatAdapter(gpu!.adapter)}; sharp ${sharp.versions.sharp} (libvips ${sharp.versions.vips}), one thread; jpeg-js and edgelake CPU on this thread`,
  'GPU path: our entropy decoder on the CPU, reconstruction (dequantize, IDCT, upsampling, colour, orientation) on the adapter, pixels read back; "reconstruction alone": the adapter\'s two dispatches per file, coefficients already on the device',
]);
gpu!.device.destroy();

async function timeRounds(run: () => Promise<unknown> | unknown): Promise<number> {
  await run(); // warm-up: JIT, pipelines, sharp's first load
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const started = performance.now();
    await run();
    times.push((performance.now() - started) / 1000);
  }
  return median(times);
}

/**
 * The adapter's share alone: each file's coefficients already on the device, then per file the
 * two dispatches (IDCT, colour) submitted and waited for; no entropy decoding, upload or read-back.
 */
async function timeReconstruction(files: readonly Uint8Array[], passes: number): Promise<number> {
  const { device } = gpu!;
  const batches = files.map((b, i) => uploadJpegBatch(device, [{ coef: readJpegCoefficients(b, { name: `file ${i}` }), scale: 1 }]));
  const usage = GPUBufferUsage.STORAGE;
  const outputs = batches.map((b) => device.createBuffer({ label: 'bench pixels', size: b.pixels * 4, usage }));
  const planes = batches.map((b) => device.createBuffer({ label: 'bench planes', size: jpegPlan(b.images[0].layout, 1).planeBytes, usage }));
  try {
    return await timeRounds(async () => {
      for (let p = 0; p < passes; p++) {
        for (const [i, b] of batches.entries()) {
          const encoder = device.createCommandEncoder();
          const pass = encoder.beginComputePass();
          const transients = encodeJpegBatch(device, pass, { images: b.images, coefficients: b.coefficients, quantTables: b.quantTables, output: outputs[i], planes: planes[i] });
          pass.end();
          device.queue.submit([encoder.finish()]);
          await device.queue.onSubmittedWorkDone();
          transients.destroy();
        }
      }
    });
  } finally {
    for (const b of [...outputs, ...planes]) b.destroy();
    for (const b of batches) b.destroy();
  }
}

/** width x height from the frame header. */
function frameSize(b: Uint8Array): number {
  for (let pos = 2; pos + 9 < b.length; pos += 2 + ((b[pos + 2] << 8) | b[pos + 3])) {
    if (b[pos + 1] >= 0xc0 && b[pos + 1] <= 0xc2) return ((b[pos + 5] << 8) | b[pos + 6]) * ((b[pos + 7] << 8) | b[pos + 8]);
  }
  throw new Error('no frame header');
}

/** The photo's centre square at 256x256 (area resize of djpeg's 1/4 decode), encoded by cjpeg. */
function square256(bytes: Uint8Array): Uint8Array {
  const quarter = decodeJpeg(bytes, { scale: 4 });
  const box = centerBox(quarter.width, quarter.height, 256, 256);
  const pixels = fitRef(quarter.data, { channels: 3, width: 256, height: 256, samples: [{ offset: 0, width: quarter.width, height: quarter.height, box }] });
  const ppm = Buffer.concat([Buffer.from('P6\n256 256\n255\n'), pixels]);
  return new Uint8Array(execFileSync('cjpeg', ['-quality', '90', '-sample', '2x2'], { input: ppm }));
}
