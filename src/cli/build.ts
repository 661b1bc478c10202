import { open, readdir, readFile, realpath, rm, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { createdTime, datasetName, MAX_CHUNK_KIB, parseFlags, positiveInt, refName, refuseExpandedPattern, type Flags } from './flags.js';
import { EdgelakeError } from '../errors.js';
import { buildIdx } from '../format/builders/build-idx.js';
import { buildImageFolder, type ImageFile } from '../format/builders/build-imagefolder.js';
import type { Committed } from '../format/builders/commit.js';
import { FolderSink } from '../format/folder-sink.node.js';
import { parseIdx } from '../format/builders/idx.js';
import { NAME } from '../format/validate.js';
import { addEmbeddingProbe, convertToNative, probeInput } from '../runtime/convert.js';
import { openDataset } from '../runtime/open.node.js';
import { formatBytes, progressBar, type CliIo } from './io.js';

export const buildIdxUsage =
  'edgelake build idx --train-images F --train-labels F [--test-images F --test-labels F] [--class-names a,b,...] ' +
  '[--name N] [--chunk-kib K] [--chunk-compression deflate|none] [--embedding-dims D] [--created ISO] [--ref R] --out DIR';

export const buildIdxFlags = {
  'train-images': { type: 'string', value: 'FILE', help: 'the training images, an IDX file (gzipped or not)' },
  'train-labels': { type: 'string', value: 'FILE', help: 'the training labels, an IDX file' },
  'test-images': { type: 'string', value: 'FILE', help: 'the test images (with --test-labels: a test split)' },
  'test-labels': { type: 'string', value: 'FILE', help: 'the test labels' },
  'class-names': { type: 'string', value: 'a,b,...', help: 'the classes\' names, in label order' },
  name: { type: 'string', value: 'N', help: 'a new dataset\'s name (default dataset; one already at --out keeps its own)' },
  'chunk-kib': { type: 'string', value: 'K', help: 'chunk size before compression, in KiB (default 1024)' },
  'chunk-compression': { type: 'string', value: 'deflate|none', help: 'how chunks are compressed (default deflate)' },
  'embedding-dims': { type: 'string', value: 'D', help: 'add an int8 PCA embedding probe of D dimensions (what the active learner scores the pool with)' },
  created: { type: 'string', value: 'ISO', help: 'the version\'s time (default now; give one and a rebuild gives the same version id)' },
  ref: { type: 'string', value: 'R', help: 'the ref to point at the new version (default main)' },
  out: { type: 'string', value: 'DIR', help: 'the folder to write the dataset into (required)' },
} as const satisfies Flags;

/** `edgelake build idx ...`: a dataset from MNIST-style IDX files (gzipped or not). */
export async function buildIdxCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(buildIdxFlags, args);
  if (positionals.length) throw new EdgelakeError('invalid-input', `unexpected argument "${positionals[0]}"\nusage: ${buildIdxUsage}`);
  const need = (key: keyof typeof values): string => {
    const v = values[key];
    if (typeof v !== 'string') throw new EdgelakeError('invalid-input', `--${key} is required\nusage: ${buildIdxUsage}`);
    return v;
  };
  const out = need('out');
  const files = [need('train-images'), need('train-labels')];
  if ((values['test-images'] === undefined) !== (values['test-labels'] === undefined)) {
    throw new EdgelakeError('invalid-input', '--test-images and --test-labels go together');
  }
  if (values['test-images']) files.push(need('test-images'), need('test-labels'));
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all(files.map(readInput));
  const compression = values['chunk-compression'] ?? 'deflate';
  if (compression !== 'deflate' && compression !== 'none') {
    throw new EdgelakeError('invalid-input', `--chunk-compression must be deflate or none, not "${compression}"`);
  }
  const chunkBytes = positiveInt(values['chunk-kib'], '--chunk-kib', 1024, MAX_CHUNK_KIB) * 1024;
  const embeddingDims = values['embedding-dims'] === undefined ? undefined : positiveInt(values['embedding-dims'], '--embedding-dims', 0);
  // The builder refuses such a probe too, before writing; checked here to name the flag.
  const pixels = embeddingDims === undefined ? 0 : parseIdx(trainImages, files[0]).dims.slice(1).reduce((a, d) => a * d, 1);
  if (embeddingDims !== undefined && embeddingDims > pixels) throw new EdgelakeError('invalid-input', `--embedding-dims must be at most ${pixels}, the pixels of an image, not ${embeddingDims}`);

  const result = await buildIdx(new FolderSink(out), {
    train: { images: trainImages, labels: trainLabels, imagesName: files[0], labelsName: files[1] },
    test: testImages ? { images: testImages, labels: testLabels, imagesName: files[2], labelsName: files[3] } : undefined,
    name: datasetName(values.name),
    classNames: values['class-names']?.split(',').map((s) => s.trim()),
    chunkBytes,
    chunkCompression: compression,
    embeddingDims,
    created: createdTime(values.created) ?? (await newestModification(files)),
    ref: refName(values.ref),
    onProgress: progressBar(io, 'building'),
  });
  io.stdout(describeBuild(out, result));
  return 0;
}

