// edgelake build linked: a dataset of links from a list or a CSV, no file read to build it.
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { csvEntries, lineEntries } from '../../src/cli/build-linked.js';
import { openDataset } from '../../src/node.js';
import { encodePng } from '../format/image/png-encoder.js';
import { cli } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'edgelake-build-linked-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string | Uint8Array) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};
/** A 1x1 gray PNG at dir/path: its one pixel value tells which file a sample read. */
const photo = (path: string, value: number) => {
  mkdirSync(join(dir, path, '..'), { recursive: true });
  return file(path, encodePng({ width: 1, height: 1, colorType: 0, bitDepth: 8, samples: Uint16Array.of(value) }));
};
/** Each sample's pixel value, in order. */
async function values(root: string): Promise<number[]> {
  const ds = await openDataset(root);
  const out = [];
  for (let i = 0; i < ds.length; i++) out.push((await ds.view().get(i, ['image'])).image[0]);
  return out;
}

describe('edgelake build linked', () => {
  it('builds from a CSV of urls and classes: links in chunks of --chunk-samples, labels by class name', async () => {
    const csv = file('photos.csv', 'label,url\ncat,https://host/a.jpg\ndog,"https://host/b,c.jpg"\ncat,s3://bucket/d.JPEG\n');
    const r = await cli('build', 'linked', csv, '--out', join(dir, 'a'), '--chunk-samples', '2', '--created', '2026-12-06T00:00:00Z');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/wrote .* \(3 samples\)\n  image: 2 chunks/);
    const ds = await openDataset(join(dir, 'a'));
    expect(ds.tensor('image')).toMatchObject({ linked: true, sampleCompression: 'jpeg', shape: [null, null, 3] });
    expect(ds.tensor('label').classNames).toEqual(['cat', 'dog']);
    expect(Array.from((await ds.view().get(1, ['label'])).label)).toEqual([1]);
  });

  it('builds from a list, one link a line, without classes', async () => {
    photo('photos/a.png', 1);
    photo('photos/b.png', 2);
    const list = file('photos.txt', '# my photos\nphotos/a.png\n\nphotos/b.png\n');
    expect((await cli('build', 'linked', list, '--out', join(dir, 'b'))).code).toBe(0);
    const ds = await openDataset(join(dir, 'b'));
    expect(Object.keys(ds.tensors)).toEqual(['image']);
    expect(ds.tensor('image').sampleCompression).toBe('png');
    expect(lineEntries('a.jpg\r\n b.jpg \n#c.jpg')).toEqual([{ link: 'a.jpg' }, { link: 'b.jpg' }]);
  });

  it('says what is wrong with a list', async () => {
    file('a.jpg', '');
    file('b.png', '');
    const cases: [string, string, RegExp][] = [
      ['mixed.txt', 'a.jpg\nb.png\n', /\/b\.png is png but \S+\/a\.jpg is jpeg/], // the files, from the list's folder
      ['noext.txt', 'https://host/photo?id=3\n', /ends in neither \.jpg, \.jpeg nor \.png: name the files' format \(--format jpeg\|png\)/],
      ['nourl.csv', 'file,label\na.jpg,x\n', /the header \(file,label\) names no url, link or path column/],
      ['short.csv', 'url,label\na.jpg\n', /row 2 has 1 fields, the header 2/],
      ['empty.txt', '\n# nothing\n', /the list names no file/],
    ];
    for (const [name, text, message] of cases) {
      const r = await cli('build', 'linked', file(name, text), '--out', join(dir, name));
      expect(r.code, name).toBe(2); // bad input, as for any argument
      expect(r.stderr, name).toMatch(message);
    }
    const list = file('ok.txt', 'a.jpg\n');
    const flags: [string[], string][] = [
      [['--name', ''], '--name must have 1 to 200 characters, not 0'],
      [['--ref', ''], '--ref "" must match'],
      [['--created', 'yesterday'], '--created must be a UTC time like 2026-11-21T12:00:00Z, not "yesterday"'],
    ];
    for (const [extra, message] of flags) {
      const r = await cli('build', 'linked', list, '--out', join(dir, 'flags'), ...extra);
      expect([r.code, r.stderr], extra.join(' ')).toEqual([2, expect.stringContaining(message)]);
    }
    expect(existsSync(join(dir, 'flags'))).toBe(false);
    expect((await cli('build', 'linked', file('fmt.txt', 'https://host/photo?id=3\n'), '--out', join(dir, 'fmt'), '--format', 'jpeg')).code).toBe(0);
    expect(csvEntries('url,class\n"a ""quoted"".jpg",x\n')).toEqual([{ link: 'a "quoted".jpg', className: 'x' }]);
  });

  it("resolves a path against the list's folder, and links it from --out so a copy with its photos still reads", async () => {
    const names = ['a.png', 'b c.png', 'd#1.png', 'e%20f.png', 'h?x.png', 'é.png']; // %, # and ? are the file's, not URL syntax
    names.forEach((name, i) => photo(`album/photos/${name}`, 10 * (i + 1)));
    const csv = file('album/photos.csv', ['path', ...names.map((n) => `"photos/${n}"`)].join('\n'));
    const r = await cli('build', 'linked', csv, '--out', join(dir, 'album', 'out', 'ds'));
    expect(r.code, r.stderr).toBe(0);
    expect(await values(join(dir, 'album', 'out', 'ds'))).toEqual([10, 20, 30, 40, 50, 60]);
    cpSync(join(dir, 'album'), join(dir, 'album-copy'), { recursive: true });
    rmSync(join(dir, 'album'), { recursive: true });
    expect(await values(join(dir, 'album-copy', 'out', 'ds'))).toEqual([10, 20, 30, 40, 50, 60]);
  });

  it('keeps an absolute path as written, # and ? part of its file name', async () => {
    const paths = [photo('abs/d#1.png', 7), photo('abs/h?x.png', 8)];
    const r = await cli('build', 'linked', file('abs.txt', paths.join('\n')), '--out', join(dir, 'abs-ds'));
    expect(r.code, r.stderr).toBe(0);
    expect(await values(join(dir, 'abs-ds'))).toEqual([7, 8]);
  });

  it('refuses a list naming a local file that is not there, before writing anything', async () => {
    photo('gone/photos/a.png', 1);
    const list = file('gone/photos.txt', 'photos/a.png\nphotos/b.png\nphotos/c.png\n');
    const r = await cli('build', 'linked', list, '--out', join(dir, 'gone-ds'));
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining(`${list} names photos/b.png, but there is no file ${join(dir, 'gone', 'photos', 'b.png')}`)]);
    expect(existsSync(join(dir, 'gone-ds'))).toBe(false);
  });

  it("reads a CSV that starts with a byte order mark (Excel, Python's utf-8-sig), quoted header or not", async () => {
    const csv = file('bom.csv', '\uFEFF"url","label"\r\n"https://host/a.jpg","cat"\r\n');
    expect((await cli('build', 'linked', csv, '--out', join(dir, 'bom'))).code).toBe(0);
    expect(csvEntries('\uFEFFurl,label\na.jpg,cat\n')).toEqual([{ link: 'a.jpg', className: 'cat' }]);
  });
});
