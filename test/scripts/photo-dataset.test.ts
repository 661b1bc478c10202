// The photo-size classification set (scripts/photo-dataset.ts), built here as a subset: SUBSET
// images per class (the full PER_CLASS takes over a minute on two cores). Sample k of a class
// depends only on (class, k), so the subset is the full set's first images, byte for byte.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPhotoDataset, buildPhotoDatasetArgs, CLASSES, MATE_DIR, MIN_BYTES, PER_CLASS, STAMPS_DIR, STAMPS_PER_CLASS, type PhotoEntry } from '../../scripts/photo-dataset.js';
import { STAMP_SIZE } from '../../scripts/photo-dataset-render.js';
import { openVersion } from '../../src/index.js';
import { FileSource } from '../../src/node.js';
import { cli } from '../support/cli.js';
import { hasCommand, missing } from '../support/system.js';

const SUBSET = 20;

const noPackages =
  missing('djpeg and cjpeg', 'apt-get install libjpeg-turbo-progs', hasCommand('djpeg') && hasCommand('cjpeg')) ||
  missing('JPEG photos', 'apt-get install mate-backgrounds', existsSync(MATE_DIR)) ||
  missing('Tux Paint stamps', 'apt-get install tuxpaint-stamps-default', existsSync(STAMPS_DIR));

/** djpeg's decode of a JPEG file: our decoder is not the judge of files made for it. */
function djpeg(file: string) {
  const ppm = execFileSync('djpeg', ['-pnm', file], { maxBuffer: 1 << 30 });
  const m = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(ppm.subarray(0, 32).toString('latin1'))!;
  return { width: Number(m[1]), height: Number(m[2]), data: ppm.subarray(m[0].length) };
}

/** The frame marker (SOF0 baseline, SOF2 progressive) and size a JPEG declares. */
function frame(b: Buffer) {
  for (let pos = 2; pos + 9 < b.length && b[pos] === 0xff;) {
    if (b[pos + 1] >= 0xc0 && b[pos + 1] <= 0xc2) return { sof: b[pos + 1], height: b.readUInt16BE(pos + 5), width: b.readUInt16BE(pos + 7) };
    pos += 2 + b.readUInt16BE(pos + 2);
  }
  return undefined;
}

