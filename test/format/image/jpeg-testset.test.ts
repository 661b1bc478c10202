// The JPEG decoding test set (scripts/jpeg-testset.ts): every file is what index.json says it is,
// read from its own markers, and the same packages give the same bytes.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildJpegTestset, FOUR_COMPONENTS, MATE_DIR, VARIANTS, type TestsetEntry } from '../../../scripts/jpeg-testset.js';
import { decodeJpeg } from '../../../src/format/index.js';
import { djpeg } from '../../support/jpeg-reference.js';
import { hasCommand, missing } from '../../support/system.js';

/** What a JPEG's markers declare: frame type, size, sampling factors, restart interval. */
function markers(b: Uint8Array) {
  let frame: { sof: number; width: number; height: number; sampling: string[] } | undefined;
  let restartInterval = 0;
  for (let pos = 2; pos + 4 <= b.length && b[pos] === 0xff;) {
    const marker = b[pos + 1];
    const length = (b[pos + 2] << 8) | b[pos + 3];
    if (marker >= 0xc0 && marker <= 0xc2) {
      const n = b[pos + 9];
      const sampling = Array.from({ length: n }, (_, k) => `${b[pos + 11 + 3 * k] >> 4}x${b[pos + 11 + 3 * k] & 15}`);
      frame = { sof: marker, height: (b[pos + 5] << 8) | b[pos + 6], width: (b[pos + 7] << 8) | b[pos + 8], sampling };
    }
    if (marker === 0xdd) restartInterval = (b[pos + 4] << 8) | b[pos + 5];
    if (marker === 0xda) break;
    pos += 2 + length;
  }
  return { ...frame!, restartInterval };
}

const djpegSize = (file: string) => {
  const header = execFileSync('djpeg', ['-pnm', file], { maxBuffer: 1 << 30 }).subarray(0, 32).toString('latin1');
  const [, w, h] = /^P[56]\s+(\d+)\s+(\d+)/.exec(header)!;
  return { width: Number(w), height: Number(h) };
};

const noPackages =
  missing('djpeg and cjpeg', 'apt-get install libjpeg-turbo-progs', hasCommand('djpeg') && hasCommand('cjpeg')) ||
  missing('JPEG photos', 'apt-get install mate-backgrounds', existsSync(MATE_DIR));

describe.skipIf(noPackages)('the JPEG decoding test set', () => {
  let dir: string;
  let entries: TestsetEntry[];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'edgelake-jpeg-testset-'));
    entries = buildJpegTestset(join(dir, 'a'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('holds every photo of the package and each of its re-encodes, credited', () => {
    const originals = entries.filter((e) => e.made === 'copy');
    expect(originals.length).toBeGreaterThanOrEqual(16);
    expect(entries.length).toBe(originals.length * (1 + Object.keys(VARIANTS).length + Object.keys(FOUR_COMPONENTS).length));
    for (const e of entries) {
      expect(e.license, e.file).toMatch(/GPL/);
      expect(e.copyright, e.file).toMatch(/\d{4}, \S/);
    }
    expect(JSON.parse(readFileSync(join(dir, 'a', 'index.json'), 'utf8'))).toEqual(entries);
    expect(readFileSync(join(dir, 'a', 'PROVENANCE.md'), 'utf8')).toMatch(/libjpeg-turbo version \d/);
  });

  it('the originals are baseline and progressive; each re-encode has the frame, sampling and restarts it names', () => {
    const kinds = new Set(entries.filter((e) => e.made === 'copy').map((e) => markers(readFileSync(join(dir, 'a', e.file))).sof));
    expect(kinds).toEqual(new Set([0xc0, 0xc2]));
    for (const e of entries.filter((x) => x.made !== 'copy' && !x.parts)) {
      const name = Object.keys(VARIANTS).find((v) => e.file.endsWith(`-${v}.jpg`))!;
      const m = markers(readFileSync(join(dir, 'a', e.file)));
      const original = markers(readFileSync(join(MATE_DIR, e.source)));
      expect({ width: m.width, height: m.height }, e.file).toEqual({ width: Math.ceil(original.width / 4), height: Math.ceil(original.height / 4) });
      expect(m.sof, e.file).toBe(name.includes('progressive') ? 0xc2 : 0xc0);
      const sampling = name.includes('gray') ? ['1x1'] : name.includes('444') || name.includes('rgb') ? ['1x1', '1x1', '1x1']
        : name.includes('422') ? ['2x1', '1x1', '1x1'] : name.includes('440') ? ['1x2', '1x1', '1x1'] : ['2x2', '1x1', '1x1'];
      expect(m.sampling, e.file).toEqual(sampling);
      expect(m.restartInterval > 0, e.file).toBe(name.includes('restart'));
    }
  });

  it('a four-component file is its parts\' frame with a full-size fourth component, marked as it names', () => {
    const fours = entries.filter((e) => e.parts);
    expect(fours.length).toBe(entries.filter((e) => e.made === 'copy').length * Object.keys(FOUR_COMPONENTS).length);
    for (const e of fours) {
      const [name, { adobeTransform }] = Object.entries(FOUR_COMPONENTS).find(([n]) => e.file.endsWith(`-${n}.jpg`))!;
      const bytes = readFileSync(join(dir, 'a', e.file));
      const [three, one] = e.parts!.map((f) => markers(readFileSync(join(dir, 'a', f))));
      const m = markers(bytes);
      const largest = `${Math.max(...three.sampling.map((f) => Number(f[0])))}x${Math.max(...three.sampling.map((f) => Number(f[2])))}`;
      expect(m, e.file).toEqual({ ...three, sampling: [...three.sampling, largest] });
      expect(one.sof, e.file).toBe(three.sof);
      expect(m.sof, e.file).toBe(name.includes('progressive') ? 0xc2 : 0xc0);
      const adobe = bytes.indexOf(Buffer.from('Adobe'));
      expect(adobe < 0 ? undefined : bytes[adobe + 11], e.file).toBe(adobeTransform);
      // Its samples are its parts': djpeg makes a CMYK file's RGB from them as cmyk.h does (C * K / 255, rounded).
      if (adobeTransform === 2) continue;
      const [cmy, k] = e.parts!.map((part) => djpeg(join(dir, 'a', part)).data);
      const expected = cmy.map((v, i) => Math.floor((v * k[Math.floor(i / 3)]) / 255 + 0.5));
      expect(Buffer.from(djpeg(join(dir, 'a', e.file)).data).equals(Buffer.from(expected)), e.file).toBe(true);
    }
  });

  it('djpeg and our decoder read every re-encode to the size its frame declares', () => {
    for (const e of entries.filter((x) => x.made !== 'copy')) {
      const file = join(dir, 'a', e.file);
      const { width, height } = markers(readFileSync(file));
      expect(djpegSize(file), e.file).toEqual({ width, height });
      const ours = decodeJpeg(readFileSync(file), { name: e.file });
      expect({ width: ours.width, height: ours.height, channels: ours.channels }, e.file).toEqual({ width, height, channels: e.file.includes('gray') ? 1 : 3 });
    }
  }, 60_000);

  it('is the same, byte for byte, when built again', () => {
    const again = buildJpegTestset(join(dir, 'b'));
    expect(again).toEqual(entries);
    for (const e of entries) expect(readFileSync(join(dir, 'b', e.file)).equals(readFileSync(join(dir, 'a', e.file))), e.file).toBe(true);
  });
});
