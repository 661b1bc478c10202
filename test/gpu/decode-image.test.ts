// decodeImage on the device, as a user calls it, on every photo of the JPEG test set
// (scripts/jpeg-testset.ts): equal to djpeg's default decode (fancy upsampling, integer IDCT)
// and to the CPU path.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { buildJpegTestset, MATE_DIR, type TestsetEntry } from '../../scripts/jpeg-testset.js';
import { decodeImage, type Pixels } from '../../src/index.js';
import { bufferPool } from '../../src/kernels/index.js';
import { djpeg } from '../support/jpeg-reference.js';
import { hasCommand, missing } from '../support/system.js';
import { gpuDescribe } from './gpu.js';

const noPackages =
  missing('djpeg and cjpeg', 'apt-get install libjpeg-turbo-progs', hasCommand('djpeg') && hasCommand('cjpeg')) ||
  missing('JPEG photos', 'apt-get install mate-backgrounds', existsSync(MATE_DIR));

function psnr(a: Uint8Array, b: Uint8Array): number {
  let squares = 0;
  for (let i = 0; i < a.length; i++) squares += (a[i] - b[i]) ** 2;
  return squares === 0 ? Infinity : 10 * Math.log10((255 * 255 * a.length) / squares);
}

function largestDifference(a: Pixels, b: Pixels): number {
  let max = 0;
  for (let i = 0; i < a.data.length; i++) max = Math.max(max, Math.abs(a.data[i] - b.data[i]));
  return max;
}

gpuDescribe('decodeImage(bytes, { device })', (gpu) => {
  if (noPackages) {
    test.skip(`the JPEG test set: ${noPackages}`, () => {});
    return;
  }
  let dir: string;
  let entries: TestsetEntry[];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'edgelake-decode-image-'));
    entries = buildJpegTestset(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('every photo of the test set: djpeg\'s samples within 40 dB (exact here), and the CPU path\'s within 1 level', async () => {
    let exact = 0;
    let worst = Infinity;
    for (const e of entries) {
      const bytes = readFileSync(join(dir, e.file));
      const onDevice = await decodeImage(bytes, { device: gpu.device, name: e.file });
      const onCpu = await decodeImage(bytes, { name: e.file });
      expect({ ...onDevice, data: undefined }, e.file).toEqual({ ...onCpu, data: undefined });
      expect(largestDifference(onDevice, onCpu), e.file).toBeLessThanOrEqual(1);
      const db = psnr(onDevice.data, djpeg(join(dir, e.file)).data);
      expect(db, e.file).toBeGreaterThanOrEqual(40);
      worst = Math.min(worst, db);
      if (db === Infinity) exact++;
    }
    console.log(`decodeImage on the device: ${exact} of ${entries.length} test-set photos equal to djpeg's samples, worst PSNR ${worst} dB`);
    bufferPool(gpu.device).trim(0); // decodeImage keeps its buffers in the device's pool
  }, 300_000);

  test('scaled decoding on the device: 1/8 of a photo is the CPU path\'s 1/8', async () => {
    const bytes = readFileSync(join(MATE_DIR, 'nature/Dune.jpg'));
    const onDevice = await decodeImage(bytes, { device: gpu.device, scale: 8 });
    expect({ width: onDevice.width, height: onDevice.height, channels: onDevice.channels }).toEqual({ width: 210, height: 132, channels: 3 });
    expect(onDevice.data).toEqual((await decodeImage(bytes, { scale: 8 })).data);
    bufferPool(gpu.device).trim(0);
  });

  test('bad bytes reject with an error naming the sample, before any device work', async () => {
    await expect(decodeImage(Uint8Array.of(0xff, 0xd8, 0xff, 0xd9), { device: gpu.device, name: 'empty.jpg' })).rejects.toThrow(/^empty\.jpg: no frame header/);
  });
});
