/**
 * Makes data/fashion-mnist-subset from the full Fashion-MNIST (Debian's dataset-fashion-mnist):
 * the first TRAIN_PER_CLASS train images of each class and the first TEST_PER_CLASS test images of
 * each class, in their original order, written as gzipped IDX. Deterministic: running it again
 * gives the same bytes (test/format/subset.test.ts checks this).
 *
 *   npx tsx scripts/make-subset.ts [/usr/share/datasets/fashion-mnist] [data/fashion-mnist-subset]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'fflate';
import { parseIdx } from '../src/format/index.js';

export const TRAIN_PER_CLASS = 500;
export const TEST_PER_CLASS = 100;
export const SUBSET_FILES = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];
export const SUBSET_DIR = 'data/fashion-mnist-subset';
export const FASHION_CLASSES = 'T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot';

/**
 * The `edgelake build idx` arguments that build the bundled subset into `out`. `created` is fixed
 * (Fashion-MNIST's release date) because a git checkout resets file times.
 */
export const buildSubsetArgs = (out: string, ...extra: string[]): string[] => [
  'build', 'idx',
  '--train-images', `${SUBSET_DIR}/train-images-idx3-ubyte.gz`, '--train-labels', `${SUBSET_DIR}/train-labels-idx1-ubyte.gz`,
  '--test-images', `${SUBSET_DIR}/t10k-images-idx3-ubyte.gz`, '--test-labels', `${SUBSET_DIR}/t10k-labels-idx1-ubyte.gz`,
  '--class-names', FASHION_CLASSES, '--name', 'fashion-mnist-subset', '--created', '2017-08-25T00:00:00Z', '--out', out, ...extra,
];

/** The subset's files, as name -> gzipped IDX bytes. */
export function makeSubset(sourceDir: string): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const [prefix, perClass] of [['train', TRAIN_PER_CLASS], ['t10k', TEST_PER_CLASS]] as const) {
    const images = parseIdx(readFileSync(join(sourceDir, `${prefix}-images-idx3-ubyte.gz`)), `${prefix} images`);
    const labels = parseIdx(readFileSync(join(sourceDir, `${prefix}-labels-idx1-ubyte.gz`)), `${prefix} labels`);
    const [, rows, cols] = images.dims;
    const taken = new Map<number, number>();
    const picked: number[] = [];
    labels.data.forEach((label, i) => {
      if ((taken.get(label) ?? 0) < perClass) {
        taken.set(label, (taken.get(label) ?? 0) + 1);
        picked.push(i);
      }
    });
    const px = rows * cols;
    const imageData = new Uint8Array(picked.length * px);
    picked.forEach((i, k) => imageData.set(images.data.subarray(i * px, (i + 1) * px), k * px));
    out.set(`${prefix}-images-idx3-ubyte.gz`, gzipIdx([picked.length, rows, cols], imageData));
    out.set(`${prefix}-labels-idx1-ubyte.gz`, gzipIdx([picked.length], Uint8Array.from(picked, (i) => labels.data[i])));
  }
  return out;
}

function gzipIdx(dims: number[], data: Uint8Array): Uint8Array {
  const file = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(file.buffer);
  file.set([0, 0, 0x08, dims.length]);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  file.set(data, 4 + 4 * dims.length);
  return gzipSync(file, { level: 9, mtime: 0 });
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [source = '/usr/share/datasets/fashion-mnist', target = 'data/fashion-mnist-subset'] = process.argv.slice(2);
  for (const [name, bytes] of makeSubset(source)) {
    writeFileSync(join(target, name), bytes);
    console.log(`${join(target, name)}: ${bytes.length} bytes`);
  }
}
