import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePng } from '../format/image/png-encoder.js';
import { cli } from '../support/cli.js';
import { newestModification, removeOnFailure } from '../../src/cli/build.js';
import { hasCommand, missing } from '../support/system.js';
import { Loader, openVersion, readChunk } from '../../src/index.js';
import { FileSource, openDataset } from '../../src/node.js';
import { decodeImageSync, thumbnail, toRgb } from '../../src/format/index.js';

const MATE = '/usr/share/backgrounds/mate';
const photos = { flowers: ['nature/FreshFlower.jpg', 'nature/YellowFlower.jpg', 'nature/LadyBird.jpg'], abstract: ['abstract/Elephants.jpg', 'nature/Dune.jpg'] };
const noTools = missing('djpeg and cjpeg', 'apt-get install libjpeg-turbo-progs', hasCommand('djpeg') && hasCommand('cjpeg'))
  || missing('the MATE photos', 'apt-get install mate-backgrounds', existsSync(join(MATE, 'nature/Dune.jpg')));

const root = mkdtempSync(join(tmpdir(), 'edgelake-imagefolder-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Small real JPEGs: each MATE photo scaled down 1/8 by djpeg and re-encoded by cjpeg. */
function makeJpegFolder(): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const [cls, list] of Object.entries(photos)) {
    mkdirSync(join(root, 'jpegs', cls), { recursive: true });
    for (const photo of list) {
      const small = execFileSync('cjpeg', ['-quality', '90'], { input: execFileSync('djpeg', ['-pnm', '-scale', '1/8', join(MATE, photo)], { maxBuffer: 1 << 28 }) });
      const name = photo.split('/')[1];
      writeFileSync(join(root, 'jpegs', cls, name), small);
      files.set(`${cls}/${name}`, small);
    }
  }
  return files;
}

it('dates a build by its newest input, to the second, among more files than a call takes arguments', async () => {
  const [older, newer] = [join(root, 'older.png'), join(root, 'newer.png')];
  writeFileSync(older, '');
  writeFileSync(newer, '');
  utimesSync(older, new Date('2020-01-01T00:00:00Z'), new Date('2020-01-01T00:00:00Z'));
  utimesSync(newer, new Date('2021-06-01T12:34:56.789Z'), new Date('2021-06-01T12:34:56.789Z'));
  const paths = [...Array.from({ length: 100_000 }, () => older), newer, ...Array.from({ length: 100_000 }, () => older)];
  expect(await newestModification(paths)).toBe('2021-06-01T12:34:56Z');
});

it('refuses a bad --name, --ref or --created before writing anything', async () => {
  mkdirSync(join(root, 'one', 'a'), { recursive: true });
  writeFileSync(join(root, 'one', 'a', 'x.png'), encodePng({ width: 2, height: 2, colorType: 0, bitDepth: 8, samples: Uint16Array.of(0, 85, 170, 255) }));
  const cases: [string[], string][] = [
    [['--name', ''], '--name must have 1 to 200 characters, not 0'], // edgelake.json would hold a name no reader opens
    [['--ref', ''], '--ref "" must match'],
    [['--created', 'notadate'], '--created must be a UTC time like 2026-11-21T12:00:00Z, not "notadate"'],
  ];
  for (const [extra, message] of cases) {
    const r = await cli('build', 'imagefolder', join(root, 'one'), '--out', join(root, 'refused'), ...extra);
    expect([r.code, r.stderr], extra.join(' ')).toEqual([2, expect.stringContaining(message)]);
  }
  expect(existsSync(join(root, 'refused'))).toBe(false);
  expect((await cli('build', 'imagefolder', join(root, 'one'), '--out', join(root, 'unnamed'))).code).toBe(0);
  expect(JSON.parse(readFileSync(join(root, 'unnamed', 'edgelake.json'), 'utf8')).name).toBe('images'); // what --help says
});

/** Writes a small random RGB PNG at root/path (folders made), and returns the path. */
function png(path: string, seed: number): string {
  mkdirSync(join(root, path, '..'), { recursive: true });
  const samples = Uint16Array.from({ length: 16 * 16 * 3 }, (_, i) => (i * 7919 + seed * 104729) % 251);
  writeFileSync(join(root, path), encodePng({ width: 16, height: 16, colorType: 2, bitDepth: 8, samples }));
  return join(root, path);
}

