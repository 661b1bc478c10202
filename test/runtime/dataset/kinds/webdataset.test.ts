// WebDataset shards read in place: written by Python's tarfile (not edgelake), served by nginx,
// indexed once by `edgelake index`, then opened as an ordinary dataset.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import jpegJs from 'jpeg-js';
import { encodePng } from '../../../format/image/png-encoder.js';
import { cli, SUBSET } from '../../../support/cli.js';
import { startNginx, type RunningNginx } from '../../../support/nginx.js';
import { hasCommand, missing } from '../../../support/system.js';
import { readDataset } from '../../../spec-reader/reader.js';
import { ChunkCache, Loader, MemoryChunkStore } from '../../../../src/index.js';
import { expandShards, shardLayout, splitsOfFiles } from '../../../../src/format/webdataset/shards.js';
import { tarMembers } from '../../../../src/format/webdataset/tar.js';
import { indexShards, type InlineChunk, type WebDatasetIndex } from '../../../../src/format/webdataset/wds-index.js';
import { openDataset } from '../../../../src/node.js';

const SHARDS = 4;
const pattern = `fm-{000..${String(SHARDS - 1).padStart(3, '0')}}.tar`;

describe('shard patterns', () => {
  it('expand as WebDataset brace patterns, and name the index beside the shards', () => {
    expect(expandShards('train-{000..003}.tar')).toEqual(['train-000.tar', 'train-001.tar', 'train-002.tar', 'train-003.tar']);
    expect(expandShards('{a,b}-{08..10}.tar')).toEqual(['a-08.tar', 'a-09.tar', 'a-10.tar', 'b-08.tar', 'b-09.tar', 'b-10.tar']);
    expect(expandShards('s{9..10}.tar')).toEqual(['s9.tar', 's10.tar']);
    expect(expandShards('one.tar')).toEqual(['one.tar']);
    expect(shardLayout('https://host/data/train-{000..099}.tar')).toMatchObject({ base: 'https://host/data', index: 'train.edgelake-index.json.gz' });
    expect(shardLayout('https://host/data/train-{000..099}.tar').shards).toHaveLength(100);
    expect(() => expandShards('x-{9..1}.tar')).toThrow('the range {9..1} must count up');
    expect(() => expandShards('x-{abc}.tar')).toThrow('{abc} is neither a range {000..099} nor a list {a,b}');
    expect(() => expandShards('x-{0..99999999}.tar')).toThrow('at most 100000 shards');
  });

  it('only the file name may hold a pattern; gzipped shards are refused, saying to gunzip them', async () => {
    expect(() => shardLayout('https://host/{train,val}/shard-000.tar')).toThrow('https://host/{train,val}/shard-000.tar: only the file name may hold a brace pattern');
    for (const gz of ['/data/train-{000..009}.tar.gz', '/data/train-000.tgz']) {
      await expect(openDataset(gz)).rejects.toThrow(`${gz}: gzipped shards cannot be read in place (a sample is a byte range of its shard); gunzip them and open the .tar files`);
      expect(await cli('index', gz)).toMatchObject({ code: 2, stderr: expect.stringContaining(`${gz}: gzipped shards cannot be read in place`) }); // as inspect says it
    }
  });

  it('name their splits by a split word anywhere in the name, else by the name before the shard number', () => {
    const splits = (...names: string[]) => Object.keys(splitsOfFiles(names.map((name) => ({ name, samples: 1 }))));
    expect(splits('imagenet1k-train-0000.tar', 'imagenet1k-validation-0000.tar')).toEqual(['train', 'validation']);
    expect(splits('cc3m-train-0000.tar', 'cc3m-val-0000.tar')).toEqual(['train', 'val']);
    expect(splits('train-000.tar', 'test-000.tar', 'train-00000-of-00004.parquet')).toEqual(['train', 'test']);
    expect(splits('fm-000.tar', 'shard7.tar', 'laion400m-part-00001.tar', 'mnist.tar')).toEqual(['fm', 'shard', 'laion400m-part', 'mnist']);
    expect(splits('fm-000.tar', '000.tar')).toEqual([]); // a file without a name: no splits
    // Dots are boundaries too: a version or a dataset name before the split word is not the split.
    expect(splitsOfFiles([{ name: 'mnist.train-000.tar', samples: 3 }, { name: 'mnist.test-000.tar', samples: 2 }])).toEqual({ train: [[0, 3]], test: [[3, 5]] });
    expect(splits('laion2b-v1.0-train-000.tar', 'coco-2017.val-0000.tar', 'train.00000.tar', 'wiki.en-00001.parquet')).toEqual(['train', 'val', 'wiki.en']);
    expect(splits('laion2b-v1.0-part-000.tar', 'data.tar.gz')).toEqual(['laion2b-v1.0-part', 'data']);
  });
});

