import { EdgelakeError, isEdgelakeError } from '../../errors.js';
import { sha256Hex } from '../hash.js';
import { decodeImageSync, mostImageType, sniffImageType, thumbnail, toRgb } from '../image/index.js';
import type { Manifest } from '../manifest.js';
import type { Sink } from '../sink.js';
import { commitVersion, type Committed } from './commit.js';
import { TensorWriter } from './tensor-writer.js';

/** One input image: its class (the subfolder) and how to read its bytes. */
export interface ImageFile {
  className: string;
  name: string;
  read(): Promise<Uint8Array>;
  /** Its first 8 bytes or more, to check every file's type before anything is written (default: read()). */
  head?(): Promise<Uint8Array>;
}

export interface BuildImageFolderOptions {
  name?: string;
  /** Side of the square RGB thumbnail probe (default 32). */
  thumbnailSize?: number;
  /** Share of each class put in the `test` split, round(n * testFraction) files chosen by a hash of their paths (default 0). */
  testFraction?: number;
  chunkBytes?: number;
  created: string;
  ref?: string;
  onProgress?: (done: number, total: number) => void;
  /**
   * Files that fail to decode (cut short, damaged) are left out, named in the result's `skipped`
   * (as Deep Lake's ignore_errors and WebDataset's warn_and_continue); without it the build is
   * refused naming every one of them.
   */
  skipBad?: boolean;
}

/** A file left out of a build, and why. */
export interface SkippedFile {
  file: string;
  why: string;
}

/**
 * Builds a dataset from images in one folder per class: `image` keeps each file's encoded bytes
 * (sampleCompression the kind most are, jpeg or png; each decoded to RGB by its own signature),
 * `label` its class, and `thumbnail` a small RGB square (center crop, area resize) that the
 * sampler scores without fetching the full image.
 */
export async function buildImageFolder(sink: Sink, files: ImageFile[], options: BuildImageFolderOptions): Promise<Committed & { skipped: SkippedFile[] }> {
  if (files.length === 0) throw new EdgelakeError('invalid-input', 'no JPEG or PNG files found');
  const size = options.thumbnailSize ?? 32;
  // A probe is small by purpose; a side past this (1024 x 1024 x 3 a sample) only exhausts memory.
  if (!(Number.isInteger(size) && size >= 1 && size <= 1024)) throw new EdgelakeError('invalid-input', `thumbnail size must be an integer in [1, 1024], got ${size}`);
  const testFraction = options.testFraction ?? 0;
  if (!(testFraction >= 0 && testFraction < 1)) throw new EdgelakeError('invalid-input', `test fraction must be in [0, 1), got ${testFraction}`);
  await sink.checkSwap?.(); // a root whose ref cannot move safely is refused before any upload
  const classNames = [...new Set(files.map((f) => f.className))].sort();
  const ordered = await splitAndOrder(files, testFraction);
  const types = await typesOf(ordered.map((o) => o.file));
  // The kind most files are; readers decode each by its signature (FORMAT.md), so ImageNet's PNG among its JPEGs is one.
  const format = mostImageType(types);

  const chunkBytes = options.chunkBytes ?? 1 << 20;
  const image = new TensorWriter(sink, 'image', {
    htype: 'image', dtype: 'uint8', shape: [null, null, 3], layout: 'HWC', sampleCompression: format, chunkCompression: 'none',
  }, chunkBytes);
  const label = new TensorWriter(sink, 'label', {
    htype: 'class_label', dtype: 'int32', shape: [], classNames, sampleCompression: 'none', chunkCompression: 'deflate',
  }, chunkBytes);
  const thumb = new TensorWriter(sink, 'thumbnail', {
    htype: 'image', dtype: 'uint8', shape: [size, size, 3], layout: 'HWC', sampleCompression: 'none', chunkCompression: 'none',
  }, chunkBytes);

  const sizes = new Set<string>();
  const labelBytes = new Uint8Array(4);
  const skipped: SkippedFile[] = [];
  let trainCount = 0;
  for (const [i, { file, split }] of ordered.entries()) {
    const bytes = await file.read();
    const where = `${file.className}/${file.name}`;
    if (sniffImageType(bytes) !== types[i]) throw new EdgelakeError('invalid-input', `${where} changed while the dataset was built: it is no longer ${types[i]}`);
    let decoded;
    try {
      decoded = toRgb(decodeImageSync(bytes, { name: where }));
    } catch (e) {
      if (!isEdgelakeError(e, 'invalid-input') && !isEdgelakeError(e, 'limit')) throw e;
      // The rest are decoded too, so that one build names every bad file.
      skipped.push({ file: where, why: e.message.replace(`${where}: `, '') });
      options.onProgress?.(i + 1, ordered.length);
      continue;
    }
    if (split === 'train') trainCount++;
    sizes.add(`${decoded.height},${decoded.width}`);
    await image.append(bytes);
    new DataView(labelBytes.buffer).setInt32(0, classNames.indexOf(file.className), true);
    await label.append(labelBytes);
    await thumb.append(thumbnail(decoded, size).data);
    options.onProgress?.(i + 1, ordered.length);
  }
  const length = ordered.length - skipped.length;
  if (skipped.length > 0 && (!options.skipBad || length === 0)) {
    const named = skipped.slice(0, 10).map((s) => `${s.file} (${s.why})`).join('; ') + (skipped.length > 10 ? `; and ${skipped.length - 10} more` : '');
    const hint = length === 0 ? 'no file decodes' : 'leave them out with skipBad (edgelake build imagefolder --skip-bad)';
    throw new EdgelakeError('invalid-input', `${skipped.length} of ${ordered.length} files would not decode: ${named}; ${hint}`);
  }
  const imageMeta = await image.finish();
  // One size for every image: record it, so readers know the decoded shape without decoding.
  if (sizes.size === 1) imageMeta.shape = [...[...sizes][0].split(',').map(Number), 3];

  const splits: Manifest['splits'] = { train: [[0, trainCount]] };
  if (testFraction > 0) splits.test = [[trainCount, length]];
  const committed = await commitVersion(sink, {
    length, splits,
    tensors: { image: imageMeta, label: await label.finish(), thumbnail: await thumb.finish() },
  }, { name: options.name ?? 'images', ref: options.ref, message: `import ${options.name ?? 'images'} from an image folder${skipped.length ? ` (${skipped.length} files that would not decode left out)` : ''}`, created: options.created });
  return { ...committed, skipped };
}

