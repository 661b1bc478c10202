/**
 * A labelled set of photo-size JPEGs for training and active learning (issue 17): six classes of
 * Debian's tuxpaint-stamps-default clip art (animals, food, household, plants, town, vehicles),
 * each the first STAMPS_PER_CLASS stamps of its folder, in turn, and each image one of them
 * laid over a window of one of mate-backgrounds' photos at a seeded size, aspect,
 * photo scale, stamp scale, position and mirroring, with seeded grain, encoded by cjpeg at a
 * seeded quality. Sample k of a class depends only on (class, k), so a smaller --per-class is a
 * prefix of the full set, and the same packages give the same bytes. Layout:
 * OUT_DIR/images/<class>/*.jpg (what `edgelake build imagefolder` reads), OUT_DIR/index.json (how
 * each image was made), OUT_DIR/PROVENANCE.md (packages and licences); with --build, also the
 * edgelake dataset in OUT_DIR/dataset (image, label, and the 32x32 thumbnail probe).
 *
 *   npx tsx scripts/photo-dataset.ts OUT_DIR [--per-class N] [--build]
 *   (needs tuxpaint-stamps-default, mate-backgrounds and libjpeg-turbo-progs)
 */
import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { decodePng } from '../src/format/index.js';
import { readCredits } from './debian-credits.js';
import { CjpegShell, GRAIN, halve, LONG_SIDE, STAMP_SIZE, premultipliedRgba, readPpm, render, type Rendered } from './photo-dataset-render.js';

export const STAMPS_DIR = '/usr/share/tuxpaint/stamps';
export const MATE_DIR = '/usr/share/backgrounds/mate';
export const CLASSES = ['animals', 'food', 'household', 'plants', 'town', 'vehicles'];
export const PER_CLASS = 350;
/**
 * Objects per class, each then seen ~90 times on other photos, sizes and places. With all of a
 * folder's stamps (34-146) a class is a category of mostly unseen objects that nothing trained
 * here from a few hundred labels tells apart (nearest neighbour on the 32x32 thumbnails, 80/20
 * split: 0.26, chance 0.17); with four it is objects to recognise (0.52), and the
 * active-learning bench's learner has something to learn (its ceiling 0.50, was 0.20).
 */
export const STAMPS_PER_CLASS = 4;
/** The least bytes of a JPEG in the set: photo-size files, not thumbnails. */
export const MIN_BYTES = 10_240;
const STAMPS_PACKAGE = 'tuxpaint-stamps-default';
const PHOTOS_PACKAGE = 'mate-backgrounds';

export interface PhotoEntry extends Rendered {
  /** Path in the set, e.g. images/animals/0000-amphibians-frog-1.jpg. */
  file: string;
  className: string;
  /** The stamp, relative to STAMPS_DIR; the key that seeded every other choice; the background photo, relative to MATE_DIR. */
  stamp: string;
  seed: string;
  background: string;
  quality: number;
}

