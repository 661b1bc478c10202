// edgelake build linked: a dataset of links from a list or a CSV, no file read to build it.
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { csvEntries, lineEntries } from '../../src/cli/build-linked.js';
import { query } from '../../src/index.js';
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

  it('a list mixing .png and .jpg links is the kind most are, each file decoded as what it is (even a PNG named .jpg)', async () => {
    photo('mixed/a.png', 7);
    photo('mixed/b.png', 8);
    photo('mixed/c.jpg', 9); // a PNG named .jpg, as ImageNet holds one
    const r = await cli('build', 'linked', file('mixed.txt', 'mixed/a.png\nmixed/b.png\nmixed/c.jpg\n'), '--out', join(dir, 'mixed-ds'));
    expect(r.code, r.stderr).toBe(0);
    expect((await openDataset(join(dir, 'mixed-ds'))).tensor('image').sampleCompression).toBe('png');
    expect(await values(join(dir, 'mixed-ds'))).toEqual([7, 8, 9]);
  });

  it('says what is wrong with a list', async () => {
    file('a.jpg', '');
    file('b.png', '');
    const cases: [string, string, RegExp][] = [
      ['noext.txt', 'https://host/photo?id=3\n', /ends in neither \.jpg, \.jpeg nor \.png: name the files' format \(--format jpeg\|png\)/],
      ['nourl.csv', 'file,label\na.jpg,x\n', /the header \(file,label\) names no url, link or path column/],
      ['short.csv', 'url,label\na.jpg\n', /line 2 has 1 fields, the header 2/],
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
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining(`${list} names "photos/b.png", but there is no file ${join(dir, 'gone', 'photos', 'b.png')}`)]);
    expect(existsSync(join(dir, 'gone-ds'))).toBe(false);
  });

  it("reads a CSV that starts with a byte order mark (Excel, Python's utf-8-sig), quoted header or not", async () => {
    const csv = file('bom.csv', '\uFEFF"url","label"\r\n"https://host/a.jpg","cat"\r\n');
    expect((await cli('build', 'linked', csv, '--out', join(dir, 'bom'))).code).toBe(0);
    expect(csvEntries('\uFEFFurl,label\na.jpg,cat\n')).toEqual([{ link: 'a.jpg', className: 'cat' }]);
  });

  /** Each sample's label. */
  async function labels(root: string): Promise<number[]> {
    const ds = await openDataset(root);
    const out = [];
    for (let i = 0; i < ds.length; i++) out.push((await ds.view().get(i, ['label'])).label[0]);
    return out;
  }

  it('makes a test split from --test-fraction, per class and keeping each class a training file, or from a split column', async () => {
    const rows = Array.from({ length: 9 }, (_, i) => `https://host/${i}.jpg,${i < 8 ? 'cat' : 'dog'}`);
    const csv = file('frac.csv', ['url,label', ...rows].join('\n'));
    const r = await cli('build', 'linked', csv, '--out', join(dir, 'frac'), '--test-fraction', '0.5');
    expect(r.code, r.stderr).toBe(0);
    const ds = await openDataset(join(dir, 'frac'));
    expect(ds.splits).toEqual({ train: [[0, 5]], test: [[5, 9]] }); // cat: 4 of 8 held out; dog's one file stays in train
    const got = await labels(join(dir, 'frac'));
    expect(got).toEqual([0, 0, 0, 0, 1, 0, 0, 0, 0]);
    // The same links give the same split on every build.
    expect((await cli('build', 'linked', csv, '--out', join(dir, 'frac2'), '--test-fraction', '0.5')).code).toBe(0);
    expect(await labels(join(dir, 'frac2'))).toEqual(got);
    const split = file('split.csv', 'url,label,split\nhttps://host/a.jpg,cat,test\nhttps://host/b.jpg,cat,train\nhttps://host/c.jpg,dog,validation\nhttps://host/d.jpg,dog,train\n');
    expect((await cli('build', 'linked', split, '--out', join(dir, 'split'))).code).toBe(0);
    expect((await openDataset(join(dir, 'split'))).splits).toEqual({ train: [[0, 2]], test: [[2, 3]], validation: [[3, 4]] });
    const both = await cli('build', 'linked', split, '--out', join(dir, 'split-both'), '--test-fraction', '0.2');
    expect([both.code, both.stderr]).toEqual([2, expect.stringContaining('give one or the other')]);
    const bad = await cli('build', 'linked', file('badsplit.csv', 'url,split\nhttps://host/a.jpg,my split\n'), '--out', join(dir, 'badsplit'));
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringContaining('line 2\'s split "my split" is no split name')]);
  });

  it('refuses an empty label cell, naming its line, rather than make a class named ""', async () => {
    const csv = file('unlab.csv', 'url,label\nhttps://host/a.jpg,cat\n\nhttps://host/b.jpg, \nhttps://host/c.jpg,dog\n');
    const r = await cli('build', 'linked', csv, '--out', join(dir, 'unlab'));
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining('line 4 has no label: fill it in, or drop the label column')]);
    expect(existsSync(join(dir, 'unlab'))).toBe(false);
  });

  it('keeps integer labels as class ids, so label == 2 finds the files labelled 2', async () => {
    const rows = [0, 1, 2, 10, 11, 2, 14].map((l, i) => `https://host/${i}.jpg,${l}`);
    expect((await cli('build', 'linked', file('ints.csv', ['url,label', ...rows].join('\n')), '--out', join(dir, 'ints'))).code).toBe(0);
    const ds = await openDataset(join(dir, 'ints'));
    expect(ds.tensor('label').classNames).toEqual(Array.from({ length: 15 }, (_, i) => String(i)));
    expect(await labels(join(dir, 'ints'))).toEqual([0, 1, 2, 10, 11, 2, 14]);
    expect(Array.from((await query(ds, 'select * where label == 2')).ids)).toEqual([2, 5]);
    expect(Array.from((await query(ds, "select * where label == '10'")).ids)).toEqual([3]);
  });

  it('trims urls and labels, lists a file once, refuses one listed with two labels, and counts lines as an editor does', async () => {
    photo('trim/images/x.png', 5);
    const csv = file('trim/photos.csv', 'url,label\n images/x.png ,nature \nhttps://host/b.png,nature\n');
    expect((await cli('build', 'linked', csv, '--out', join(dir, 'trim', 'ds'))).code).toBe(0);
    expect((await openDataset(join(dir, 'trim', 'ds'))).tensor('label').classNames).toEqual(['nature']);
    expect((await (await openDataset(join(dir, 'trim', 'ds'))).view().get(0, ['image'])).image[0]).toBe(5); // " images/x.png " is that file
    const twice = await cli('build', 'linked', file('twice.csv', 'url,label\nhttps://host/a.png,cat\n\nhttps://host/b.png,dog\nhttps://host/a.png,cat\n'), '--out', join(dir, 'twice'));
    expect([twice.code, twice.stderr]).toEqual([0, expect.stringContaining('line 5 lists "https://host/a.png" again, as line 2 does: kept once')]);
    expect((await openDataset(join(dir, 'twice'))).length).toBe(2);
    const clash = await cli('build', 'linked', file('clash.csv', 'url,label\nhttps://host/a.png,cat\n\n"https://host/b.png","a\nb"\nhttps://host/a.png,dog\n'), '--out', join(dir, 'clash'));
    expect([clash.code, clash.stderr]).toEqual([2, expect.stringContaining('lines 2 and 6 both list "https://host/a.png", with label "cat" and label "dog"')]);
    const short = await cli('build', 'linked', file('short2.csv', 'url,label\n\nhttps://host/a.png\n'), '--out', join(dir, 'short2'));
    expect(short.stderr).toContain('line 3 has 1 fields');
  });

  it('says "unchanged:" when the same list is built again, as imagefolder does', async () => {
    const csv = file('again.csv', 'url,label\nhttps://host/a.jpg,cat\n');
    const first = await cli('build', 'linked', csv, '--out', join(dir, 'again'));
    const second = await cli('build', 'linked', csv, '--out', join(dir, 'again'));
    expect(first.stdout).toMatch(/^wrote /);
    expect(second.stdout).toMatch(/^unchanged: /);
    expect(second.stdout.split(' version ')[1]).toBe(first.stdout.split(' version ')[1]);
  });
});
