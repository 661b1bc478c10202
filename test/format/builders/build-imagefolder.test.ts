// buildImageFolder: class names as folders give them, an exact test share per class, every file's type checked first.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildImageFolder, MemorySink, type ImageFile } from '../../../src/format/index.js';
import { MemorySource, openDataset } from '../../../src/index.js';
import { encodePng } from '../image/png-encoder.js';

/** A 1x1 gray PNG: its one pixel tells which file a sample came from. */
const gray = (className: string, name: string, value: number): ImageFile => {
  const bytes = encodePng({ width: 1, height: 1, colorType: 0, bitDepth: 8, samples: Uint16Array.of(value) });
  return { className, name, read: async () => bytes };
};

async function build(files: ImageFile[], testFraction = 0) {
  const sink = new MemorySink();
  await buildImageFolder(sink, files, { created: '2026-12-07T00:00:00Z', testFraction });
  return openDataset(new MemorySource(sink.files));
}

/** Each sample's class and pixel value, in dataset order. */
async function samples(ds: Awaited<ReturnType<typeof build>>): Promise<[string, number][]> {
  const out: [string, number][] = [];
  for (let i = 0; i < ds.length; i++) {
    const { image, label } = await ds.view().get(i, ['image', 'label']);
    out.push([ds.tensor('label').classNames![label[0]], image[0]]);
  }
  return out;
}

describe('buildImageFolder', () => {
  it('takes any folder name as a class name: spaces, accents, other scripts', async () => {
    const ds = await build([gray('golden retriever', 'a.png', 1), gray('café', 'b.png', 2), gray('猫', 'c.png', 3)]);
    expect(ds.tensor('label').classNames).toEqual(['café', 'golden retriever', '猫']);
    expect(await samples(ds)).toEqual([['café', 2], ['golden retriever', 1], ['猫', 3]]);
  });

  it("puts round(n * testFraction) of each class in test: the files whose paths' SHA-256 is lowest", async () => {
    const names = Array.from({ length: 10 }, (_, i) => `${i}.png`);
    const classes = ['a', 'b', 'c', 'd'];
    const files = classes.flatMap((c, k) => names.map((name, i) => gray(c, name, k * 10 + i)));
    const ds = await build(files, 0.25);

    // round(10 * 0.25) = 3 a class: those that sort first by the hash of "class/name".
    const sha = (path: string) => createHash('sha256').update(path).digest('hex');
    const expected = classes.flatMap((c, k) => [...names].sort((x, y) => sha(`${c}/${x}`).localeCompare(sha(`${c}/${y}`))).slice(0, 3).map((n) => k * 10 + parseInt(n)));
    expect(ds.splits).toEqual({ train: [[0, 28]], test: [[28, 40]] });
    const test = (await samples(ds)).slice(28);
    expect(test.map(([, value]) => value).sort((x, y) => x - y)).toEqual(expected.sort((x, y) => x - y));
    expect(test.map(([c]) => c)).toEqual(classes.flatMap((c) => [c, c, c])); // sorted by class within the split
  });

  it("checks every file's type before writing anything", async () => {
    const sink = new MemorySink();
    const files = [gray('a', '1.png', 1), gray('a', '2.png', 2), gray('a', '3.png', 3), { className: 'b', name: 'x.jpg', read: async () => new TextEncoder().encode('GIF89a') }];
    await expect(buildImageFolder(sink, files, { created: '2026-12-07T00:00:00Z', chunkBytes: 16 })).rejects.toThrow('1 of 4 files is neither JPEG nor PNG: b/x.jpg');
    expect([...sink.files.keys()]).toEqual([]);
  });
});
