// Linked tensors: samples that are files where they already are, read through the cache by validator.
import { mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EdgelakeError, Loader, materialize, query, type ReadOptions, type Source } from '../../../src/index.js';
import { convertToNative } from '../../../src/runtime/convert.js';
import { buildLinked, type LinkedEntry } from '../../../src/format/index.js';
import { FolderSink, openDataset, openTransportNode } from '../../../src/node.js';
import { resolveLink } from '../../../src/runtime/dataset/links.js';
import { encodePng } from '../../format/image/png-encoder.js';
import { mulberry32 } from '../../support/random.js';

const root = mkdtempSync(join(tmpdir(), 'edgelake-links-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const where = { dataset: 'd', version: 'v', tensor: 'image', chunk: '0' };

/** A random RGB PNG of h x w. */
function png(h: number, w: number, seed: number): Uint8Array {
  const random = mulberry32(seed);
  return encodePng({ width: w, height: h, colorType: 2, bitDepth: 8, samples: Uint16Array.from({ length: h * w * 3 }, () => Math.floor(random() * 256)) });
}

/** A folder of `n` PNGs in photos/ and a linked dataset beside them (links relative to it, 3 a chunk). */
async function linkedFolder(name: string, n: number): Promise<{ dir: string; files: string[] }> {
  const dir = join(root, name);
  mkdirSync(join(dir, 'photos'), { recursive: true });
  const files = Array.from({ length: n }, (_, i) => join(dir, 'photos', `${i}.png`));
  files.forEach((f, i) => writeFileSync(f, png(5 + i, 7 + (i % 3), i)));
  const entries: LinkedEntry[] = files.map((_, i) => ({ link: `../photos/${i}.png`, className: i % 2 ? 'odd' : 'even' }));
  await buildLinked(new FolderSink(join(dir, 'ds')), entries, { created: '2026-12-06T00:00:00Z', chunkSamples: 3 });
  return { dir, files };
}

/** Every sample's pixels (or those of `indices`), by id, as a loader decodes them (one epoch). */
async function epoch(ds: Awaited<ReturnType<typeof openDataset>>, indices?: number[]): Promise<Map<number, Uint8Array>> {
  const out = new Map<number, Uint8Array>();
  for await (const b of new Loader(ds.view({ indices }), { batchSize: 4, tensors: ['image'] })) b.ids.forEach((id, i) => out.set(id, (b.tensors.image as Uint8Array[])[i]));
  return out;
}

async function pixels(file: string): Promise<Uint8Array> {
  const { decodeImage } = await import('../../../src/index.js');
  return (await decodeImage(await readFile(file))).data;
}

describe('linked tensors', () => {
  it('read each file once cold and not at all warm (revalidated), decoded as native samples are', async () => {
    const { dir, files } = await linkedFolder('cold-warm', 7);
    const cacheDir = join(dir, 'cache');
    const cold = await openDataset(join(dir, 'ds'), { cacheDir });
    expect(cold.tensor('image').linked).toBe(true);
    const first = await epoch(cold);
    expect(cold.links.network).toMatchObject({ requests: 7, unchanged: 0 });
    for (const [id, got] of first) expect(got).toEqual(await pixels(files[id]));
    // The dataset's network counts the files too: what stream, query and the learner report as fetched.
    const fileBytes = files.reduce((a, f) => a + statSync(f).size, 0);
    expect(cold.links.network.bytes).toBe(fileBytes);
    expect(cold.network.bytes).toBeGreaterThan(fileBytes);

    const warm = await openDataset(join(dir, 'ds'), { cacheDir });
    expect(await epoch(warm)).toEqual(first);
    expect(warm.links.network).toMatchObject({ requests: 0, bytes: 0, unchanged: 7 });
    // A view reads one sample (its link, then its file) the same way.
    const one = await warm.view().get(4, ['image', 'label']);
    expect(one.image).toEqual(first.get(4));
    expect(Array.from(one.label)).toEqual([0]);
  });

  it('read only the files a view takes', async () => {
    const { dir, files } = await linkedFolder('view', 7);
    const ds = await openDataset(join(dir, 'ds'));
    const got = await epoch(ds, [1, 5]); // chunks of 3: one sample of chunk 0, one of chunk 1
    expect([...got.keys()]).toEqual([1, 5]);
    for (const [id, pixelsOf] of got) expect(pixelsOf).toEqual(await pixels(files[id]));
    expect(ds.links.network).toMatchObject({ requests: 2 });
  });

  it('read a changed file again, whole, and never serve its old bytes', async () => {
    const { dir, files } = await linkedFolder('changed', 4);
    const cacheDir = join(dir, 'cache');
    await epoch(await openDataset(join(dir, 'ds'), { cacheDir }));
    writeFileSync(files[2], png(9, 4, 99)); // new bytes, new size
    utimesSync(files[2], new Date(), new Date(Date.now() + 5000));
    const ds = await openDataset(join(dir, 'ds'), { cacheDir });
    const got = await epoch(ds);
    expect(ds.links.network).toMatchObject({ requests: 1, unchanged: 3 });
    expect(got.get(2)).toEqual(await pixels(files[2]));
    const again = await openDataset(join(dir, 'ds'), { cacheDir });
    expect((await epoch(again)).get(2)).toEqual(got.get(2));
    expect(again.links.network).toMatchObject({ requests: 0, unchanged: 4 });
  });

  it('refuse bytes that differ from the hash first read while the server calls the file unchanged', async () => {
    const { dir } = await linkedFolder('lying', 2);
    const bytes = new Map<string, Uint8Array>([['0.png', png(6, 6, 1)], ['1.png', png(6, 6, 2)]]);
    // A server whose ETag never changes, whatever it serves.
    const photos: Source = {
      location: 'photos',
      async read(path: string, options: ReadOptions = {}) {
        if (options.ifChanged === '"same"') throw new EdgelakeError('not-modified', `${path} unchanged`);
        options.onValidator?.('"same"');
        return bytes.get(path)!.slice();
      },
      readRange: () => Promise.reject(new Error('no ranges')),
    };
    const openTransport = (folder: string, o: object) => (folder.endsWith('/photos/') ? photos : openTransportNode(folder, o));
    const cacheDir = join(dir, 'cache');
    const ds = await openDataset(join(dir, 'ds'), { cacheDir, openTransport });
    await epoch(ds);
    // The cached copy is gone (evicted), and the server now serves other bytes under the same ETag.
    const { FsChunkStore } = await import('../../../src/node.js');
    const store = await FsChunkStore.open(cacheDir);
    for (const e of await store.entries()) await store.delete(e.hash);
    bytes.set('1.png', png(6, 6, 3));
    const again = await openDataset(join(dir, 'ds'), { cacheDir, openTransport });
    await expect(epoch(again)).rejects.toMatchObject({ code: 'integrity', message: expect.stringMatching(/1\.png: its server calls it unchanged \("same"\)/) });
  });

  it('keep what a cache knows of a chunk per root: the same relative links under another root name other files', async () => {
    const [cats, dogs] = [await linkedFolder('cats', 2), await linkedFolder('dogs', 2)];
    writeFileSync(dogs.files[0], png(6, 6, 7)); // the same chunk of links, another photo
    // A server whose ETag only two files of one size and mtime share (nginx's), answering 304 to it.
    const sameEtag = (folder: string, o: object): Source => {
      const files = openTransportNode(folder, o);
      if (!folder.endsWith('/photos/')) return files;
      return {
        location: files.location,
        async read(path: string, options: ReadOptions = {}) {
          if (options.ifChanged === '"same"') throw new EdgelakeError('not-modified', `${path} unchanged`);
          options.onValidator?.('"same"');
          return files.read(path, { ...options, onValidator: undefined });
        },
        readRange: files.readRange.bind(files),
      };
    };
    const open = (dir: string) => openDataset(join(dir, 'ds'), { cacheDir: join(root, 'shared-cache'), openTransport: sameEtag });
    const [a, b] = [await open(cats.dir), await open(dogs.dir)];
    expect(b.tensor('image').chunks[0].hash).toBe(a.tensor('image').chunks[0].hash);
    for (const [ds, files] of [[a, cats.files], [b, dogs.files]] as const) {
      for (const [id, pixelsOf] of await epoch(ds)) expect(pixelsOf).toEqual(await pixels(files[id]));
    }
  });

  it('read again every time a file whose server gives no validator: never trusted stale', async () => {
    const { dir } = await linkedFolder('no-etag', 3);
    const plain = (folder: string, o: object): Source => {
      const files = openTransportNode(folder, o);
      return { location: files.location, read: (p, opts) => files.read(p, { ...opts, onValidator: undefined }), readRange: files.readRange.bind(files) };
    };
    for (let k = 0; k < 2; k++) {
      const ds = await openDataset(join(dir, 'ds'), { cacheDir: join(dir, 'cache'), openTransport: plain });
      await epoch(ds);
      expect(ds.links.network).toMatchObject({ requests: 3, unchanged: 0 });
    }
  });

  it('become chunks of their files in `build native` and in a materialized view, which then link nothing', async () => {
    const { dir, files } = await linkedFolder('materialize', 5);
    const ds = await openDataset(join(dir, 'ds'));
    await convertToNative(ds, new FolderSink(join(dir, 'native')), { created: '2026-12-06T00:00:00Z' });
    const native = await openDataset(join(dir, 'native'));
    expect(native.tensor('image')).toMatchObject({ sampleCompression: 'png', chunkCompression: 'none' });
    expect(native.tensor('image').linked).toBeUndefined();
    for (let i = 0; i < 5; i++) expect((await native.view().get(i, ['image'])).image).toEqual(await pixels(files[i]));

    const { ids } = await query(ds, 'select * where label == 1 order by label limit 2');
    await materialize(ds, ids, new FolderSink(join(dir, 'ds')), { ref: 'odd', created: '2026-12-06T00:00:00Z' });
    const odd = await openDataset(join(dir, 'ds'), { ref: 'odd' });
    expect(odd.tensor('image').linked).toBeUndefined();
    expect((await odd.view().get(1, ['image'])).image).toEqual(await pixels(files[ids[1]]));
  });

  it('resolve relative links against the dataset, and refuse local files from a remote dataset', () => {
    expect(resolveLink('photos/a.jpg', 'https://host/ds', where, 0)).toBe('https://host/ds/photos/a.jpg');
    expect(resolveLink('../p/a.jpg', 's3://bucket/sets/ds/', where, 0)).toBe('s3://bucket/sets/p/a.jpg');
    // An s3:// URL names its key as written, so the resolved key is decoded back: 'a b' and 'a%20b' both name the key 'a b'.
    expect(['p/a b été.jpg', 'p/a%20b%20%C3%A9t%C3%A9.jpg'].map((link) => resolveLink(link, 's3://bucket/ds', where, 0))).toEqual(['s3://bucket/ds/p/a b été.jpg', 's3://bucket/ds/p/a b été.jpg']);
    expect(resolveLink('p/100%25 #2.jpg', 's3://bucket/ds', where, 0)).toBe('s3://bucket/ds/p/100% ');
    expect(() => resolveLink('a?x=1.jpg', 's3://bucket/ds', where, 4)).toThrow(/sample 4 links "a\?…", whose '\?' would start a query, which an S3 key has not \(write it as %3F\)/);
    expect(() => resolveLink('a%E9.jpg', 's3://bucket/ds', where, 0)).toThrow(/a '%' that starts no UTF-8 escape/);
    // A local root resolves them as a URL too (as file:///data/ds/): %20 is a space, '#' starts a fragment.
    expect(resolveLink('../p/a%20b.jpg#2', '/data/my ds', where, 0)).toBe('file:///data/p/a%20b.jpg#2');
    expect(resolveLink('p/été.jpg', 'file:///data/ds', where, 0)).toBe('file:///data/ds/p/%C3%A9t%C3%A9.jpg');
    expect(resolveLink('../p/a.jpg', 'sets/ds', where, 0, (path) => `/work/${path}`)).toBe('file:///work/sets/p/a.jpg');
    expect(resolveLink('file:///data/a.jpg', '/data/ds', where, 0)).toBe('file:///data/a.jpg');
    expect(resolveLink('http://other/a.jpg', '/data/ds', where, 0)).toBe('http://other/a.jpg');
    expect(() => resolveLink('file:///etc/passwd', 'https://host/ds', where, 3)).toThrow(/sample 3 links "file:\/\/\/etc\/passwd", a local file, and the dataset is remote/);
    expect(() => resolveLink('/etc/passwd', 's3://b/ds', where, 0)).toThrow(/a local file/);
    expect(() => resolveLink('ftp://h/a.jpg', '/data', where, 0)).toThrow(/not an http\(s\):\/\/, s3:\/\/ or file:\/\/ URL/);
  });

  it('read the file a relative link names as a URL, percent-escapes decoded, from a local root as over HTTP', async () => {
    const dir = join(root, 'escaped');
    mkdirSync(join(dir, 'my photos'), { recursive: true });
    const [spaced, literal] = [png(4, 4, 1), png(5, 5, 2)];
    writeFileSync(join(dir, 'my photos', 'été 1.png'), spaced);
    writeFileSync(join(dir, 'my photos', '%C3%A9t%C3%A9%201.png'), literal); // what joining the text named
    await buildLinked(new FolderSink(join(dir, 'ds')), [{ link: '../my%20photos/%C3%A9t%C3%A9%201.png#x' }], { created: '2026-12-06T00:00:00Z' });
    const ds = await openDataset(join(dir, 'ds'));
    expect((await ds.view().get(0, ['image'])).image).toEqual(await pixels(join(dir, 'my photos', 'été 1.png')));
  });

  it('refuse a manifest whose linked tensor names no image format', async () => {
    const { dir } = await linkedFolder('manifest', 1);
    const { validateManifest, DEFAULT_LIMITS } = await import('../../../src/format/index.js');
    const ds = await openDataset(join(dir, 'ds'));
    const bad = { ...ds.manifest, tensors: { image: { ...ds.tensor('image'), sampleCompression: 'none' } } };
    expect(() => validateManifest(bad, 'v.json', DEFAULT_LIMITS)).toThrow(/tensors\.image\.linked is true, so sampleCompression must name the files' format/);
  });
});