describe.skipIf(noPackages)('the photo-size classification set', () => {
  let dir: string;
  let entries: PhotoEntry[];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgelake-photo-dataset-'));
    entries = await buildPhotoDataset(join(dir, 'a'), SUBSET);
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('holds five or more classes, two thousand or more images in full, balanced, and a class folder per label', () => {
    expect(CLASSES.length).toBeGreaterThanOrEqual(5);
    expect(CLASSES.length * PER_CLASS).toBeGreaterThanOrEqual(2000);
    expect(readdirSync(join(dir, 'a', 'images')).sort()).toEqual(CLASSES);
    for (const c of CLASSES) {
      const files = readdirSync(join(dir, 'a', 'images', c)).sort();
      expect(files.map((f) => `images/${c}/${f}`)).toEqual(entries.filter((e) => e.className === c).map((e) => e.file));
      expect(files).toHaveLength(SUBSET);
      // Every stamp comes from its class's folder of the package: its first STAMPS_PER_CLASS, in turn.
      const stamps = entries.filter((e) => e.className === c).map((e) => e.stamp);
      for (const s of stamps) expect(existsSync(join(STAMPS_DIR, s)), s).toBe(true);
      expect(stamps.every((s) => s.startsWith(`${c}/`))).toBe(true);
      const objects = stamps.slice(0, STAMPS_PER_CLASS);
      expect(new Set(objects).size).toBe(STAMPS_PER_CLASS);
      expect(stamps).toEqual(stamps.map((_, k) => objects[k % STAMPS_PER_CLASS]));
    }
    expect(JSON.parse(readFileSync(join(dir, 'a', 'index.json'), 'utf8'))).toEqual(entries);
  });

  it('every file is a baseline JPEG of 10 kB or more, of the size index.json gives; sizes and orientations vary', () => {
    for (const e of entries) {
      const bytes = readFileSync(join(dir, 'a', e.file));
      expect(bytes.length, e.file).toBeGreaterThanOrEqual(MIN_BYTES);
      expect(frame(bytes), e.file).toEqual({ sof: 0xc0, width: e.width, height: e.height });
      // The object is the photo's subject: its long side a set fraction of the image's short side.
      const fraction = Math.max(e.box[2], e.box[3]) / Math.min(e.width, e.height);
      expect(fraction, e.file).toBeGreaterThanOrEqual(STAMP_SIZE[0] - 0.01);
      expect(fraction, e.file).toBeLessThanOrEqual(STAMP_SIZE[1] + 0.01);
    }
    expect(new Set(entries.map((e) => `${e.width}x${e.height}`)).size).toBeGreaterThan(entries.length / 2);
    expect(entries.some((e) => e.width > e.height) && entries.some((e) => e.width < e.height)).toBe(true);
    expect(Math.min(...entries.map((e) => Math.max(e.width, e.height)))).toBeGreaterThanOrEqual(384);
    expect(Math.max(...entries.map((e) => Math.max(e.width, e.height)))).toBeLessThanOrEqual(768);
  });

  it('outside the stamp each image is its window of the photo, plus grain and JPEG error; inside, the stamp covers it', () => {
    const photos = new Map<string, ReturnType<typeof djpeg>>();
    let [outside, outsideN, inside, insideN] = [0, 0, 0, 0];
    for (const e of entries.filter((x) => x.photoScale === '1')) {
      const photo = photos.get(e.background) ?? photos.set(e.background, djpeg(join(MATE_DIR, e.background))).get(e.background)!;
      const img = djpeg(join(dir, 'a', e.file));
      const [bx, by, bw, bh] = e.box;
      let [sum, n] = [0, 0];
      for (let y = 0; y < e.height; y++) {
        for (let x = 0; x < e.width; x++) {
          const o = (y * e.width + x) * 3;
          const p = ((e.crop[1] + y) * photo.width + e.crop[0] + x) * 3;
          const d = (Math.abs(img.data[o] - photo.data[p]) + Math.abs(img.data[o + 1] - photo.data[p + 1]) + Math.abs(img.data[o + 2] - photo.data[p + 2])) / 3;
          if (x >= bx && x < bx + bw && y >= by && y < by + bh) [inside, insideN] = [inside + d, insideN + 1];
          else [sum, n] = [sum + d, n + 1];
        }
      }
      expect(sum / n, e.file).toBeLessThan(8);
      [outside, outsideN] = [outside + sum, outsideN + n];
    }
    expect(outsideN).toBeGreaterThan(0);
    expect(inside / insideN).toBeGreaterThan((3 * outside) / outsideN);
  }, 30_000);

  it('credits each package with its version and licence', () => {
    const md = readFileSync(join(dir, 'a', 'PROVENANCE.md'), 'utf8');
    for (const c of CLASSES) expect(md).toMatch(new RegExp(`\\| ${c} \\| ${SUBSET} \\| ${STAMPS_PER_CLASS} / \\d+ \\| tuxpaint-stamps-default \\d{4}\\.\\S+ \\| GPL-2 \\| .*Bill Kendrick`));
    for (const photo of new Set(entries.map((e) => e.background))) {
      expect(md).toMatch(new RegExp(`\\| ${photo} \\| \\d+ \\| mate-backgrounds \\d\\S* \\| GPL-2\\+ \\| \\d{4}, \\S`));
    }
    expect(md).toMatch(/libjpeg-turbo version \d/);
  });

  it('is the same, byte for byte, when built again, and a smaller build is its first images', async () => {
    const again = await buildPhotoDataset(join(dir, 'b'), SUBSET / 2);
    expect(again).toEqual(CLASSES.flatMap((c) => entries.filter((e) => e.className === c).slice(0, SUBSET / 2)));
    for (const e of again) expect(readFileSync(join(dir, 'b', e.file)).equals(readFileSync(join(dir, 'a', e.file))), e.file).toBe(true);
  }, 60_000);

  it('edgelake build imagefolder makes it a dataset of variable-size JPEGs, labels and a thumbnail probe', async () => {
    const built = await cli(...buildPhotoDatasetArgs(join(dir, 'a')));
    expect(built).toMatchObject({ code: 0, stdout: expect.stringMatching(new RegExp(`\\(${entries.length} samples\\)`)) });
    const { manifest } = await openVersion(new FileSource(join(dir, 'a', 'dataset')));
    expect(manifest.length).toBe(entries.length);
    expect(manifest.tensors.image).toMatchObject({ sampleCompression: 'jpeg', shape: [null, null, 3] });
    expect(manifest.tensors.label.classNames).toEqual(CLASSES);
    expect(manifest.tensors.thumbnail).toMatchObject({ shape: [32, 32, 3] });
    expect(manifest.splits.test[0][1]).toBe(entries.length);
    expect(manifest.splits.train[0][1]).toBeGreaterThan(entries.length / 2);
  }, 60_000);
});
