import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deflateSync } from 'fflate';
import { crc32, readDataset, sha256hex } from './reader.js';
import {
  EXPECTED, bitwiseCrc32, encodeChunkBody, handmadeManifest, storeChunk, writeHandmadeDataset,
  writeVersion,
} from './fixture.js';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

let dir: string;
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'edgelake-spec-')); });
afterEach(() => { rmSync(dir, { recursive: true, force: true }); });

const chunkPath = (hash: string): string => join(dir, 'chunks', hash.slice(0, 2), hash);
const int32s = (b: Uint8Array): number[] =>
  Array.from(new Int32Array(b.slice().buffer));

/** Writes the hand-made dataset with its manifest changed by `edit`; returns the manifest. */
function writeEdited(edit: (m: Json) => void): Json {
  const m: Json = handmadeManifest(dir);
  edit(m);
  writeVersion(dir, m, EXPECTED.name);
  return m;
}

describe('crc32', () => {
  it('matches the IEEE check value in both implementations', () => {
    const v = new TextEncoder().encode('123456789');
    expect(crc32(v)).toBe(0xcbf43926);
    expect(bitwiseCrc32(v)).toBe(0xcbf43926);
    expect(crc32(new Uint8Array())).toBe(0);
  });
});

describe('spec reader on the hand-made dataset', () => {
  it('reads refs, manifest and every tensor back', () => {
    const versionId = writeHandmadeDataset(dir);
    const ds = readDataset(dir);
    expect(ds.versionId).toBe(versionId);
    expect(ds.refs).toEqual({ format: 'edgelake/1', name: 'handmade', head: 'main', refs: { main: versionId } });
    expect(ds.manifest.length).toBe(5);
    expect(ds.manifest.splits).toEqual(EXPECTED.splits);
    expect(ds.manifest.tensors.label.classNames).toEqual(EXPECTED.classNames);
    for (const [t, counts] of Object.entries(EXPECTED.chunkSamples)) {
      expect(ds.manifest.tensors[t].chunks.map((c) => c.samples)).toEqual(counts);
    }

    expect([...ds.readSamplePayloads('image')]).toEqual(EXPECTED.image);
    expect(ds.readTensorBytes('image')).toEqual(Uint8Array.from(EXPECTED.image.flatMap((a) => [...a])));
    expect(int32s(ds.readTensorBytes('label'))).toEqual(EXPECTED.label);
    const emb = [...ds.tensor('embedding').readSamplePayloads()].map((p) => Array.from(new Int8Array(p.slice().buffer)));
    expect(emb).toEqual(EXPECTED.embedding);
    expect(ds.tensor('embedding').info.quant).toEqual(EXPECTED.quant);
    ds.verifyAll();

    // Opening by ref name and by pinned versionId give the same version.
    expect(readDataset(dir, 'main').versionId).toBe(versionId);
    expect(readDataset(dir, versionId).versionId).toBe(versionId);
  });

  it('accepts an empty dataset with no chunks', () => {
    writeVersion(dir, { format: 'edgelake/1', parent: null, message: '', created: '2026-01-01T00:00:00.123Z',
      length: 0, splits: {}, tensors: { x: { htype: 'generic', dtype: 'float32', shape: [null],
        sampleCompression: 'none', chunkCompression: 'none', chunks: [] } } });
    expect(readDataset(dir).readTensorBytes('x').length).toBe(0);
  });
});

