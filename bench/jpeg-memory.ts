/**
 * Issue 17's memory must-hold: the bytes a decode worker holds while decoding one 6000x4000 JPEG,
 * above its output, per output pixel (target < 3). The photo is Elephants_5640x3172 from
 * mate-backgrounds, extended to 6000x4000 by mirroring and encoded by cjpeg (4:2:0 and 4:4:4,
 * each baseline and progressive). Each is decoded by decodeJpeg, the library's CPU path, in a worker
 * of a fresh process, and measured from outside the decoder by the process's peak resident
 * memory (see METHOD).
 *
 *   npx tsx bench/jpeg-memory.ts
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { MATE_DIR } from '../scripts/jpeg-testset.js';
import { decodeJpeg } from '../src/format/index.js';
import { report } from './report.js';

const [WIDTH, HEIGHT] = [6000, 4000];

const METHOD =
  "held = the process's peak resident set during the decode (getrusage maxRSS, the kernel's high-water mark, so no sampling can miss the peak; " +
  'checked to have risen during the decode, so it is the decode\'s own) minus its resident set right before it (after a warm-up decode of a small ' +
  'file of the same kind and a full gc), minus the output: all the memory the decode touched at its peak, JS heap and allocator slack included. ' +
  'live = ArrayBuffer bytes still allocated right after it (process.memoryUsage().arrayBuffers, no gc between), minus the output: a cross-check';

interface Measure {
  /** Peak resident bytes during the decode above the start, less the output. */
  held: number;
  /** Whether the decode raised the process's high-water mark (else `held` would only bound it from above). */
  raised: boolean;
  /** ArrayBuffer bytes alive right after the decode above the start, less the output. */
  live: number;
  pixels: number;
  seconds: number;
}

if (!isMainThread) {
  const { big, small } = workerData as { big: string; small: string };
  const [bytes, warm] = [readFileSync(big), readFileSync(small)];
  for (let i = 0; i < 3; i++) decodeJpeg(warm); // compile the decoder's paths before measuring
  const gc = (globalThis as { gc?: () => void }).gc!;
  gc();
  await new Promise((resolve) => setTimeout(resolve, 200)); // V8 frees ArrayBuffers' memory on a background thread after a gc
  gc();
  const rss = process.memoryUsage().rss;
  const high = () => process.resourceUsage().maxRSS * 1024;
  const highBefore = high();
  const buffers = process.memoryUsage().arrayBuffers;
  const start = performance.now();
  const image = decodeJpeg(bytes, { maxPixels: WIDTH * HEIGHT });
  const seconds = (performance.now() - start) / 1000;
  const measure: Measure = {
    held: high() - rss - image.data.byteLength,
    raised: high() > highBefore,
    live: process.memoryUsage().arrayBuffers - buffers - image.data.byteLength,
    pixels: image.width * image.height,
    seconds,
  };
  parentPort!.postMessage(measure);
} else if (process.argv[2] === 'measure') {
  // A fresh process (started below) whose high-water mark the JPEGs' making has not raised.
  const entry = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); });`;
  const worker = new Worker(entry, { eval: true, workerData: { big: process.argv[3], small: process.argv[4] } });
  worker.once('message', (m) => console.log(JSON.stringify(m)));
  worker.once('error', (e) => {
    throw e;
  });
} else {
  const source = execFileSync('djpeg', ['-pnm', join(MATE_DIR, 'abstract/Elephants_5640x3172.jpg')], { maxBuffer: 1 << 30 });
  const header = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(source.subarray(0, 40).toString('latin1'))!;
  const [w, h] = [Number(header[1]), Number(header[2])];
  const pixels = source.subarray(header[0].length);
  const mirror = (i: number, n: number) => (Math.floor(i / n) % 2 === 0 ? i % n : n - 1 - (i % n));
  const ppm = (width: number, height: number) => {
    const out = Buffer.alloc(width * height * 3);
    for (let y = 0; y < height; y++) {
      const sy = mirror(y, h);
      for (let x = 0; x < width; x++) pixels.copy(out, (y * width + x) * 3, (sy * w + mirror(x, w)) * 3, (sy * w + mirror(x, w)) * 3 + 3);
    }
    return Buffer.concat([Buffer.from(`P6\n${width} ${height}\n255\n`), out]);
  };
  const [bigPpm, smallPpm] = [ppm(WIDTH, HEIGHT), ppm(320, 240)];
  const dir = mkdtempSync(join(tmpdir(), 'edgelake-jpeg-memory-'));
  const rows = [];
  try {
    for (const [label, args] of [['4:2:0 baseline', []], ['4:2:0 progressive', ['-progressive']], ['4:4:4 baseline', ['-sample', '1x1']], ['4:4:4 progressive', ['-sample', '1x1', '-progressive']]] as const) {
      const [big, small] = [join(dir, 'big.jpg'), join(dir, 'small.jpg')];
      const jpeg = execFileSync('cjpeg', ['-quality', '90', ...args], { input: bigPpm, maxBuffer: 1 << 30 });
      writeFileSync(big, jpeg);
      writeFileSync(small, execFileSync('cjpeg', ['-quality', '90', ...args], { input: smallPpm }));
      const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), 'measure', big, small], { encoding: 'utf8' });
      const m = JSON.parse(out.trim().split('\n').at(-1)!) as Measure;
      if (!m.raised) throw new Error(`${label}: the decode stayed under the process's earlier peak, so its own peak is unknown`);
      rows.push({ measure: `${label} (${(jpeg.length / 1e6).toFixed(1)} MB): peak held above the output`, value: m.held / m.pixels, unit: 'bytes/pixel' });
      rows.push({ measure: `${label}: live ArrayBuffers left above the output`, value: m.live / m.pixels, unit: 'bytes/pixel' });
      rows.push({ measure: `${label}: decode time`, value: m.seconds, unit: 's' });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  report('jpeg-memory', `Decoding a ${WIDTH}x${HEIGHT} JPEG in a worker: memory above the output (target < 3 bytes/pixel)`, rows, [
    'CPU path, full size (decodeJpeg): a baseline file is entropy-decoded and reconstructed one MCU row at a time (a row of coefficients and a few plane rows); ' +
      'a progressive one too: its scans are found first (their data skipped), then each MCU row takes every scan\'s blocks of that row in turn, each scan resuming where it stopped, so only a row of coefficients is held',
    `method: ${METHOD}`,
  ]);
}
