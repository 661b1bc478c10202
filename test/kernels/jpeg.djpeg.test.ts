// JPEG reconstruction against libjpeg-turbo's djpeg on the JPEG test set (scripts/jpeg-testset.ts,
// CMYK and YCCK included):
// our entropy decoder's coefficients, reconstructed by reconstructJpegRef at 1/1, 1/2, 1/4, 1/8;
// and decodeJpeg, which takes baseline files from bytes to pixels one MCU row at a time.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildJpegTestset, MATE_DIR, type TestsetEntry } from '../../scripts/jpeg-testset.js';
import { decodeJpeg } from '../../src/format/index.js';
import { readJpegCoefficients } from '../../src/format/image/jpeg/index.js';
import { reconstructJpegRef, type JpegScale } from '../../src/kernels/index.js';
import { djpeg } from '../support/jpeg-reference.js';
import { hasCommand, missing } from '../support/system.js';

function psnr(a: Uint8Array, b: Uint8Array): number {
  let squares = 0;
  for (let i = 0; i < a.length; i++) squares += (a[i] - b[i]) ** 2;
  return squares === 0 ? Infinity : 10 * Math.log10((255 * 255 * a.length) / squares);
}

const noPackages =
  missing('djpeg and cjpeg', 'apt-get install libjpeg-turbo-progs', hasCommand('djpeg') && hasCommand('cjpeg')) ||
  missing('JPEG photos', 'apt-get install mate-backgrounds', existsSync(MATE_DIR));

describe.skipIf(noPackages)('JPEG reconstruction against djpeg on the test set', () => {
  let dir: string;
  let entries: TestsetEntry[];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'edgelake-jpeg-djpeg-'));
    entries = buildJpegTestset(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('every photo at every scale is within 40 dB PSNR of djpeg -scale 1/N, and exact with libjpeg-turbo 2.1', () => {
    const version = /libjpeg-turbo version (\S+)/.exec(spawnSync('djpeg', ['-version'], { encoding: 'latin1' }).stderr)?.[1] ?? 'unknown';
    const rows: string[] = [];
    let exact = 0;
    let worst = Infinity;
    for (const [index, e] of entries.entries()) {
      const file = join(dir, e.file);
      const bytes = readFileSync(file);
      const coef = readJpegCoefficients(bytes, { name: e.file, maxPixels: 100_000_000 });
      for (const scale of [1, 2, 4, 8] as JpegScale[]) {
        const ours = reconstructJpegRef(coef, scale, e.file);
        const theirs = djpeg(file, scale);
        const what = `${e.file} 1/${scale}`;
        // decodeJpeg too: the quarter-size re-encodes at every scale, each full-size original at one (they take the time).
        if (e.made !== 'copy' || scale === 2 ** (index % 4)) {
          expect(Buffer.compare(decodeJpeg(bytes, { name: e.file, scale }).data, ours.data), `${what}: decodeJpeg`).toBe(0);
        }
        expect({ width: ours.width, height: ours.height, channels: ours.channels }, what).toEqual({ width: theirs.width, height: theirs.height, channels: theirs.channels });
        const db = psnr(ours.data, theirs.data);
        worst = Math.min(worst, db);
        if (db === Infinity) exact++;
        else rows.push(`${what}: ${db.toFixed(1)} dB`);
        expect(db, what).toBeGreaterThanOrEqual(40);
      }
    }
    const runs = entries.length * 4;
    console.log(`jpeg vs djpeg (libjpeg-turbo ${version}): ${exact} of ${runs} decodes exact, worst PSNR ${worst} dB${rows.length ? `\n${rows.join('\n')}` : ''}`);
    // The reference transcribes libjpeg-turbo 2.1's integer arithmetic: with that djpeg, nothing may differ.
    if (version.startsWith('2.1.')) expect(rows, 'decodes that differ from djpeg').toEqual([]);
  }, 300_000);
});
