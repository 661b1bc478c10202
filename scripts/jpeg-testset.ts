/**
 * A JPEG decoding test set built from Debian's mate-backgrounds photos (issue 17): the 16
 * originals as they are (baseline and progressive, full size), and re-encodes of each at a
 * quarter of its size by libjpeg-turbo's cjpeg at several qualities, samplings, progressive,
 * restart intervals, gray and RGB, and four-component files (CMYK and YCCK, baseline and
 * progressive) joined from them, so every path of a decoder meets real photos. Deterministic: the
 * same packages give the same bytes. Each file's source, licence, copyright and the commands that
 * made it go in index.json and PROVENANCE.md.
 *
 *   npx tsx scripts/jpeg-testset.ts OUT_DIR        (needs mate-backgrounds and libjpeg-turbo-progs)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCredits } from './debian-credits.js';
import { fourComponentJpeg } from './jpeg-four-components.js';

export const MATE_DIR = '/usr/share/backgrounds/mate';
const COPYRIGHT = '/usr/share/doc/mate-backgrounds/copyright';

/** The re-encodes: cjpeg arguments, and what each exercises. */
export const VARIANTS: Record<string, { args: string[]; what: string }> = {
  'q90-444': { args: ['-quality', '90', '-sample', '1x1'], what: 'baseline, 4:4:4' },
  'q90-422': { args: ['-quality', '90', '-sample', '2x1'], what: 'baseline, 4:2:2' },
  'q75-420': { args: ['-quality', '75', '-sample', '2x2'], what: 'baseline, 4:2:0' },
  'q90-440': { args: ['-quality', '90', '-sample', '1x2'], what: 'baseline, 4:4:0' },
  'q50-420-progressive': { args: ['-quality', '50', '-sample', '2x2', '-progressive'], what: 'progressive, 4:2:0' },
  'q95-444-progressive': { args: ['-quality', '95', '-sample', '1x1', '-progressive'], what: 'progressive, 4:4:4' },
  'q75-420-restart': { args: ['-quality', '75', '-sample', '2x2', '-restart', '1'], what: 'baseline, 4:2:0, a restart marker every MCU row' },
  'q75-444-restart5b': { args: ['-quality', '75', '-sample', '1x1', '-restart', '5B'], what: 'baseline, 4:4:4, a restart marker every 5 MCUs' },
  'q85-gray': { args: ['-quality', '85', '-grayscale'], what: 'baseline, one gray component' },
  'q85-gray-progressive': { args: ['-quality', '85', '-grayscale', '-progressive'], what: 'progressive, one gray component' },
  'q90-rgb': { args: ['-quality', '90', '-rgb'], what: 'baseline, RGB (Adobe marker, no colour transform)' },
};

/**
 * Four-component files, each the three components of one re-encode above and the gray one of
 * another in one frame (jpeg-four-components.ts), with or without an Adobe marker: its samples
 * are exactly its parts', whatever djpeg makes of the whole.
 */
export const FOUR_COMPONENTS: Record<string, { parts: [string, string]; adobeTransform?: number; what: string }> = {
  'adobe-cmyk': { parts: ['q90-rgb', 'q85-gray'], adobeTransform: 0, what: 'baseline, CMYK as Adobe stores it (inverted)' },
  'cmyk-unmarked': { parts: ['q90-rgb', 'q85-gray'], what: 'baseline, CMYK without an Adobe marker (read as inverted all the same)' },
  'ycck-420': { parts: ['q75-420', 'q85-gray'], adobeTransform: 2, what: 'baseline, YCCK, 4:2:0 and K full size' },
  'ycck-420-progressive': { parts: ['q50-420-progressive', 'q85-gray-progressive'], adobeTransform: 2, what: 'progressive, YCCK, 4:2:0 and K full size' },
};

export interface TestsetEntry {
  /** Path in the set, e.g. variants/nature-Dune-q90-422.jpg. */
  file: string;
  /** The photo it comes from, in mate-backgrounds. */
  source: string;
  /** How it was made: 'copy', or the djpeg | cjpeg commands. */
  made: string;
  /** A four-component file's parts, files of the set: its first three components are the first's, its fourth the second's. */
  parts?: [string, string];
  /** What it exercises. */
  what: string;
  license: string;
  copyright: string;
}

