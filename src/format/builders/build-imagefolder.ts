import { EdgelakeError } from '../../errors.js';
import { sha256Hex } from '../hash.js';
import { decodeImageSync, sniffImageType, thumbnail, toRgb } from '../image/index.js';
import type { Manifest } from '../manifest.js';
import type { Sink } from '../sink.js';
import { NAME } from '../validate.js';
import { commitVersion, type Committed } from './commit.js';
import { TensorWriter } from './tensor-writer.js';

/** One input image: its class (the subfolder) and how to read its bytes. */
export interface ImageFile {
  className: string;
  name: string;
  read(): Promise<Uint8Array>;
}

export interface BuildImageFolderOptions {
  name?: string;
  /** Side of the square RGB thumbnail probe (default 32). */
  thumbnailSize?: number;
  /** Share of each class put in the `test` split, chosen by a hash of the file's path (default 0). */
  testFraction?: number;
  chunkBytes?: number;
  created: string;
  ref?: string;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Builds a dataset from images in one folder per class: `image` keeps each file's encoded bytes
 * (sampleCompression jpeg or png, decoded to RGB), `label` its class, and `thumbnail` a small RGB
 * square (center crop, area resize) that the sampler scores without fetching the full image.
 */
export async function buildImageFolder(sink: Sink, files: ImageFile[], options: BuildImageFolderOptions): Promise<Committed> {
  if (files.length === 0) throw new EdgelakeError('invalid-input', 'no JPEG or PNG files found');
  const size = options.thumbnailSize ?? 32;
  const testFraction = options.testFraction ?? 0;
  if (!(testFraction >= 0 && testFraction < 1)) throw new EdgelakeError('invalid-input', `test fraction must be in [0, 1), got ${testFraction}`);
  const classNames = [...new Set(files.map((f) => f.className))].sort();
  const ordered = await splitAndOrder(files, testFraction);

  const chunkBytes = options.chunkBytes ?? 1 << 20;
  // A tensor has one sampleCompression: the first file decides, and every other must match it.
  let image: TensorWriter | undefined;
  let first = '';
  const label = new TensorWriter(sink, 'label', {
    htype: 'class_label', dtype: 'int32', shape: [], classNames, sampleCompression: 'none', chunkCompression: 'deflate',
  }, chunkBytes);
  const thumb = new TensorWriter(sink, 'thumbnail', {
    htype: 'image', dtype: 'uint8', shape: [size, size, 3], layout: 'HWC', sampleCompression: 'none', chunkCompression: 'none',
  }, chunkBytes);

  const sizes = new Set<string>();
  const labelBytes = new Uint8Array(4);
  for (const [i, { file }] of ordered.entries()) {
    const bytes = await file.read();
    const where = `${file.className}/${file.name}`;
    const type = sniffImageType(bytes);
    if (!type) throw new EdgelakeError('invalid-input', `${where} is neither JPEG nor PNG`);
    image ??= new TensorWriter(sink, 'image', {
      htype: 'image', dtype: 'uint8', shape: [null, null, 3], layout: 'HWC', sampleCompression: type, chunkCompression: 'none',
    }, chunkBytes);
    first ||= where;
    if (type !== image.spec.sampleCompression) {
      throw new EdgelakeError('invalid-input', `${where} is ${type} but ${first} is ${image.spec.sampleCompression}; a dataset's images must all be JPEG or all PNG (convert one kind first)`);
    }
    const decoded = toRgb(decodeImageSync(bytes, { name: where }));
    sizes.add(`${decoded.height},${decoded.width}`);
    await image.append(bytes);
    new DataView(labelBytes.buffer).setInt32(0, classNames.indexOf(file.className), true);
    await label.append(labelBytes);
    await thumb.append(thumbnail(decoded, size).data);
    options.onProgress?.(i + 1, ordered.length);
  }
  const imageMeta = await image!.finish();
  // One size for every image: record it, so readers know the decoded shape without decoding.
  if (sizes.size === 1) imageMeta.shape = [...[...sizes][0].split(',').map(Number), 3];

  const trainCount = ordered.filter((o) => o.split === 'train').length;
  const splits: Manifest['splits'] = { train: [[0, trainCount]] };
  if (testFraction > 0) splits.test = [[trainCount, ordered.length]];
  return commitVersion(sink, {
    length: ordered.length, splits,
    tensors: { image: imageMeta, label: await label.finish(), thumbnail: await thumb.finish() },
  }, { name: options.name ?? 'images', ref: options.ref, message: `import ${options.name ?? 'images'} from an image folder`, created: options.created });
}

/** Train samples first, then test; classes and file names in sorted order within each. */
async function splitAndOrder(files: ImageFile[], testFraction: number) {
  const tagged = await Promise.all(files.map(async (file) => {
    if (!NAME.test(file.className)) throw new EdgelakeError('invalid-input', `class folder "${file.className}" must match ${NAME.source}`);
    const h = await sha256Hex(new TextEncoder().encode(`${file.className}/${file.name}`));
    return { file, split: parseInt(h.slice(0, 8), 16) / 2 ** 32 < testFraction ? 'test' : 'train' };
  }));
  const key = (o: (typeof tagged)[number]) => `${o.split === 'train' ? 0 : 1}\0${o.file.className}\0${o.file.name}`;
  return tagged.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