/** Builds the set into `out` (replacing what is there) and returns its index. */
export async function buildPhotoDataset(out: string, perClass = PER_CLASS): Promise<PhotoEntry[]> {
  const photos = listFiles(MATE_DIR, '*.jpg').filter((p) => !/_\d+x\d+\.jpg$/.test(p)); // Elephants_3840x2160 etc. repeat Elephants
  if (photos.length === 0) throw new Error(`no JPEG photos under ${MATE_DIR} (apt-get install ${PHOTOS_PACKAGE})`);
  const stamps = new Map(CLASSES.map((c) => [c, listFiles(join(STAMPS_DIR, c), '*.png').map((s) => `${c}/${s}`)]));
  for (const [c, list] of stamps) if (list.length < STAMPS_PER_CLASS) throw new Error(`fewer than ${STAMPS_PER_CLASS} PNG stamps under ${STAMPS_DIR}/${c} (apt-get install ${STAMPS_PACKAGE})`);

  rmSync(out, { recursive: true, force: true });
  const scratch = mkdtempSync(join(tmpdir(), 'edgelake-photo-dataset-'));
  // Two shells started before the photos fill memory: forking them per file is cheaper than forking node.
  const shells = [new CjpegShell(), new CjpegShell()];
  // Each photo at full size, 1/2 and 1/4 (2x2 box means): a window's scale is which one it comes from.
  const pyramid = memo((p: string) => {
    const full = readPpm(execFileSync('djpeg', ['-pnm', join(MATE_DIR, p)], { maxBuffer: 1 << 30 }));
    return [full, halve(full), halve(halve(full))];
  });
  const stampImage = memo((s: string) => premultipliedRgba(decodePng(readFileSync(join(STAMPS_DIR, s)), { name: s })));
  const makeImage = async (className: string, k: number, shell: CjpegShell): Promise<PhotoEntry> => {
    const stamp = stamps.get(className)![k % STAMPS_PER_CLASS];
    const name = `${String(k).padStart(4, '0')}-${stamp.slice(className.length + 1).replace(/\.png$/, '').replace(/\//g, '-')}`;
    const file = `images/${className}/${name}.jpg`;
    // A draw that encodes under MIN_BYTES (a small window of a smooth photo) is drawn again from the next seed.
    for (let attempt = 0; attempt < 10; attempt++) {
      const seed = attempt === 0 ? `${className}/${k}` : `${className}/${k}/${attempt}`;
      const random = seeded(seed);
      const background = photos[Math.floor(random() * photos.length)];
      const { image, ...rendered } = render(pyramid(background), stampImage(stamp), random);
      const quality = 80 + Math.floor(random() * 16);
      const ppm = join(scratch, `${className}-${name}.ppm`);
      writeFileSync(ppm, Buffer.concat([Buffer.from(`P6\n${image.width} ${image.height}\n255\n`), image.data]));
      await shell.encode(quality, ppm, join(out, file));
      if (statSync(join(out, file)).size >= MIN_BYTES) return { file, className, stamp, seed, background, ...rendered, quality };
    }
    throw new Error(`${file}: 10 draws all encoded under ${MIN_BYTES} bytes`);
  };

  try {
    for (const className of CLASSES) mkdirSync(join(out, 'images', className), { recursive: true });
    const jobs = CLASSES.flatMap((className) => Array.from({ length: perClass }, (_, k) => ({ className, k })));
    const entries: PhotoEntry[] = new Array(jobs.length);
    let next = 0;
    // One worker per shell: while one waits on cjpeg, the other renders.
    await Promise.all(shells.map(async (shell) => {
      for (let i = next++; i < jobs.length; i = next++) entries[i] = await makeImage(jobs[i].className, jobs[i].k, shell);
    }));
    writeFileSync(join(out, 'index.json'), JSON.stringify(entries, null, 1) + '\n');
    writeFileSync(join(out, 'PROVENANCE.md'), provenance(entries, stamps));
    return entries;
  } finally {
    for (const shell of shells) shell.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** mulberry32, seeded by the first 4 bytes of sha256(key): every sample has its own stream. */
function seeded(key: string): () => number {
  let a = createHash('sha256').update(key).digest().readUInt32LE(0);
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function memo<T>(f: (key: string) => T): (key: string) => T {
  const cache = new Map<string, T>();
  return (key) => cache.get(key) ?? cache.set(key, f(key)).get(key)!;
}

/** Files under `dir` matching `glob`, relative to it, sorted. */
function listFiles(dir: string, glob: string): string[] {
  if (!existsSync(dir)) return [];
  const out = execFileSync('find', [dir, '-name', glob, '-type', 'f'], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean).map((p) => relative(dir, p)).sort();
}

const version = (pkg: string) => spawnSync('dpkg-query', ['-W', '-f=${Version}', pkg], { encoding: 'utf8' }).stdout || 'unknown (not installed by dpkg)';

function provenance(entries: PhotoEntry[], stamps: Map<string, string[]>): string {
  const tool = spawnSync('cjpeg', ['-version'], { encoding: 'utf8' }).stderr.trim().split('\n')[0]; // cjpeg prints it on stderr
  const [stampsPackage, photosPackage] = [`${STAMPS_PACKAGE} ${version(STAMPS_PACKAGE)}`, `${PHOTOS_PACKAGE} ${version(PHOTOS_PACKAGE)}`];
  const stampCredit = readCredits(STAMPS_PACKAGE);
  const photoCredit = readCredits(PHOTOS_PACKAGE);
  const of = (c: string) => entries.filter((e) => e.className === c);
  // A class's distinct credits over the stamps it used (the package has one stanza for all today).
  const credits = (c: string, key: 'license' | 'copyright') => [...new Set(of(c).map((e) => stampCredit(e.stamp)[key]))].join('; ');
  return [
    '# Photo-size classification set',
    '',
    `Built by scripts/photo-dataset.ts. Objects: the PNG stamps of ${stampsPackage} (${STAMPS_DIR}), one class per top-level folder; ` +
      `backgrounds: the photos of ${photosPackage} (${MATE_DIR}). Credits from /usr/share/doc/<package>/copyright.`,
    `Each image: a seeded window of a photo (decoded by djpeg, at full size, 1/2 or 1/4 by 2x2 means), long side ${LONG_SIDE[0]}-${LONG_SIDE[1]} px; ` +
      `one stamp of its class (the folder's first ${STAMPS_PER_CLASS}, in turn) resized (area average, premultiplied alpha) to ` +
      `${STAMP_SIZE[0] * 100}-${STAMP_SIZE[1] * 100} % of the short side, maybe mirrored, laid over it; ` +
      `seeded grain of +-${GRAIN} levels; encoded by cjpeg (${tool}) -quality 80-95 -optimize (baseline, 4:2:0); ` +
      `a draw under ${MIN_BYTES} bytes is drawn again from the next seed. index.json gives every choice and its seed.`,
    '',
    '| class | images | stamps used / in folder | package | licence | copyright |',
    '| --- | --- | --- | --- | --- | --- |',
    ...CLASSES.map((c) => `| ${c} | ${of(c).length} | ${new Set(of(c).map((e) => e.stamp)).size} / ${stamps.get(c)!.length} | ` +
      `${stampsPackage} | ${credits(c, 'license')} | ${credits(c, 'copyright')} |`),
    '',
    '| background photo | images | package | licence | copyright |',
    '| --- | --- | --- | --- | --- |',
    ...[...new Set(entries.map((e) => e.background))].sort().map((p) => ({ p, ...photoCredit(p) })).map(({ p, license, copyright }) =>
      `| ${p} | ${entries.filter((e) => e.background === p).length} | ${photosPackage} | ${license} | ${copyright} |`),
    '',
  ].join('\n');
}

/** The `edgelake build imagefolder` arguments for the set in `out`; `created` is the stamps' release date, so a rebuild gives the same version id. */
export const buildPhotoDatasetArgs = (out: string): string[] => [
  'build', 'imagefolder', join(out, 'images'), '--out', join(out, 'dataset'),
  '--name', 'tuxpaint-photos', '--test-fraction', '0.2', '--created', '2022-06-04T00:00:00Z',
];

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { 'per-class': { type: 'string' }, build: { type: 'boolean' } } });
  const perClass = Number(values['per-class'] ?? PER_CLASS);
  if (positionals.length !== 1 || !(Number.isInteger(perClass) && perClass > 0)) {
    throw new Error('usage: npx tsx scripts/photo-dataset.ts OUT_DIR [--per-class N] [--build]');
  }
  const out = positionals[0];
  const started = Date.now();
  const entries = await buildPhotoDataset(out, perClass);
  console.log(`${entries.length} JPEGs in ${CLASSES.length} classes in ${out}/images (index.json, PROVENANCE.md), ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (values.build) {
    const { runCli } = await import('../src/cli/main.js'); // the whole CLI, only when asked to build
    process.exitCode = await runCli(buildPhotoDatasetArgs(out));
  }
}
