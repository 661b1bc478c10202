/**
 * Issue 17's memory must-hold: the bytes a decode worker holds while decoding one 6000x4000 JPEG,
 * above its output, per output pixel (target < 3). The photo is Elephants_5640x3172 from
 * mate-backgrounds, extended to 6000x4000 by mirroring and encoded by cjpeg (4:2:0 and 4:4:4,
 * baseline and progressive). Measured in a worker thread as the growth of
 * process.memoryUsage().arrayBuffers at the decode's peak (the coefficients and the IDCT planes,
 * both alive while colour conversion writes the output), sampled between its stages.
 *
 *   npx tsx bench/jpeg-memory.ts
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { MATE_DIR } from '../scripts/jpeg-testset.js';
import { readJpegCoefficients } from '../src/format/index.js';
import { colorRef, idctRef, jpegPlan } from '../src/kernels/index.js';
import { report } from './report.js';

const [WIDTH, HEIGHT] = [6000, 4000];

if (!isMainThread) {
  const bytes = workerData as Uint8Array;
  const used = () => process.memoryUsage().arrayBuffers;
  const before = used();
  const coef = readJpegCoefficients(bytes, { maxPixels: WIDTH * HEIGHT });
  const plan = jpegPlan(coef, 1);
  const planes = idctRef(coef, plan);
  const peakInputs = used() - before; // coefficients + planes, held while the output is written
  const output = colorRef(plan, planes);
  const peak = used() - before;
  parentPort!.postMessage({ aboveOutput: peak - output.byteLength, output: output.byteLength, peakInputs, pixels: plan.outWidth * plan.outHeight });
} else {
  const source = execFileSync('djpeg', ['-pnm', join(MATE_DIR, 'abstract/Elephants_5640x3172.jpg')], { maxBuffer: 1 << 30 });
  const header = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(source.subarray(0, 40).toString('latin1'))!;
  const [w, h] = [Number(header[1]), Number(header[2])];
  const pixels = source.subarray(header[0].length);
  const big = Buffer.alloc(WIDTH * HEIGHT * 3);
  const mirror = (i: number, n: number) => (Math.floor(i / n) % 2 === 0 ? i % n : n - 1 - (i % n));
  for (let y = 0; y < HEIGHT; y++) {
    const sy = mirror(y, h);
    for (let x = 0; x < WIDTH; x++) pixels.copy(big, (y * WIDTH + x) * 3, (sy * w + mirror(x, w)) * 3, (sy * w + mirror(x, w)) * 3 + 3);
  }
  const ppm = Buffer.concat([Buffer.from(`P6\n${WIDTH} ${HEIGHT}\n255\n`), big]);
  const rows = [];
  for (const [label, args] of [['4:2:0 baseline', []], ['4:2:0 progressive', ['-progressive']], ['4:4:4 baseline', ['-sample', '1x1']]] as const) {
    const jpeg = new Uint8Array(execFileSync('cjpeg', ['-quality', '90', ...args], { input: ppm, maxBuffer: 1 << 30 }));
    const entry = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); });`;
    const result = await new Promise<{ aboveOutput: number; pixels: number }>((resolve, reject) => {
      const worker = new Worker(entry, { eval: true, workerData: jpeg });
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    rows.push({ measure: `${label} (${(jpeg.length / 1e6).toFixed(1)} MB): held above the output`, value: result.aboveOutput / result.pixels, unit: 'bytes/pixel' });
  }
  report('jpeg-memory', `Decoding a ${WIDTH}x${HEIGHT} JPEG in a worker: memory above the output (target < 3 bytes/pixel)`, rows, [
    'CPU path, full size: the i16 coefficients and the 8-bit IDCT planes are both alive while colour conversion writes the RGB output',
  ]);
}