/** Builds the set into `out` (replacing what is there) and returns its index. */
export function buildJpegTestset(out: string): TestsetEntry[] {
  const photos = listPhotos();
  if (photos.length === 0) throw new Error(`no JPEG photos under ${MATE_DIR} (apt-get install mate-backgrounds)`);
  const credits = readCredits('mate-backgrounds');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, 'originals'), { recursive: true });
  mkdirSync(join(out, 'variants'), { recursive: true });
  const entries: TestsetEntry[] = [];
  for (const photo of photos) {
    const credit = credits(photo);
    const stem = photo.replace(/\.jpg$/, '').replace(/\//g, '-');
    const file = `originals/${stem}.jpg`;
    copyFileSync(join(MATE_DIR, photo), join(out, file));
    entries.push({ file, source: photo, made: 'copy', what: 'the original', ...credit });
    // A quarter of the size: re-encodes stay small, and the decode of the original stays the one full-size case.
    const quarter = execFileSync('djpeg', ['-scale', '1/4', '-pnm', join(MATE_DIR, photo)], { maxBuffer: 1 << 30 });
    for (const [name, { args, what }] of Object.entries(VARIANTS)) {
      const variant = `variants/${stem}-${name}.jpg`;
      writeFileSync(join(out, variant), execFileSync('cjpeg', [...args, '-optimize'], { input: quarter, maxBuffer: 1 << 30 }));
      entries.push({ file: variant, source: photo, made: `djpeg -scale 1/4 -pnm | cjpeg ${[...args, '-optimize'].join(' ')}`, what, ...credit });
    }
    for (const [name, { parts, adobeTransform, what }] of Object.entries(FOUR_COMPONENTS)) {
      const variant = `variants/${stem}-${name}.jpg`;
      const files = parts.map((part) => `variants/${stem}-${part}.jpg`) as [string, string];
      const [three, one] = files.map((f) => readFileSync(join(out, f)));
      writeFileSync(join(out, variant), fourComponentJpeg(three, one, adobeTransform));
      const marker = adobeTransform === undefined ? 'no Adobe marker' : `Adobe transform ${adobeTransform}`;
      entries.push({ file: variant, source: photo, made: `fourComponentJpeg(${files.join(', ')}), ${marker}`, what, parts: files, ...credit });
    }
  }
  writeFileSync(join(out, 'index.json'), JSON.stringify(entries, null, 1) + '\n');
  writeFileSync(join(out, 'PROVENANCE.md'), provenance(entries));
  return entries;
}

/** The package's JPEG photos, relative to MATE_DIR, sorted. */
export function listPhotos(): string[] {
  if (!existsSync(MATE_DIR)) return [];
  const out = execFileSync('find', [MATE_DIR, '-name', '*.jpg', '-type', 'f'], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean).map((p) => relative(MATE_DIR, p)).sort();
}

function provenance(entries: TestsetEntry[]): string {
  const tool = spawnSync('cjpeg', ['-version'], { encoding: 'utf8' }).stderr.trim().split('\n')[0]; // cjpeg prints it on stderr
  const sources = [...new Map(entries.map((e) => [e.source, e])).values()];
  return [
    '# JPEG decoding test set',
    '',
    `Built by scripts/jpeg-testset.ts from Debian's mate-backgrounds (${MATE_DIR}; credits from ${COPYRIGHT}).`,
    `Re-encodes: each photo decoded at 1/4 size by djpeg, encoded by cjpeg (${tool}) with -optimize and the arguments in index.json;`,
    'four-component files (CMYK, YCCK) join two of those re-encodes, the scans of each copied as they are (scripts/jpeg-four-components.ts).',
    '',
    '| photo | licence | copyright |',
    '| --- | --- | --- |',
    ...sources.map((e) => `| ${e.source} | ${e.license} | ${e.copyright} |`),
    '',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  if (!out) throw new Error('usage: npx tsx scripts/jpeg-testset.ts OUT_DIR');
  const entries = buildJpegTestset(out);
  console.log(`${entries.length} JPEGs in ${out} (${dirname(join(out, 'index.json'))}/index.json, PROVENANCE.md)`);
}