describe('spec reader refuses', () => {
  it('a tampered chunk byte (hash mismatch), naming the chunk file', () => {
    writeHandmadeDataset(dir);
    const h = readDataset(dir).manifest.tensors.label.chunks[0].hash;
    const b = readFileSync(chunkPath(h));
    b[b.length - 1] ^= 1;
    writeFileSync(chunkPath(h), b);
    expect(() => readDataset(dir).readTensorBytes('label')).toThrow(
      new RegExp(`chunks/${h.slice(0, 2)}/${h} .*tensor "label".*SHA-256`));
    expect(() => readDataset(dir).readTensorBytes('image')).not.toThrow();
  });

  it('a manifest renamed to a wrong hash', () => {
    const id = writeHandmadeDataset(dir);
    const wrong = 'f'.repeat(64);
    renameSync(join(dir, 'versions', `${id}.json`), join(dir, 'versions', `${wrong}.json`));
    const refs = JSON.parse(readFileSync(join(dir, 'edgelake.json'), 'utf8'));
    refs.refs.main = wrong;
    writeFileSync(join(dir, 'edgelake.json'), JSON.stringify(refs));
    expect(() => readDataset(dir)).toThrow(new RegExp(`versions/${wrong}\\.json.*SHA-256`));
  });

  it('chunk names that are not exactly 64 lowercase hex', () => {
    for (const bad of ['../' + 'a'.repeat(61), '../../edgelake.json', 'A'.repeat(64), 'a'.repeat(63),
      'a'.repeat(65), 'ab/' + 'a'.repeat(61)]) {
      writeEdited((m) => { m.tensors.image.chunks[0].hash = bad; });
      expect(() => readDataset(dir), bad).toThrow(/versions\/[0-9a-f]{64}\.json.*not 64 lowercase hex/);
    }
  });

  it('a bad crc32 in a chunk whose stored hash is right', () => {
    writeEdited((m) => {
      const payloads = EXPECTED.label.map((v) => Uint8Array.from(new Uint8Array(Int32Array.of(v).buffer)));
      m.tensors.label.chunks = [storeChunk(dir, payloads, 'none', { crcOverride: { 3: 0xdeadbeef } })];
    });
    const ds = readDataset(dir);
    const gen = ds.readSamplePayloads('label');
    for (let i = 0; i < 3; i++) expect(gen.next().done).toBe(false); // samples 0..2 are fine
    expect(() => gen.next()).toThrow(/chunks\/.*crc32 mismatch at sample 3/);
  });

  it('a truncated chunk file', () => {
    writeHandmadeDataset(dir);
    const h = readDataset(dir).manifest.tensors.image.chunks[1].hash;
    truncateSync(chunkPath(h), readFileSync(chunkPath(h)).length - 1);
    expect(() => readDataset(dir).readTensorBytes('image')).toThrow(new RegExp(`chunks/../${h}.*stored size`));
  });

  /** Stores raw bytes as image chunk 0 (with hash and bytes right), given the body they hold. */
  function putImageChunk0(stored: Uint8Array, body: Uint8Array, compression: 'none' | 'deflate'): void {
    const hash = sha256hex(stored);
    writeEdited((m) => {
      m.tensors.image.chunkCompression = compression;
      m.tensors.image.chunks[0] = { hash, bytes: stored.length, samples: 3, headerHash: sha256hex(body.subarray(0, 40)) };
    });
    mkdirSync(join(dir, 'chunks', hash.slice(0, 2)), { recursive: true });
    writeFileSync(chunkPath(hash), stored);
  }
  const fresh = (): void => { rmSync(dir, { recursive: true }); dir = mkdtempSync(join(tmpdir(), 'edgelake-spec-')); };

  it('a truncated body and a truncated DEFLATE stream, even with correct hashes', () => {
    const body = encodeChunkBody(EXPECTED.image.slice(0, 3));
    putImageChunk0(deflateSync(body.subarray(0, body.length - 1)), body, 'deflate');
    expect(() => readDataset(dir).readTensorBytes('image')).toThrow(/payload area ends at/);
    fresh();
    const full = deflateSync(body);
    putImageChunk0(full.subarray(0, full.length - 2), body, 'deflate');
    expect(() => readDataset(dir).readTensorBytes('image')).toThrow(/DEFLATE/);
    fresh();
    putImageChunk0(body.subarray(0, 30), body, 'none'); // cut inside the header
    expect(() => readDataset(dir).readTensorBytes('image')).toThrow(/shorter than its header/);
  });

  it('wrong n, flags, magic, offsets, headerHash and sample size', () => {
    const cases: [(b: Uint8Array, dv: DataView) => void, RegExp][] = [
      [(_, dv) => dv.setUint32(4, 2, true), /n is 2/],
      [(b) => { b[8] = 1; }, /flags must be 0/],
      [(b) => { b[3] = 0x32; }, /bad magic/],
      [(_, dv) => dv.setUint32(12, 1, true), /offsets\[0\] must be 0/],
      [(_, dv) => { dv.setUint32(16, 9, true); dv.setUint32(20, 5, true); }, /offsets not monotone at sample 1/],
    ];
    for (const [mutate, re] of cases) {
      fresh();
      const body = encodeChunkBody(EXPECTED.image.slice(0, 3));
      mutate(body, new DataView(body.buffer));
      putImageChunk0(body, body, 'none');
      expect(() => readDataset(dir).readTensorBytes('image')).toThrow(re);
    }
    // A 3-byte image sample does not fit shape [2,2,1] uint8.
    fresh();
    writeEdited((m) => {
      m.tensors.image.chunks[0] = storeChunk(dir, [Uint8Array.of(1, 2, 3), ...EXPECTED.image.slice(1, 3)], 'deflate');
    });
    expect(() => readDataset(dir).readTensorBytes('image')).toThrow(/sample 0 is 3 bytes/);
    // headerHash mismatch.
    writeEdited((m) => { m.tensors.image.chunks[0].headerHash = '0'.repeat(64); });
    expect(() => readDataset(dir).readTensorBytes('image')).toThrow(/headerHash mismatch/);
  });

  it('bad manifests and refs', () => {
    const bad: [(m: Json) => void, RegExp][] = [
      [(m) => { m.length = 6; }, /chunk samples sum to 5, length is 6/],
      [(m) => { m.splits.test = [[3, 6]]; }, /split "test"/],
      [(m) => { m.tensors.image.sampleCompression = 'png'; }, /at most one/],
      [(m) => { m.tensors.image.dtype = 'float64'; }, /unknown dtype/],
      [(m) => { m.created = 'yesterday'; }, /created/],
      [(m) => { m.created = '2026-11-21T12:00:00+00:00'; }, /created/],
      [(m) => { m.created = '2026-02-29T12:00:00Z'; }, /created/],
      [(m) => { m.extra = 1; }, /unknown key "extra"/],
      [(m) => { m.tensors.label.chunks[0].extra = 1; }, /unknown key "extra"/],
      [(m) => { m.format = 'edgelake/2'; }, /format/],
      [(m) => { m.splits['a b'] = []; }, /split name "a b"/],
      [(m) => { m.tensors['a/b'] = m.tensors.label; }, /tensor name "a\/b"/],
      [(m) => { m.tensors.image.shape = [1, 1, 1, 1, 1, 1, 1, 1, 1]; }, /shape/],
      [(m) => { m.tensors.image.layout = 'HW'; }, /layout/],
      [(m) => { m.tensors.image.classNames = ['a']; }, /classNames only on class_label/],
      [(m) => { m.tensors.embedding.quant.scale = [0]; }, /quant.scale/],
      [(m) => { m.tensors.embedding.quant.zeroPoint = [128]; }, /quant.zeroPoint/],
      [(m) => { m.tensors.embedding.quant.scale = [1, 2]; }, /quant.scale/],
      [(m) => { Object.assign(m.tensors.label, { chunkCompression: 'none', sampleCompression: 'png' }); }, /png needs dtype uint8/],
      [(m) => { Object.assign(m.tensors.image, { chunkCompression: 'none', sampleCompression: 'png', shape: [28, 28, 1] }); }, /png images decode to RGB, so shape must be \[H, W, 3\]/],
      [(m) => { m.tensors.image.chunks[0].bytes = 2 ** 40; }, /more than the 268435456 allowed/],
      [(m) => { m.tensors.image.chunks.push({ ...m.tensors.image.chunks[0], samples: 0 }); }, /samples in \[1, 2\^32\)/],
    ];
    for (const [edit, re] of bad) {
      writeEdited(edit);
      expect(() => readDataset(dir), re.source).toThrow(re);
    }
    // Overlapping splits, samples in no split, a leap second and a long fraction are all fine.
    writeEdited((m) => { m.splits = { a: [[0, 4]], b: [[1, 2], [2, 3]] }; m.created = '2016-12-31T23:59:60.1234567891Z'; });
    expect(() => readDataset(dir)).not.toThrow();

    const id = writeHandmadeDataset(dir);
    const refsFile = join(dir, 'edgelake.json');
    const badRefs: [Json, RegExp][] = [
      [{ format: 'edgelake/1', name: 'x', head: 'main', refs: { 'bad name': id, main: id } }, /ref name/],
      [{ format: 'edgelake/1', name: 'x', head: 'other', refs: { main: id } }, /head "other" is not among refs/],
      [{ format: 'edgelake/1', name: 'x', head: 'main', refs: { main: id.toUpperCase() } }, /64-hex/],
      [{ format: 'edgelake/1', name: 'x'.repeat(201), head: 'main', refs: { main: id } }, /name/],
      [{ format: 'edgelake/1', name: 'x', head: 'main', refs: { main: id }, extra: 1 }, /unknown key "extra"/],
      [{ format: 'edgelake/1', name: 'x', head: 'main', refs: { main: id }, tags: { main: id } }, /"main" is both a ref and a tag/],
      [{ format: 'edgelake/1', name: 'x', head: 'main', refs: { main: id }, tags: { v1: 'abc' } }, /tag "v1" is not a 64-hex/],
      [{ format: 'edgelake/1', name: 'x', head: 'main', refs: { main: id }, tags: [] }, /tags must be an object/],
    ];
    for (const [refs, re] of badRefs) {
      writeFileSync(refsFile, JSON.stringify(refs));
      expect(() => readDataset(dir)).toThrow(new RegExp(`edgelake\\.json.*${re.source}`));
    }
    writeFileSync(refsFile, JSON.stringify({ format: 'edgelake/1', name: 'x', head: 'main', refs: { main: id }, tags: { 'v1.0': id } }));
    expect(readDataset(dir, 'v1.0').versionId).toBe(id); // a tag names a version as a ref does
    expect(() => readDataset(dir, 'constructor')).toThrow(/edgelake\.json: no ref named "constructor"/);
  });

  it('a chunk that inflates beyond the configured limit', () => {
    writeHandmadeDataset(dir);
    expect(() => readDataset(dir, undefined, { maxInflatedBytes: 30 }).readTensorBytes('image'))
      .toThrow(/inflated size exceeds limit 30/);
  });
});