export const buildImageFolderUsage =
  'edgelake build imagefolder SRC --out DIR [--name N] [--thumbnail S] [--test-fraction F] [--chunk-kib K] [--created ISO] [--ref R] [--skip-bad]';

export const buildImageFolderFlags = {
  out: { type: 'string', value: 'DIR', help: 'the folder to write the dataset into (required)' },
  name: { type: 'string', value: 'N', help: 'a new dataset\'s name (default images; one already at --out keeps its own)' },
  thumbnail: { type: 'string', value: 'S', help: 'the thumbnail probe\'s size in pixels (default 32)' },
  'test-fraction': { type: 'string', value: 'F', help: 'the share of each class held out as the test split (default 0)' },
  'chunk-kib': { type: 'string', value: 'K', help: 'chunk size in KiB (default 1024)' },
  created: { type: 'string', value: 'ISO', help: 'the version\'s time (default now)' },
  ref: { type: 'string', value: 'R', help: 'the ref to point at the new version (default main)' },
  'skip-bad': { type: 'boolean', help: 'leave out files that fail to decode (cut short, damaged), naming them, instead of refusing the build' },
} as const satisfies Flags;

/** `edgelake build imagefolder SRC`: one subfolder per class of JPEG or PNG files (searched recursively). */
export async function buildImageFolderCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(buildImageFolderFlags, args);
  if (positionals.length !== 1) throw new EdgelakeError('invalid-input', `usage: ${buildImageFolderUsage}`);
  if (!values.out) throw new EdgelakeError('invalid-input', `--out is missing: the folder to write the dataset into\nusage: ${buildImageFolderUsage}`);
  const options = {
    name: datasetName(values.name),
    thumbnailSize: positiveInt(values.thumbnail, '--thumbnail', 32, MAX_THUMBNAIL),
    testFraction: testFraction(values['test-fraction']),
    chunkBytes: positiveInt(values['chunk-kib'], '--chunk-kib', 1024, MAX_CHUNK_KIB) * 1024,
    ref: refName(values.ref),
  };
  const created = createdTime(values.created);
  const out = values.out;
  const skipped: string[] = [];
  const files = await listImageFolder(positionals[0], out, skipped);
  if (skipped.length) io.stderr(describeSkipped(positionals[0], skipped));
  refuseEmptyTraining(files, options.testFraction);
  // A photo that fails to decode is found only as it is written: a folder this build made goes with it.
  const result = await removeOnFailure(out, async () => buildImageFolder(new FolderSink(out), files, {
    ...options,
    created: created ?? (await newestModification(files.map((f) => f.path))),
    onProgress: progressBar(io, 'building'),
    skipBad: values['skip-bad'],
  }));
  if (result.skipped.length) io.stderr(`left out ${result.skipped.length} files that would not decode: ${result.skipped.map((f) => `${f.file} (${f.why})`).join('; ')}\n`);
  io.stdout(describeBuild(out, result));
  return 0;
}

const IMAGE_FILE = /\.(jpe?g|png)$/i;

/**
 * One class a subfolder of root, as torchvision's ImageFolder lists them: symlinks followed, paths
 * with a dot-segment skipped (.thumbs/, ._a.jpg), and a class with no image refused, as its label numbers would shift.
 */