describe("edgelake build imagefolder lists classes as torchvision's ImageFolder does", () => {
  it('follows symlinked images and class folders, ends a link back up, and skips paths with a dot-segment', async () => {
    png('tv/cats/a.png', 1);
    png('tv/cats/.thumbs/t.png', 2); // hidden, as ._a.png
    png('tv/cats/._a.png', 3);
    png('tv/shared/s.png', 4);
    png('tv/dogs/d.png', 5);
    symlinkSync('../shared/s.png', join(root, 'tv/dogs/link.png'));
    symlinkSync('shared', join(root, 'tv/linked'));
    symlinkSync('..', join(root, 'tv/cats/up')); // a cycle: tv/cats/up/cats/up/...
    const r = await cli('build', 'imagefolder', join(root, 'tv'), '--out', join(root, 'tv-ds'));
    expect(r.code, r.stderr).toBe(0);
    const ds = await openDataset(join(root, 'tv-ds'));
    const classes = ds.tensor('label').classNames!;
    expect(classes).toEqual(['cats', 'dogs', 'linked', 'shared']); // torchvision's class_to_idx
    const labels = [];
    for (let i = 0; i < ds.length; i++) labels.push(classes[(await ds.view().get(i, ['label'])).label[0]]);
    expect(labels).toEqual(['cats', 'dogs', 'dogs', 'linked', 'shared']);
  });

  it('refuses a class folder with no image, naming it: its label numbers would differ from torchvision\'s', async () => {
    png('gap/a/x.png', 1);
    png('gap/c/y.png', 2);
    mkdirSync(join(root, 'gap/b/.hidden'), { recursive: true });
    png('gap/b/.hidden/z.png', 3);
    const r = await cli('build', 'imagefolder', join(root, 'gap'), '--out', join(root, 'gap-ds'));
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining(`class folder ${join(root, 'gap/b')} holds no .jpg, .jpeg or .png file`)]);
    expect(existsSync(join(root, 'gap-ds'))).toBe(false);
  });

  it('builds again into --out inside SRC: the dataset folder there is not a class', async () => {
    png('inside/a/x.png', 1);
    png('inside/b/y.png', 2);
    const out = join(root, 'inside', 'dataset');
    for (const run of [1, 2]) {
      const r = await cli('build', 'imagefolder', join(root, 'inside'), '--out', out, '--created', '2026-01-01T00:00:00Z');
      expect([r.code, r.stderr], `run ${run}`).toEqual([0, expect.any(String)]);
    }
    const copy = join(root, 'inside-copy');
    png('inside-copy/a/x.png', 1);
    mkdirSync(join(copy, 'old-build'));
    writeFileSync(join(copy, 'old-build', 'edgelake.json'), '{}'); // another dataset in SRC: skipped too
    expect((await cli('build', 'imagefolder', copy, '--out', join(root, 'inside-copy-ds'))).code).toBe(0);
  });

  it('refuses a --test-fraction that leaves a class no training image, naming the class', async () => {
    png('starved/many/a.png', 1);
    png('starved/many/b.png', 2);
    png('starved/many/c.png', 3);
    png('starved/one/x.png', 4);
    const r = await cli('build', 'imagefolder', join(root, 'starved'), '--out', join(root, 'starved-ds'), '--test-fraction', '0.5');
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining('--test-fraction 0.5 holds out every image of class one (1), leaving none to train on')]);
    expect(existsSync(join(root, 'starved-ds'))).toBe(false);
  });

  it('names the files it skips, and says which are images not supported yet', async () => {
    png('others/a/x.png', 1);
    writeFileSync(join(root, 'others/a/notes.txt'), 'about class a');
    writeFileSync(join(root, 'others/a/base.ppm'), 'P6\n1 1\n255\n\0\0\0');
    const r = await cli('build', 'imagefolder', join(root, 'others'), '--out', join(root, 'others-ds'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('skipped 2 files that are not .jpg/.jpeg/.png (a/base.ppm, a/notes.txt); 1 of them are images of a kind not supported yet');
  });

  it("checks every file's type before writing anything: files neither JPEG nor PNG, all named, leave no --out", async () => {
    for (let i = 0; i < 4; i++) png(`late/a/${i}.png`, i);
    mkdirSync(join(root, 'late/b'));
    writeFileSync(join(root, 'late/b/x.jpg'), 'GIF89a'); // a GIF named .jpg
    writeFileSync(join(root, 'late/b/y.png'), '');
    const r = await cli('build', 'imagefolder', join(root, 'late'), '--out', join(root, 'late-ds'), '--chunk-kib', '1');
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining('2 of 6 files are neither JPEG nor PNG: b/x.jpg, b/y.png')]);
    expect(existsSync(join(root, 'late-ds'))).toBe(false);
    expect(await cli('build', 'imagefolder', join(root, 'nothing-here'), '--out', join(root, 'x'))).toMatchObject({ code: 2 });
  });

  it('removes the folder a failed build made, and only a folder it made', async () => {
    const [made, kept] = [join(root, 'made'), join(root, 'kept')];
    const failing = (dir: string) => async () => {
      mkdirSync(join(dir, 'chunks'), { recursive: true });
      throw new Error('a.jpg: corrupt JPEG');
    };
    await expect(removeOnFailure(made, failing(made))).rejects.toThrow('a.jpg: corrupt JPEG');
    expect(existsSync(made)).toBe(false);
    mkdirSync(kept);
    await expect(removeOnFailure(kept, failing(kept))).rejects.toThrow('a.jpg: corrupt JPEG');
    expect(existsSync(join(kept, 'chunks'))).toBe(true); // another version may share its chunks
    expect(await removeOnFailure(made, async () => 7)).toBe(7);
  });
});

