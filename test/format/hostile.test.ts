// Hostile datasets through the real path: built by the builder into a folder, tampered with on
// disk, then read with openVersion(new FileSource(dir)) + readChunk. Each must be refused with an
// EdgelakeError naming the file, never a crash, a hang or a big allocation.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { constants, createInflateRaw, deflateRawSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EdgelakeError, type ErrorCode, openVersion, readChunk, type ReadOptions, type Source } from '../../src/index.js';
import { FileSource, FolderSink } from '../../src/node.js';
import { commitVersion, type ReadLimits, TensorWriter } from '../../src/format/index.js';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
const MiB = 1 << 20;
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** A Source that records every path asked for, to prove what was (not) read. */
class Recording implements Source {
  readonly paths: string[] = [];
  constructor(readonly inner: Source) {}
  get location(): string { return this.inner.location; }
  read(path: string, options?: ReadOptions): Promise<Uint8Array> {
    this.paths.push(path);
    return this.inner.read(path, options);
  }
  readRange(path: string, offset: number, length: number, options?: ReadOptions): Promise<Uint8Array> {
    this.paths.push(path);
    return this.inner.readRange(path, offset, length, options);
  }
}

let dir: string;
let versionId: string;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgelake-hostile-'));
  versionId = await buildSmall(dir);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Six samples: `image` uint8 [2,2,1] (3 a chunk) and `text` uint8 [null], both chunk-DEFLATEd. */
async function buildSmall(root: string): Promise<string> {
  const sink = new FolderSink(root);
  const image = new TensorWriter(sink, 'image', {
    htype: 'image', dtype: 'uint8', shape: [2, 2, 1], layout: 'HWC', sampleCompression: 'none', chunkCompression: 'deflate',
  }, 12);
  const text = new TensorWriter(sink, 'text', {
    htype: 'text', dtype: 'uint8', shape: [null], sampleCompression: 'none', chunkCompression: 'deflate',
  }, 1 << 10);
  for (let i = 0; i < 6; i++) {
    await image.append(Uint8Array.of(i, i + 1, i + 2, i + 3));
    await text.append(new TextEncoder().encode(`sample ${i} `.repeat(i)));
  }
  const tensors = { image: await image.finish(), text: await text.finish() };
  const { versionId: id } = await commitVersion(sink, { length: 6, splits: { train: [[0, 4]], test: [[4, 6]] }, tensors }, {
    name: 'hostile', message: 'hostile fixture', created: '2026-01-01T00:00:00Z',
  });
  return id;
}

const file = (...p: string[]): string => join(dir, ...p);
const manifestFile = (id = versionId): string => file('versions', `${id}.json`);
const chunkFile = (hash: string): string => file('chunks', hash.slice(0, 2), hash);

/** Rewrites the manifest through `edit`, stores it under its new SHA-256 and points main at it. */
function editManifest(edit: (m: Json) => void): string {
  const m = JSON.parse(readFileSync(manifestFile(), 'utf8'));
  edit(m);
  return putManifest(new TextEncoder().encode(JSON.stringify(m)));
}
function putManifest(bytes: Uint8Array): string {
  const id = sha256(bytes);
  writeFileSync(manifestFile(id), bytes);
  const refs = JSON.parse(readFileSync(file('edgelake.json'), 'utf8'));
  refs.refs.main = id;
  writeFileSync(file('edgelake.json'), JSON.stringify(refs));
  return id;
}
/** Stores raw bytes as a chunk file named by their SHA-256; returns the hash. */
function putChunk(stored: Uint8Array): string {
  const hash = sha256(stored);
  mkdirSync(file('chunks', hash.slice(0, 2)), { recursive: true });
  writeFileSync(chunkFile(hash), stored);
  return hash;
}

/** Awaits a refusal: an EdgelakeError with `code` whose message matches every `mention`. */
async function refused(p: Promise<unknown>, code: ErrorCode, ...mentions: (string | RegExp)[]): Promise<EdgelakeError> {
  const e = await p.then(() => { throw new Error('expected a refusal, got a result'); }, (err: unknown) => err);
  expect(e).toBeInstanceOf(EdgelakeError);
  const err = e as EdgelakeError;
  expect(err.code, err.message).toBe(code);
  for (const m of mentions) expect(err.message).toMatch(m);
  return err;
}
const open = (limits?: Partial<ReadLimits>, source: Source = new FileSource(dir)) => openVersion(source, { limits });
const read = async (tensor: string, index: number, limits?: Partial<ReadLimits>) => readChunk(await open(limits), tensor, index);

