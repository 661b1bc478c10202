/** An image-folder dataset (built in memory) of PNGs of many sizes, for tests of images of any size. */
import { fourComponentJpeg } from '../../scripts/jpeg-four-components.js';
import { buildImageFolder, MemorySink } from '../../src/format/index.js';
import { Loader, MemorySource, openDataset, type Dataset } from '../../src/index.js';
import { encodePng } from '../format/image/png-encoder.js';
import { cjpeg, syntheticPnm } from '../format/image/jpeg/tools.js';
import { mulberry32 } from './random.js';

export const SIZES = [[5, 7], [12, 9], [1, 1], [30, 17], [8, 8], [3, 40], [16, 33]] as const; // [h, w]

/** A dataset of PNGs of every size in SIZES (random RGB), and each sample's pixels as the loader decodes them. */
export async function pngFolder(): Promise<{ ds: Dataset; pixels: Map<number, Uint8Array> }> {
  const random = mulberry32(17);
  return imageFolder(SIZES.map(([height, width]) => encodePng({ width, height, colorType: 2, bitDepth: 8, samples: Uint16Array.from({ length: height * width * 3 }, () => Math.floor(random() * 256)) })), 'png');
}

/** JPEGs by cjpeg of [width, height, cjpeg options]: sizes that scaled decoding shrinks, every sampling, gray, progressive, restarts. */
export const JPEGS: [number, number, string[]][] = [
  [96, 64, []], [40, 23, ['-sample', '1x1']], [17, 90, ['-sample', '2x1']], [8, 8, ['-grayscale']],
  [130, 70, ['-progressive']], [33, 47, ['-sample', '1x2', '-restart', '1']], [64, 64, ['-grayscale', '-progressive']],
];

/** Four-component JPEGs of [width, height, Adobe transform, sampling of the first three]: Adobe CMYK and YCCK, as ImageNet holds a few. */
export const FOUR_COMPONENT_JPEGS: [number, number, number, string][] = [[45, 30, 0, '1x1'], [70, 52, 2, '2x2']];

/**
 * A dataset of the JPEGS, the FOUR_COMPONENT_JPEGS, then a PNG named .jpg (as ImageNet holds one)
 * (needs cjpeg: see noTools), and each sample's pixels as the loader decodes them.
 */
export async function jpegFolder(): Promise<{ ds: Dataset; pixels: Map<number, Uint8Array> }> {
  const jpegs = JPEGS.map(([width, height, args], i) => cjpeg(syntheticPnm(width, height, i + 1), ['-quality', '90', ...args]));
  const fours = FOUR_COMPONENT_JPEGS.map(([width, height, transform, sampling], i) => {
    const pnm = syntheticPnm(width, height, 50 + i);
    const three = cjpeg(pnm, ['-quality', '90', ...(transform === 0 ? ['-rgb'] : ['-sample', sampling])]);
    return fourComponentJpeg(three, cjpeg(pnm, ['-quality', '90', '-grayscale']), transform);
  });
  const random = mulberry32(23);
  const png = encodePng({ width: 37, height: 26, colorType: 2, bitDepth: 8, samples: Uint16Array.from({ length: 37 * 26 * 3 }, () => Math.floor(random() * 256)) });
  return imageFolder([...jpegs, ...fours, png], 'jpg');
}

async function imageFolder(images: Uint8Array[], extension: string): Promise<{ ds: Dataset; pixels: Map<number, Uint8Array> }> {
  const files = images.map((bytes, i) => ({
    className: i % 2 ? 'odd' : 'even',
    name: `${String(i).padStart(2, '0')}.${extension}`,
    read: async () => bytes,
  }));
  const sink = new MemorySink();
  await buildImageFolder(sink, files, { created: '2026-12-05T00:00:00Z', testFraction: 0 });
  const ds = await openDataset(new MemorySource(sink.files));
  const pixels = new Map<number, Uint8Array>();
  for await (const b of new Loader(ds.view(), { batchSize: 7, tensors: ['image'] })) {
    b.ids.forEach((id, i) => pixels.set(id, (b.tensors.image as Uint8Array[])[i]));
  }
  return { ds, pixels };
}