describe.skipIf(noTools)('edgelake build imagefolder', () => {
  let jpegs: Map<string, Buffer>;
  beforeAll(() => void (jpegs = makeJpegFolder()));

  it('stores each JPEG as it is, its class, and an RGB thumbnail probe', async () => {
    const out = join(root, 'ds');
    const built = await cli('build', 'imagefolder', join(root, 'jpegs'), '--out', out, '--thumbnail', '16', '--name', 'mate');
    expect(built).toMatchObject({ code: 0, stdout: expect.stringMatching(/\(5 samples\)/) });
    const v = await openVersion(new FileSource(out));
    const { image, label, thumbnail: thumb } = v.manifest.tensors;
    expect(image).toMatchObject({ sampleCompression: 'jpeg', dtype: 'uint8', shape: [null, null, 3] });
    expect(label.classNames).toEqual(['abstract', 'flowers']);
    expect(thumb).toMatchObject({ shape: [16, 16, 3], chunkCompression: 'none' });

    // Sorted by class then name: abstract/Dune, abstract/Elephants, flowers/FreshFlower, LadyBird, YellowFlower.
    const expected = ['abstract/Dune.jpg', 'abstract/Elephants.jpg', 'flowers/FreshFlower.jpg', 'flowers/LadyBird.jpg', 'flowers/YellowFlower.jpg'];
    const payloads = await allPayloads(v, 'image');
    const labels = (await allPayloads(v, 'label')).map((p) => new DataView(p.buffer, p.byteOffset).getInt32(0, true));
    const thumbs = await allPayloads(v, 'thumbnail');
    expected.forEach((file, i) => {
      expect(Buffer.compare(Buffer.from(payloads[i]), jpegs.get(file)!), file).toBe(0);
      expect(label.classNames![labels[i]]).toBe(file.split('/')[0]);
      // The thumbnail against one made from djpeg's decode of the same file: the same samples.
      const reference = thumbnail(toRgb(readPpm(execFileSync('djpeg', ['-pnm'], { input: jpegs.get(file)! }))), 16).data;
      expect([...thumbs[i]], file).toEqual([...reference]);
    });
  });

  it('splits a share of the files into test, by a hash of the path, the same on every build', async () => {
    const a = await cli('build', 'imagefolder', join(root, 'jpegs'), '--out', join(root, 'split-a'), '--test-fraction', '0.4', '--created', '2026-01-01T00:00:00Z');
    const b = await cli('build', 'imagefolder', join(root, 'jpegs'), '--out', join(root, 'split-b'), '--test-fraction', '0.4', '--created', '2026-01-01T00:00:00Z');
    expect(a.code).toBe(0);
    expect(a.stdout.match(/version (\w+)/)![1]).toBe(b.stdout.match(/version (\w+)/)![1]);
    const { splits } = (await openVersion(new FileSource(join(root, 'split-a')))).manifest;
    expect(splits.train[0][0]).toBe(0);
    expect(splits.test[0][1]).toBe(5);
    expect(splits.train[0][1]).toBe(splits.test[0][0]);
  });

  it('builds PNG folders, recording the common size', async () => {
    const pixels = (seed: number) => Uint16Array.from({ length: 9 * 7 * 3 }, (_, i) => (i * 31 + seed * 17) & 255);
    for (const [cls, n] of [['a', 2], ['b', 1]] as const) {
      mkdirSync(join(root, 'pngs', cls, 'nested'), { recursive: true });
      for (let i = 0; i < n; i++) writeFileSync(join(root, 'pngs', cls, i === 0 ? 'x.png' : 'nested/y.png'), encodePng({ width: 9, height: 7, colorType: 2, bitDepth: 8, samples: pixels(i) }));
    }
    expect((await cli('build', 'imagefolder', join(root, 'pngs'), '--out', join(root, 'png-ds'))).code).toBe(0);
    const v = await openVersion(new FileSource(join(root, 'png-ds')));
    expect(v.manifest.tensors.image).toMatchObject({ sampleCompression: 'png', shape: [7, 9, 3] });
    expect(v.manifest.length).toBe(3);
  });

  it('trains a CNN on JPEGs of any size with --input-size, and asks for it without', { timeout: 120_000 }, async () => {
    const ds = join(root, 'train-ds');
    expect((await cli('build', 'imagefolder', join(root, 'jpegs'), '--out', ds, '--test-fraction', '0.4')).code).toBe(0);
    expect(await cli('train', ds, '--model', 'cnn', '--device', 'cpu')).toMatchObject({ code: 2, stderr: expect.stringMatching(/images of any size .*give --input-size N/) });
    const r = await cli('train', ds, '--model', 'cnn', '--input-size', '16', '--epochs', '2', '--batch-size', '2', '--device', 'cpu', '--json');
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.trainSamples + result.testSamples).toBe(5);
    expect(result.trainSamples).toBeGreaterThan(0);
    expect(result.history.map((h: { loss: number }) => Number.isFinite(h.loss))).toEqual([true, true]);
  });

  it('files that fail to decode are all named and refuse the build; --skip-bad leaves them out', async () => {
    mkdirSync(join(root, 'damaged', 'c'), { recursive: true });
    const good = jpegs.get('flowers/LadyBird.jpg')!;
    writeFileSync(join(root, 'damaged', 'c', 'a.jpg'), good);
    writeFileSync(join(root, 'damaged', 'c', 'b.jpg'), good.subarray(0, 400)); // cut short
    writeFileSync(join(root, 'damaged', 'c', 'c.jpg'), jpegs.get('abstract/Dune.jpg')!);
    writeFileSync(join(root, 'damaged', 'c', 'd.jpg'), good.subarray(0, 3)); // a JPEG's first bytes alone
    const refused = await cli('build', 'imagefolder', join(root, 'damaged'), '--out', join(root, 'damaged-ds'));
    expect([refused.code, refused.stderr]).toEqual([2, expect.stringMatching(/2 of 4 files would not decode: c\/b\.jpg \(.+\); c\/d\.jpg \(.+\); leave them out with skipBad \(edgelake build imagefolder --skip-bad\)/)]);
    expect(existsSync(join(root, 'damaged-ds'))).toBe(false);
    const built = await cli('build', 'imagefolder', join(root, 'damaged'), '--out', join(root, 'damaged-ds'), '--skip-bad');
    expect(built.code, built.stderr).toBe(0);
    expect(built.stderr).toMatch(/left out 2 files that would not decode: c\/b\.jpg \(.+\); c\/d\.jpg/);
    const ds = await openDataset(join(root, 'damaged-ds'));
    expect([ds.length, ds.manifest.splits.train]).toEqual([2, [[0, 2]]]);
    for (const [id, bytes] of [good, jpegs.get('abstract/Dune.jpg')!].entries()) {
      const { image } = await ds.view().get(id, ['image']);
      expect(Buffer.from(image).equals(toRgb(decodeImageSync(bytes)).data), `sample ${id}`).toBe(true);
    }
  });

  it('a folder of JPEGs with a PNG among them (ImageNet names one .JPEG) builds, each file decoded as what it is', async () => {
    mkdirSync(join(root, 'mixed', 'c'), { recursive: true });
    const files = { 'a.jpg': jpegs.get('flowers/LadyBird.jpg')!, 'b.jpg': readFileSync(join(MATE, 'abstract/Spring.png')), 'c.jpg': jpegs.get('abstract/Dune.jpg')! };
    for (const [name, bytes] of Object.entries(files)) writeFileSync(join(root, 'mixed', 'c', name), bytes);
    const r = await cli('build', 'imagefolder', join(root, 'mixed'), '--out', join(root, 'mixed-ds'));
    expect(r.code, r.stderr).toBe(0);
    const ds = await openDataset(join(root, 'mixed-ds'));
    expect(ds.tensor('image').sampleCompression).toBe('jpeg');
    const decoded = new Map<number, Uint8Array>();
    for await (const b of new Loader(ds.view(), { batchSize: 1, tensors: ['image'] })) {
      const image = b.tensors.image as Uint8Array | Uint8Array[]; // a batch of samples of one size is stacked
      decoded.set(b.ids[0], Array.isArray(image) ? image[0] : image);
    }
    for (const [id, bytes] of Object.values(files).entries()) expect(Buffer.from(decoded.get(id)!).equals(toRgb(decodeImageSync(bytes)).data), `sample ${id}`).toBe(true);
  });
});

async function allPayloads(v: Awaited<ReturnType<typeof openVersion>>, tensor: string): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (let c = 0; c < v.manifest.tensors[tensor].chunks.length; c++) {
    const chunk = await readChunk(v, tensor, c);
    for (let i = 0; i < chunk.header.samples; i++) out.push(chunk.payload(i));
  }
  return out;
}

/** The binary PPM that `djpeg -pnm` writes for colour JPEGs. */
function readPpm(b: Buffer) {
  const header = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(b.subarray(0, 64).toString('latin1'))!;
  return { width: +header[1], height: +header[2], channels: 3 as const, data: new Uint8Array(b.subarray(header[0].length)) };
}