/** 1 GiB of zeros as raw DEFLATE, about 1 MiB stored: 1024 byte-aligned flushed segments, then an empty final block. */
function deflateBomb(): Uint8Array {
  const segment = deflateRawSync(new Uint8Array(MiB), { level: 9, finishFlush: constants.Z_FULL_FLUSH });
  const out = new Uint8Array(segment.length * 1024 + 2);
  for (let i = 0; i < 1024; i++) out.set(segment, i * segment.length);
  out.set([0x03, 0x00], segment.length * 1024); // BFINAL=1, fixed Huffman, end of block
  return out;
}

describe('a deflate bomb is stopped long before it inflates', () => {
  // The inflate is synchronous, so a timer cannot sample during it; the kernel's peak RSS can. That
  // peak is the process's whole life: growth is counted from it when earlier work went higher than
  // the RSS now (garbage collected since), so only this read can raise it (the bomb is 1 GiB).
  const peakRss = () => process.resourceUsage().maxRSS * 1024;
  const rssNowOrPeak = () => Math.max(process.memoryUsage().rss, peakRss());

  it('for a fixed-shape tensor, at the exact body size the manifest implies', async () => {
    const bomb = deflateBomb();
    const hash = putChunk(bomb);
    editManifest((m) => { m.tensors.image.chunks[0] = { ...m.tensors.image.chunks[0], hash, bytes: bomb.length }; });
    const rssBefore = rssNowOrPeak();
    const err = await refused(read('image', 0), 'limit', 'tensor image', 'chunk 0', chunkFile(hash), /more than 52 bytes/);
    expect(peakRss() - rssBefore, err.message).toBeLessThan(64 * MiB); // measured: about 35 MiB
    expect(process.memoryUsage().arrayBuffers).toBeLessThan(64 * MiB);
  });

  it('for a variable-shape tensor, at maxInflatedBytes', async () => {
    const bomb = deflateBomb();
    const hash = putChunk(bomb);
    editManifest((m) => { m.tensors.text.chunks[0] = { ...m.tensors.text.chunks[0], hash, bytes: bomb.length }; });
    const rssBefore = rssNowOrPeak();
    await refused(read('text', 0, { maxInflatedBytes: MiB }), 'limit', 'tensor text', 'chunk 0', chunkFile(hash), /more than 1048576 bytes/);
    expect(peakRss() - rssBefore).toBeLessThan(64 * MiB);
    expect(process.memoryUsage().arrayBuffers).toBeLessThan(64 * MiB);
  });

  it('the bomb is real: streamed through zlib it inflates to 1 GiB', async () => {
    let total = 0;
    for await (const piece of Readable.from([deflateBomb()]).pipe(createInflateRaw())) total += (piece as Buffer).length;
    expect(total).toBe(1024 * MiB);
  });
});

describe('chunk names are checked before any path is built from them', () => {
  for (const bad of ['../../edgelake.json', `../${'a'.repeat(61)}`, `ab/${'a'.repeat(61)}`, 'A'.repeat(64), 'a'.repeat(63), `${'a'.repeat(64)}\n`, '']) {
    it(`refuses hash ${JSON.stringify(bad)} without reading it`, async () => {
      const id = editManifest((m) => { m.tensors.image.chunks[0].hash = bad; });
      const source = new Recording(new FileSource(dir));
      await refused(open({}, source), 'invalid-manifest', manifestFile(id), 'tensors.image.chunks[0].hash');
      expect(source.paths).toEqual(['edgelake.json', `versions/${id}.json`]);
    });
  }
});

describe('declared sizes beyond the limits are refused before any chunk is read', () => {
  const cases: [string, (m: Json) => void, string][] = [
    ['a stored chunk of 2^40 bytes', (m) => { m.tensors.image.chunks[0].bytes = 2 ** 40; }, 'tensors.image.chunks[0].bytes'],
    ['2^31 fixed-size samples in a chunk', (m) => { m.tensors.image.chunks[0].samples = 2 ** 31; }, 'tensors.image.chunks[0].samples'],
    ['2^28 variable-size samples, a 2 GiB header', (m) => { m.tensors.text.chunks[0].samples = 2 ** 28; }, 'tensors.text.chunks[0].samples'],
    ['a length of 2^40', (m) => { m.length = 2 ** 40; }, 'length'],
  ];
  for (const [what, edit, field] of cases) {
    it(what, async () => {
      const id = editManifest(edit);
      const source = new Recording(new FileSource(dir));
      await refused(open({}, source), 'limit', manifestFile(id), field);
      expect(source.paths.some((p) => p.startsWith('chunks/'))).toBe(false);
    });
  }
});