async function listImageFolder(root: string, out: string, skipped: string[]): Promise<(ImageFile & { path: string })[]> {
  let names;
  try {
    names = (await readdir(root)).filter((name) => !name.startsWith('.')).sort();
  } catch (e) {
    throw new EdgelakeError('invalid-input', `cannot list ${root}: ${(e as Error).message}`, { cause: e });
  }
  const files = [];
  for (const className of names) {
    const classRoot = join(root, className);
    if (!(await stat(classRoot).catch(() => undefined))?.isDirectory()) continue;
    if (await isDatasetFolder(classRoot, out)) continue; // --out inside SRC, built before: a dataset, not a class
    const paths = await imagesUnder(classRoot, [await realpath(root)], skipped);
    if (paths.length === 0) throw new EdgelakeError('invalid-input', `class folder ${classRoot} holds no .jpg, .jpeg or .png file: add its images or remove it`);
    for (const path of paths) {
      files.push({ className, name: relative(classRoot, path).split('\\').join('/'), path, read: () => readInput(path), head: () => readHead(path) });
    }
  }
  if (files.length === 0) throw new EdgelakeError('invalid-input', `${root} holds no class subfolders with .jpg, .jpeg or .png files`);
  return files;
}

/** True for the --out folder and any folder holding a dataset (edgelake.json). */
async function isDatasetFolder(dir: string, out: string): Promise<boolean> {
  return resolve(dir) === resolve(out) || (await stat(join(dir, 'edgelake.json')).then(() => true, () => false));
}

/**
 * The image files under dir, symlinks followed; `above` holds the real paths of the folders above, so a link back up ends there.
 * Other files go to `skipped`, to be named: a folder of .bmp files should not look like an empty class.
 */