describe('WebDataset shards that are not there', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgelake-wds-missing-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a pattern naming a shard that does not exist names that shard, not a missing edgelake.json', async () => {
    writeFileSync(join(dir, 'shard-000.tar'), Buffer.alloc(1024)); // an empty tar: two zero blocks
    await expect(openDataset(join(dir, 'shard-{000..001}.tar'))).rejects.toThrow(`${join(dir, 'shard-{000..001}.tar')}: ${dir}/shard-001.tar, a file the pattern names, does not exist`);
  });
});

describe.skipIf(missing('python3', 'apt-get install python3', hasCommand('python3')) || missing('nginx', 'apt-get install nginx', hasCommand('nginx')))('WebDataset shards written by Python, served by nginx', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgelake-wds-'));
  const idx = (file: string) => gunzipSync(readFileSync(join(SUBSET, file)));
  const labels = idx('train-labels-idx1-ubyte.gz').subarray(8);
  const pixels = idx('train-images-idx3-ubyte.gz').subarray(16);
  const shardBytes = () => expandShards(pattern).reduce((a, s) => a + statSync(join(dir, s)).size, 0);
  let nginx: RunningNginx;

  beforeAll(async () => {
    execFileSync('python3', ['scripts/webdataset-shards.py', join(SUBSET, 'train-images-idx3-ubyte.gz'), join(SUBSET, 'train-labels-idx1-ubyte.gz'), dir, 'fm', String(SHARDS)]);
    nginx = await startNginx(dir, { maxSeconds: 300 });
  }, 60_000);
  afterAll(async () => {
    await nginx?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('Python\'s tar members are what tar lists', () => {
    const shard = readFileSync(join(dir, 'fm-000.tar'));
    const listed = execFileSync('tar', ['tf', join(dir, 'fm-000.tar')], { encoding: 'utf8' }).trim().split('\n');
    expect([...tarMembers(shard)].map((m) => m.name)).toEqual(listed);
    const damaged = Uint8Array.from(shard);
    const second = [...tarMembers(shard)][1].headerOffset;
    damaged[second + 10] ^= 1;
    expect(() => [...tarMembers(damaged, 'fm-000.tar')]).toThrow(`fm-000.tar: the tar header at byte ${second} has a wrong checksum`);
  });

  it('without an index: the shards are read whole, once, and the dataset opens', async () => {
    const ds = await openDataset(`${nginx.url}/${pattern}`);
    expect([ds.length, ds.tensor('png').shape, ds.tensor('cls').htype]).toEqual([labels.length, [28, 28, 3], 'class_label']);
    expect(ds.network.bytes).toBe(shardBytes());
  });

  it('edgelake index of shards on a read-only web server says how to put the index up another way', async () => {
    const r = await cli('index', `${nginx.url}/${pattern}`);
    expect([r.code, r.stderr]).toEqual([1, expect.stringMatching(/fm\.edgelake-index\.json\.gz: PUT answered 405; write the index with --out FILE and upload it beside the files\n$/)]);
    expect(r.stderr).not.toContain('<html>');
  });

  it('edgelake index writes the index beside the shards; an epoch through the loader yields every sample once, with its label and pixels', async () => {
    const r = await cli('index', join(dir, pattern), '--json');
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as { samples: number; indexBytes: number; bytes: number };
    expect([summary.samples, summary.bytes]).toEqual([labels.length, shardBytes()]);
    console.log(`webdataset: ${SHARDS} shards, ${summary.bytes} bytes; index ${summary.indexBytes} bytes (${((100 * summary.indexBytes) / summary.bytes).toFixed(2)}%)`);

    const ds = await openDataset(`${nginx.url}/${pattern}`, { cache: new ChunkCache(new MemoryChunkStore(), { budgetBytes: 1 << 30 }) });
    const seen = new Uint8Array(ds.length);
    for await (const b of new Loader(ds.view(), { batchSize: 500, shuffle: { seed: 3, windowChunks: 4 }, tensors: ['png', 'cls'] })) {
      const [image, cls] = [b.tensors.png as Uint8Array, b.tensors.cls as Int32Array];
      b.ids.forEach((id, i) => {
        seen[id]++;
        expect(cls[i]).toBe(labels[id]);
        for (const p of [0, 300, 783]) expect(image[(i * 784 + p) * 3]).toBe(pixels[id * 784 + p]); // gray PNG, decoded to RGB
      });
    }
    expect(seen.every((n) => n === 1)).toBe(true);
    // What was fetched: the index, then each shard span once.
    expect(ds.network.bytes).toBeLessThan(shardBytes() + summary.indexBytes);
  });

  it('reading 1% of the samples at random fetches a small part of the shards: the index, then one range read per sample', async () => {
    await nginx.accessLog(); // (the log so far: earlier tests)
    const before = (await nginx.accessLog()).split('\n').filter(Boolean).length;
    const ds = await openDataset(`${nginx.url}/${pattern}`);
    const view = ds.view();
    const picked = Array.from({ length: Math.ceil(ds.length / 100) }, (_, k) => (k * 7919) % ds.length);
    for (const id of picked) expect((await view.get(id, ['png', 'cls'])).cls[0]).toBe(labels[id]);
    const lines = (await nginx.accessLog()).split('\n').filter(Boolean).slice(before);
    const sent = lines.reduce((a, l) => a + Number(/" \d{3} (\d+) /.exec(l)?.[1] ?? 0), 0);
    const share = sent / shardBytes();
    console.log(`webdataset: ${picked.length} random samples (1%): ${lines.length} requests, ${sent} bytes = ${(100 * share).toFixed(2)}% of the shards' bytes, index included`);
    expect(lines.length).toBe(1 + SHARDS + picked.length); // the index, a probe of each shard's length, then one range read of each sample's image (labels live in the index)
    expect(share).toBeLessThan(0.03);
  });

  it('edgelake build native writes it as a native dataset (the same chunks), then adds a PCA probe as a new version', async () => {
    const out = join(dir, 'native');
    const r = await cli('build', 'native', `${nginx.url}/${pattern}`, '--out', out, '--embedding-dims', '8', '--json');
    expect(r.code, r.stderr).toBe(0);
    const [shards, native] = [await openDataset(`${nginx.url}/${pattern}`), await openDataset(out)];
    for (const name of ['png', 'cls']) expect(native.tensor(name).chunks).toEqual(shards.tensor(name).chunks); // every hash, so every cache entry, the same
    expect(native.tensor('embedding')).toMatchObject({ htype: 'embedding', dtype: 'int8', shape: [8] });
    expect(native.manifest.message).toBe('probe: a PCA of the images in 8 dimensions');
    const spec = readDataset(out);
    spec.verifyAll(); // the independent reader of FORMAT.md reads it whole
    expect(spec.manifest.parent).not.toBeNull();
    // With --created, building again gives the same versions, as every builder does.
    const again = async (to: string) => JSON.parse((await cli('build', 'native', `${nginx.url}/${pattern}`, '--out', to, '--embedding-dims', '8', '--created', '2026-12-07T00:00:00Z', '--json')).stdout).version;
    expect(await again(join(dir, 'native-a'))).toBe(await again(join(dir, 'native-b')));
  }, 60_000);

  it('a shard changed since it was indexed is named, never mixed with what was indexed', async () => {
    const shard = join(dir, 'fm-001.tar');
    const original = readFileSync(shard);
    const changed = Uint8Array.from(original);
    const member = [...tarMembers(original)].find((m) => m.name.endsWith('.png'))!;
    changed[member.dataOffset + member.size - 20] ^= 0xff; // inside the PNG's data
    writeFileSync(shard, changed);
    try {
      const ds = await openDataset(`${nginx.url}/${pattern}`, { retry: { retries: 0 } });
      const epoch = async () => {
        for await (const b of new Loader(ds.view(), { batchSize: 1000, tensors: ['png'] })) expect(b.ids.length).toBeGreaterThan(0);
      };
      await expect(epoch()).rejects.toThrow(/fm-001\.tar changed since it was indexed \(the member at byte \d+ differs\); run edgelake index again/);
    } finally {
      writeFileSync(shard, original);
    }
  });

  it('an index whose members lie outside their shard is refused by name, before any shard is read', async () => {
    const path = join(dir, 'fm.edgelake-index.json.gz');
    const original = readFileSync(path);
    const index = JSON.parse(gunzipSync(original).toString('utf8')) as { chunks: Record<string, { sizes?: number[] }> };
    const [hash, chunk] = Object.entries(index.chunks).find(([, c]) => c.sizes)!;
    chunk.sizes![0] = 1 << 30; // a member of a GiB
    writeFileSync(path, gzipSync(JSON.stringify(index)));
    try {
      await expect(openDataset(`${nginx.url}/${pattern}`)).rejects.toThrow(`chunk ${hash}: its members do not fit fm-`);
    } finally {
      writeFileSync(path, original);
    }
  });

  it('shards whose samples lack a member are refused by the sample', async () => {
    const odd = mkdtempSync(join(tmpdir(), 'edgelake-wds-odd-'));
    try {
      execFileSync('python3', ['-c', `import io, tarfile
with tarfile.open('${odd}/x-0.tar', 'w') as t:
    png = bytes.fromhex('89504e470d0a1a0a' + '00' * 16)
    for name, body in (('a.png', png), ('a.cls', b'1'), ('b.png', png)):
        i = tarfile.TarInfo(name); i.size = len(body); t.addfile(i, io.BytesIO(body))`]);
      const r = await cli('index', join(odd, 'x-{0..0}.tar'));
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('x-0.tar: sample b has png; the first sample has cls, png (every sample needs the same members)');
    } finally {
      rmSync(odd, { recursive: true, force: true });
    }
  });
});

describe.skipIf(missing('python3', 'apt-get install python3', hasCommand('python3')))('WebDataset shards as other writers name their members', () => {
  /** The tar Python's tarfile writes of `members`, in its default (pax) format: an independent writer. */
  const pythonTar = (members: [string, Uint8Array | string][]) => new Uint8Array(execFileSync('python3', ['-c', `import io, json, sys, tarfile
with tarfile.open(fileobj=sys.stdout.buffer, mode='w|') as t:
    for name, body in json.loads(sys.stdin.buffer.read()):
        i = tarfile.TarInfo(name); i.size = len(bytes.fromhex(body)); t.addfile(i, io.BytesIO(bytes.fromhex(body)))`], { input: JSON.stringify(members.map(([name, body]) => [name, Buffer.from(body).toString('hex')])) }));
  const labelsOf = (index: WebDatasetIndex, tensor: string) => index.manifest.tensors[tensor].chunks.flatMap((c) => (index.chunks[c.hash] as InlineChunk).values);

  it('non-ASCII names, in pax records whose lengths count bytes (Python\'s tarfile, tar --format=posix), are read whole', async () => {
    const names = ['grüße_0.cls', 'grüße_0.txt', 'café_1.cls', 'café_1.txt', 'plain_2.cls', 'plain_2.txt'];
    const shard = pythonTar(names.map((n) => [n, n.endsWith('.cls') ? n.at(-5)! : 'text']));
    expect([...tarMembers(shard)].map((m) => m.name)).toEqual(names);
    const index = await indexShards([{ name: 'utf8.tar', bytes: shard }], { name: 'utf8' });
    expect([index.manifest.length, Object.keys(index.manifest.tensors), labelsOf(index, 'cls')]).toEqual([3, ['cls', 'txt'], [0, 1, 2]]);

    const dir = mkdtempSync(join(tmpdir(), 'edgelake-wds-utf8-'));
    try {
      for (const n of names) writeFileSync(join(dir, n), 'x');
      const gnu = new Uint8Array(execFileSync('tar', ['--format=posix', '-cf', '-', '-C', dir, ...names]));
      expect([...tarMembers(gnu)].map((m) => m.name)).toEqual(names);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('hidden files (macOS ._x.cls AppleDouble files, .DS_Store) are not samples, as WebDataset skips them', async () => {
    const appleDouble = '\x00\x05\x16\x07Mac OS X';
    const shard = pythonTar([['shard/.DS_Store', 'Bud1'], ['shard/000.cls', '3'], ['shard/._000.cls', appleDouble], ['shard/000.txt', 'a'], ['shard/._000.txt', appleDouble], ['shard/001.cls', '5'], ['shard/001.txt', 'b']]);
    const index = await indexShards([{ name: 'macos.tar', bytes: shard }], { name: 'macos' });
    expect([index.manifest.length, Object.keys(index.manifest.tensors), labelsOf(index, 'cls')]).toEqual([2, ['cls', 'txt'], [3, 5]]);
  });

  it('a multi-part extension is one tensor typed by its last part: 000.seg.png is an image, 000.label.cls a class label', async () => {
    const png = encodePng({ width: 4, height: 3, colorType: 2, bitDepth: 8, samples: Uint16Array.from({ length: 36 }, (_, i) => i * 7) });
    const shard = pythonTar([['000.input.png', png], ['000.seg.png', png], ['000.label.cls', '7'], ['001.input.png', png], ['001.seg.png', png], ['001.label.cls', '8']]);
    const index = await indexShards([{ name: 'multi.tar', bytes: shard }], { name: 'multi' });
    for (const name of ['input.png', 'seg.png']) expect(index.manifest.tensors[name]).toMatchObject({ htype: 'image', dtype: 'uint8', shape: [3, 4, 3], sampleCompression: 'png' });
    expect(index.manifest.tensors['label.cls']).toMatchObject({ htype: 'class_label', dtype: 'int32' });
    expect(labelsOf(index, 'label.cls')).toEqual([7, 8]);
  });

  it('a .jpg member that is a PNG is read as one: every image decoded by its signature (FORMAT.md)', async () => {
    const rgba = Uint8Array.from({ length: 5 * 4 * 4 }, (_, i) => (i * 29) % 256);
    const jpeg = new Uint8Array(jpegJs.encode({ data: rgba, width: 5, height: 4 }, 90).data);
    const png = encodePng({ width: 3, height: 2, colorType: 2, bitDepth: 8, samples: Uint16Array.from({ length: 18 }, (_, i) => i * 13) });
    const shard = pythonTar([['0.jpg', jpeg], ['0.cls', '1'], ['1.jpg', png], ['1.cls', '2']]);
    const index = await indexShards([{ name: 'odd.tar', bytes: shard }], { name: 'odd' });
    expect(index.manifest.tensors.jpg).toMatchObject({ htype: 'image', sampleCompression: 'jpeg', shape: [null, null, 3] });
    const dir = mkdtempSync(join(tmpdir(), 'edgelake-wds-odd-'));
    try {
      writeFileSync(join(dir, 'odd-0.tar'), shard);
      const ds = await openDataset(join(dir, 'odd-{0..0}.tar'));
      const images = await Promise.all([0, 1].map(async (i) => (await ds.view().get(i, ['jpg'])).jpg));
      expect(images.map((image) => image.length)).toEqual([5 * 4 * 3, 3 * 2 * 3]);
      expect(Array.from(images[1])).toEqual(Array.from({ length: 18 }, (_, i) => i * 13));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('captions (.txt) are text a query compares and searches: edgelake query "... where contains(txt, \'dog\')"', async () => {
    const captions = ['a dog on grass', 'a cat', 'two dogs', 'Dog', 'un café crème'];
    const dir = mkdtempSync(join(tmpdir(), 'edgelake-wds-text-'));
    try {
      writeFileSync(join(dir, 'captions-0.tar'), pythonTar(captions.flatMap((text, i): [string, string][] => [[`${i}.txt`, text], [`${i}.cls`, String(i % 2)]])));
      expect((await cli('index', join(dir, 'captions-{0..0}.tar'))).code).toBe(0);
      const ids = async (text: string) => {
        const r = await cli('query', join(dir, 'captions-{0..0}.tar'), text, '--json');
        expect(r.code, r.stderr).toBe(0);
        return (JSON.parse(r.stdout) as { ids: number[] }).ids;
      };
      expect(await ids("select * where contains(txt, 'dog')")).toEqual([0, 2]);
      expect(await ids("select * where txt in ('Dog', 'un café crème') or txt == 'a cat' and cls == 1")).toEqual([1, 3, 4]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