describe('damaged chunk files on disk', () => {
  const imageChunk0 = () => JSON.parse(readFileSync(manifestFile(), 'utf8')).tensors.image.chunks[0].hash as string;

  it('a truncated chunk', async () => {
    const hash = imageChunk0();
    truncateSync(chunkFile(hash), readFileSync(chunkFile(hash)).length - 1);
    await refused(read('image', 0), 'integrity', 'tensor image', 'chunk 0', chunkFile(hash), /truncated/);
  });

  it('a chunk with one flipped byte', async () => {
    const hash = imageChunk0();
    const bytes = readFileSync(chunkFile(hash));
    bytes[bytes.length >> 1] ^= 0x10;
    writeFileSync(chunkFile(hash), bytes);
    await refused(read('image', 0), 'integrity', 'tensor image', 'chunk 0', chunkFile(hash), /SHA-256/);
    await expect(read('image', 1)).resolves.toBeDefined(); // the other chunk still reads
  });

  it('a chunk padded with an extra byte', async () => {
    const hash = imageChunk0();
    writeFileSync(chunkFile(hash), Buffer.concat([readFileSync(chunkFile(hash)), Buffer.of(0)]));
    await refused(read('image', 0), 'integrity', 'tensor image', 'chunk 0', chunkFile(hash), /larger than/);
  });

  it('a chunk file that is missing', async () => {
    const hash = imageChunk0();
    rmSync(chunkFile(hash));
    await refused(read('image', 0), 'not-found', 'tensor image', 'chunk 0', chunkFile(hash));
  });
});

describe('damaged refs and manifests', () => {
  it('a manifest whose SHA-256 does not match its file name', async () => {
    writeFileSync(manifestFile(), readFileSync(manifestFile(), 'utf8').replace('hostile fixture', 'hostile fixturE'));
    await refused(open(), 'integrity', manifestFile(), /SHA-256/);
  });

  it('a refs file pointing to a missing version', async () => {
    const missing = 'b'.repeat(64);
    const refs = JSON.parse(readFileSync(file('edgelake.json'), 'utf8'));
    refs.refs.main = missing;
    writeFileSync(file('edgelake.json'), JSON.stringify(refs));
    await refused(open(), 'not-found', 'ref "main"', manifestFile(missing));
  });

  it('malformed JSON in the manifest and in edgelake.json', async () => {
    const id = putManifest(new TextEncoder().encode('{"format": "edgelake/1", '));
    await refused(open(), 'invalid-manifest', manifestFile(id), /JSON/);
    writeFileSync(file('edgelake.json'), '{"format": "edgelake/1"');
    await refused(open(), 'invalid-manifest', file('edgelake.json'), /JSON/);
  });

  it('a key twice in one object of a manifest or of edgelake.json (JSON.parse would keep the last)', async () => {
    const text = readFileSync(manifestFile(), 'utf8').replace(/"length": ?6/, '"length": 5, "length": 6');
    expect(text).toContain('"length": 5, "length": 6');
    const id = putManifest(new TextEncoder().encode(text));
    await refused(open(), 'invalid-manifest', manifestFile(id), /line \d+, column \d+: has the key "length" twice in one object/);
    writeFileSync(file('edgelake.json'), `{"format":"edgelake/1","name":"hostile","head":"main","refs":{"main":"${id}","main":"${versionId}"}}`);
    await refused(open(), 'invalid-manifest', file('edgelake.json'), /has the key "main" twice in one object/);
  });

  it('an edgelake.json that is another file: its bytes are not quoted', async () => {
    writeFileSync(file('edgelake.json'), 'root:x:0:0:root:/root:/bin/bash\n');
    const err = await refused(open(), 'invalid-manifest', file('edgelake.json'), /line 1, column 1: expected a value/);
    expect(err.message).not.toMatch(/root/);
  });

  it('a manifest of 100 MiB, refused by its size before it is parsed', async () => {
    const valid = readFileSync(manifestFile());
    const big = new Uint8Array(100 * MiB).fill(0x20); // valid JSON: the manifest, then spaces
    big.set(valid);
    const id = putManifest(big);
    const parse = vi.spyOn(JSON, 'parse');
    try {
      await refused(open(), 'limit', manifestFile(id), /over the limit of 67108864/);
      expect(parse).toHaveBeenCalledTimes(1); // edgelake.json only
    } finally {
      parse.mockRestore();
    }
  });
});