async function imagesUnder(dir: string, above: string[], skipped: string[]): Promise<string[]> {
  const real = await realpath(dir);
  if (above.includes(real)) return [];
  const found = [];
  for (const name of await readdir(dir)) {
    if (name.startsWith('.')) continue;
    const path = join(dir, name);
    let s;
    try {
      s = await stat(path); // stat, not the Dirent: a symlink's target decides
    } catch (e) {
      if (!IMAGE_FILE.test(name)) continue;
      throw new EdgelakeError('invalid-input', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
    }
    if (s.isDirectory()) found.push(...(await imagesUnder(path, [...above, real], skipped)));
    else if (s.isFile() && IMAGE_FILE.test(name)) found.push(path);
    else if (s.isFile()) skipped.push(path);
  }
  return found;
}

/** Image kinds torchvision's ImageFolder reads that edgelake does not decode yet. */
const UNSUPPORTED_IMAGE = /\.(ppm|pgm|bmp|tiff?|webp)$/i;

/** One line naming the files a build left out (the first few), and which of them are images not supported yet. */
function describeSkipped(root: string, skipped: string[]): string {
  const shown = skipped.slice(0, 3).map((p) => relative(root, p)).join(', ') + (skipped.length > 3 ? ', ...' : '');
  const images = skipped.filter((p) => UNSUPPORTED_IMAGE.test(p)).length;
  const why = images ? `; ${images} of them are images of a kind not supported yet (.ppm, .bmp, .tif, .webp): convert them to .png or .jpg` : '';
  return `skipped ${skipped.length} files that are not .jpg/.jpeg/.png (${shown})${why}\n`;
}

/** A file's first bytes, enough to tell JPEG from PNG before anything is written. */
async function readHead(path: string): Promise<Uint8Array> {
  try {
    const file = await open(path);
    try {
      const { buffer, bytesRead } = await file.read(new Uint8Array(8), 0, 8, 0);
      return buffer.subarray(0, bytesRead);
    } finally {
      await file.close();
    }
  } catch (e) {
    throw new EdgelakeError('invalid-input', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** Runs a build into out and, if it fails, removes out when it did not exist before: no orphan chunks in a folder the command made. */
export async function removeOnFailure<T>(out: string, build: () => Promise<T>): Promise<T> {
  const existed = await stat(out).then(() => true, () => false);
  try {
    return await build();
  } catch (e) {
    if (!existed) await rm(out, { recursive: true, force: true });
    throw e;
  }
}

export function describeBuild(out: string, r: Committed): string {
  const lines = [`${r.changed ? 'wrote' : 'unchanged:'} ${out} version ${r.versionId} (${r.manifest.length} samples)`];
  for (const [name, t] of Object.entries(r.manifest.tensors)) {
    lines.push(`  ${name}: ${t.chunks.length} chunks, ${formatBytes(t.chunks.reduce((a, c) => a + c.bytes, 0))}`);
  }
  return lines.join('\n') + '\n';
}

async function readInput(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw new EdgelakeError('invalid-input', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * The inputs' newest mtime, to the second: rebuilding the same files gives the same version id.
 * A photo folder holds more files than a call takes arguments (Math.max(...) throws past ~125,000), so they are stat'ed 256 at a time.
 */
export async function newestModification(paths: string[]): Promise<string> {
  let newest = 0;
  for (let i = 0; i < paths.length; i += 256) {
    for (const s of await Promise.all(paths.slice(i, i + 256).map((p) => stat(p)))) newest = Math.max(newest, s.mtimeMs);
  }
  return new Date(Math.floor(newest / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** A share in [0, 1) in decimal digits ("0.1", ".25"): "", "abc" and "1" are refused, as "" would have been 0. */
export function testFraction(value: string | undefined): number {
  if (value === undefined) return 0;
  if (!/^(0|0?\.\d+)$/.test(value)) throw new EdgelakeError('invalid-input', `--test-fraction must be a share from 0 up to (not including) 1, like 0.1, not "${value}"`);
  return Number(value);
}

/** Refuses a --test-fraction that puts all of a class in test (the builder holds out round(n * F) a class): it would have nothing to train on. */
function refuseEmptyTraining(files: ImageFile[], fraction: number): void {
  const counts = new Map<string, number>();
  for (const f of files) counts.set(f.className, (counts.get(f.className) ?? 0) + 1);
  const starved = [...counts].filter(([, n]) => Math.round(n * fraction) >= n).map(([c, n]) => `${c} (${n})`);
  if (starved.length) throw new EdgelakeError('invalid-input', `--test-fraction ${fraction} holds out every image of class ${starved.join(', ')}, leaving none to train on: add images or lower --test-fraction`);
}

/** The largest --thumbnail: a probe of 1024 x 1024 x 3 values a sample is already far past what it is for. */
const MAX_THUMBNAIL = 1024;

export const buildNativeUsage = 'edgelake build native ROOT --out DIR [--embedding-dims D [--embedding-from TENSOR]] [--name N] [--created ISO] [--json]  (ROOT: WebDataset shards, Parquet files or any dataset)';

export const buildNativeFlags = {
  out: { type: 'string', value: 'DIR', help: 'the folder to write the native dataset into (required)' },
  'embedding-dims': { type: 'string', value: 'D', help: 'then add an int8 PCA probe of D dimensions as a new version' },
  'embedding-from': { type: 'string', value: 'TENSOR', help: 'the image tensor the probe is fitted on (default the first image tensor)' },
  name: { type: 'string', value: 'N', help: 'the new dataset\'s name (default the source\'s)' },
  created: { type: 'string', value: 'ISO', help: 'the versions\' time (default now): the same --created builds the same version ids' },
  json: { type: 'boolean', help: 'print the result as JSON' },
} as const satisfies Flags;

/** `edgelake build native`: a dataset read in place (or any root) written as a native one, with a probe if asked. */
export async function buildNativeCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(buildNativeFlags, args);
  refuseExpandedPattern(positionals);
  if (positionals.length !== 1 || !values.out) throw new EdgelakeError('invalid-input', `usage: ${buildNativeUsage}`);
  const dims = values['embedding-dims'] === undefined ? undefined : positiveInt(values['embedding-dims'], '--embedding-dims', 0);
  const from = values['embedding-from'];
  if (from !== undefined && dims === undefined) throw new EdgelakeError('invalid-input', '--embedding-from needs --embedding-dims (the probe\'s size)');
  const name = datasetName(values.name);
  const created = createdTime(values.created);
  const dataset = await openDataset(positionals[0]);
  if (dims !== undefined) probeInput(dataset, dims, from); // a probe that cannot be fitted fails now, not after the copy
  const sink = new FolderSink(values.out);
  const progress = values.json ? undefined : progressBar(io, 'copying chunks');
  let result = await convertToNative(dataset, sink, { name, created, onProgress: progress });
  // The probe reads the pixels from the copy just written, not from the source again.
  if (dims !== undefined) result = await addEmbeddingProbe(await openDataset(values.out), sink, { dims, from, created });
  const summary = { out: values.out, version: result.versionId, length: result.manifest.length, tensors: Object.keys(result.manifest.tensors), fetched: dataset.network.bytes };
  if (values.json) io.stdout(JSON.stringify(summary, null, 2) + '\n');
  else io.stdout(`wrote ${values.out}: version ${result.versionId}, ${summary.length} samples (${summary.tensors.join(', ')}), ${formatBytes(summary.fetched)} read from ${positionals[0]}\n`);
  return 0;
}