/**
 * Train samples first, then test; classes and file names in sorted order within each. Per class,
 * the round(n * testFraction) files whose paths hash lowest are test: the same on every build, and each class's share exact.
 */
async function splitAndOrder(files: ImageFile[], testFraction: number) {
  const hashed = await Promise.all(files.map(async (file) => ({ file, hash: await sha256Hex(new TextEncoder().encode(`${file.className}/${file.name}`)) })));
  const classes = new Map<string, typeof hashed>();
  for (const h of hashed) classes.get(h.file.className)?.push(h) ?? classes.set(h.file.className, [h]);
  const tagged = [...classes.values()].flatMap((members) => {
    members.sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
    const tests = Math.round(members.length * testFraction);
    return members.map(({ file }, i) => ({ file, split: i < tests ? 'test' : 'train' }));
  });
  const key = (o: (typeof tagged)[number]) => `${o.split === 'train' ? 0 : 1}\0${o.file.className}\0${o.file.name}`;
  return tagged.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** Each file's type, from its first bytes, checked before anything is written: those neither JPEG nor PNG are refused, named. */
async function typesOf(files: ImageFile[]): Promise<('jpeg' | 'png')[]> {
  const types: ('jpeg' | 'png')[] = [];
  const neither: string[] = [];
  // A few files at a time: a photo folder holds more files than a process may open at once.
  for (let i = 0; i < files.length; i += 64) {
    const heads = await Promise.all(files.slice(i, i + 64).map((f) => (f.head ? f.head() : f.read())));
    for (const [j, bytes] of heads.entries()) {
      const type = sniffImageType(bytes);
      if (type) types.push(type);
      else neither.push(`${files[i + j].className}/${files[i + j].name}`);
    }
  }
  if (neither.length > 0) {
    const named = neither.length > 10 ? `${neither.slice(0, 10).join(', ')} and ${neither.length - 10} more` : neither.join(', ');
    throw new EdgelakeError('invalid-input', `${neither.length} of ${files.length} files ${neither.length === 1 ? 'is' : 'are'} neither JPEG nor PNG: ${named}`);
  }
  return types;
}
