// A tensor's header index: a view that reads parts of many uncompressed chunks learns where its
// samples lie from one file, not from one header request per chunk, and reads right without it.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { chunkPath, commitVersion, MemorySink, TensorWriter, versionPath, type Manifest, type TensorSpec } from '../../../src/format/index.js';
import { Loader, materialize, MemorySource, openDataset } from '../../../src/index.js';
import { HeaderIndex, REQUEST_COST_BYTES } from '../../../src/runtime/dataset/header-index.js';
import { convertToNative } from '../../../src/runtime/convert.js';

const KIB = 1024;
const spec: TensorSpec = { htype: 'generic', dtype: 'uint8', shape: [null], sampleCompression: 'none', chunkCompression: 'none' };
/** 48 samples of 64 KiB (x) and 32 KiB (y) of seeded bytes, 4 to a chunk: 12 chunks a tensor. */
function sample(i: number, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let j = 0; j < size; j++) bytes[j] = (i * 131 + j * 7 + (j >> 9) + size) & 255;
  return bytes;
}

async function files(): Promise<{ files: Map<string, Uint8Array>; manifest: Manifest }> {
  const sink = new MemorySink();
  const tensors: Manifest['tensors'] = {};
  for (const [name, size] of [['x', 64 * KIB], ['y', 32 * KIB]] as const) {
    const writer = new TensorWriter(sink, name, spec, 4 * size);
    for (let i = 0; i < 48; i++) await writer.append(sample(i, size));
    tensors[name] = await writer.finish();
  }
  const { manifest } = await commitVersion(sink, { length: 48, splits: {}, tensors }, { name: 'indexed', message: 'two tensors of 12 chunks', created: '2026-01-01T00:00:00Z' });
  return { files: sink.files, manifest };
}

/** The same files with the manifest edited (a new version, head moved to it). */
async function edited(source: Map<string, Uint8Array>, edit: (m: Manifest) => void): Promise<Map<string, Uint8Array>> {
  const copy = new MemorySink();
  for (const [path, bytes] of source) if (!path.startsWith('versions/') && path !== 'edgelake.json') await copy.write(path, bytes);
  const { manifest } = await openDataset(new MemorySource(source));
  const changed = structuredClone(manifest);
  edit(changed);
  await commitVersion(copy, { length: changed.length, splits: changed.splits, tensors: changed.tensors }, { name: 'indexed', message: 'edited', created: '2026-01-02T00:00:00Z' });
  return copy.files;
}

/** One sample of each chunk of `tensor` (the second), through the loader, checked against what was written. */
async function sparseEpoch(source: Map<string, Uint8Array>, tensor: 'x' | 'y') {
  const ds = await openDataset(new MemorySource(source));
  const ids = Array.from({ length: 12 }, (_, c) => 4 * c + 1);
  for await (const b of new Loader(ds.view({ indices: ids }), { batchSize: 6, tensors: [tensor] })) {
    const got = b.tensors[tensor] as Uint8Array[] | Uint8Array;
    b.ids.forEach((id, k) => {
      const bytes = Array.isArray(got) ? got[k] : got.subarray(k * (got.length / b.ids.length), (k + 1) * (got.length / b.ids.length));
      expect(Buffer.compare(bytes, sample(id, tensor === 'x' ? 64 * KIB : 32 * KIB)), `sample ${id}`).toBe(0);
    });
  }
  return ds.network;
}

describe("a tensor's header index", () => {
  it('is written for uncompressed tensors of several chunks: every chunk header, in chunk order', async () => {
    const { files: written, manifest } = await files();
    const x = manifest.tensors.x;
    expect(x.chunks).toHaveLength(12);
    const index = written.get(chunkPath(x.headers!.hash))!;
    const headers = x.chunks.map((c) => written.get(chunkPath(c.hash))!.subarray(0, 12 + 8 * c.samples + 4));
    expect(Buffer.compare(index, Buffer.concat(headers))).toBe(0);
    expect(x.headers!.bytes).toBe(index.length);
  });

  it('is not written where no reader reads ranges: DEFLATE chunks, a single chunk', async () => {
    const sink = new MemorySink();
    for (const [compression, chunkBytes] of [['deflate', 64 * KIB], ['none', 1 << 20]] as const) {
      const writer = new TensorWriter(sink, 'x', { ...spec, chunkCompression: compression }, chunkBytes);
      for (let i = 0; i < 8; i++) await writer.append(sample(i, 32 * KIB));
      expect((await writer.finish()).headers).toBeUndefined();
    }
  });

  it('lets a sparse view read 12 chunk headers in two requests, where without it each is a request', async () => {
    const { files: written } = await files();
    const indexed = await sparseEpoch(written, 'x');
    const unindexed = await sparseEpoch(await edited(written, (m) => delete m.tensors.x.headers), 'x');
    // Both read the 12 samples by ranges (one each, far apart). Headers: the first alone, then the
    // index (576 bytes, less than a request's worth) for the other 11; or 12 reads.
    expect(indexed.requests).toBe(unindexed.requests - 10);
  });

  it('reads right without it: an index missing from the store, or one whose headers are not these chunks\'', async () => {
    const { files: written, manifest } = await files();
    const missing = new Map(written);
    missing.delete(chunkPath(manifest.tensors.x.headers!.hash));
    await sparseEpoch(missing, 'x');
    // y's index is as long as x's (same samples a chunk), a valid file under its hash, and names other headers.
    const swapped = await edited(written, (m) => (m.tensors.x.headers = m.tensors.y.headers));
    const network = await sparseEpoch(swapped, 'x');
    expect(network.requests).toBeGreaterThanOrEqual(12 + 12); // each header read from its chunk
  });

  it('is written anew for a materialized view: its own chunks\' headers, never the parent\'s', async () => {
    const { files: written, manifest } = await files();
    const sink = new MemorySink();
    for (const [path, bytes] of written) await sink.write(path, bytes);
    const parent = await openDataset(new MemorySource(written));
    const { manifest: made } = await materialize(parent, Array.from({ length: 16 }, (_, i) => 3 * i), sink, { ref: 'every-third', created: '2026-01-03T00:00:00Z' });
    const x = made.tensors.x;
    expect(x.chunks.length).toBeGreaterThan(1);
    expect(x.headers!.hash).not.toBe(manifest.tensors.x.headers!.hash);
    const index = sink.files.get(chunkPath(x.headers!.hash))!;
    expect(Buffer.compare(index, Buffer.concat(x.chunks.map((c) => sink.files.get(chunkPath(c.hash))!.subarray(0, 12 + 8 * c.samples + 4))))).toBe(0);
  });

  it('is copied with the chunks when a dataset is written as a native one elsewhere (build native)', async () => {
    const { files: written, manifest } = await files();
    const copy = new MemorySink();
    await convertToNative(await openDataset(new MemorySource(written)), copy, { created: '2026-01-03T00:00:00Z' });
    for (const t of ['x', 'y']) expect(copy.files.get(chunkPath(manifest.tensors[t].headers!.hash))).toEqual(written.get(chunkPath(manifest.tensors[t].headers!.hash)));
  });

  it('is refused by a writer, and by a reader, when its size is not the sum of the header sizes', async () => {
    const { files: written, manifest } = await files();
    await expect(edited(written, (m) => (m.tensors.x.headers!.bytes += 1))).rejects.toThrow('tensors.x.headers.bytes is 577, but the headers of its 12 chunks make 576 bytes');
    // A manifest written by another tool, as it is.
    const bad = structuredClone(manifest);
    bad.tensors.x.headers!.bytes += 1;
    const bytes = new TextEncoder().encode(JSON.stringify(bad));
    const id = createHash('sha256').update(bytes).digest('hex');
    const source = new Map(written).set(versionPath(id), bytes).set('edgelake.json', new TextEncoder().encode(JSON.stringify({ format: 'edgelake/1', name: 'indexed', head: 'main', refs: { main: id } })));
    await expect(openDataset(new MemorySource(source))).rejects.toThrow('tensors.x.headers.bytes is 577, but the headers of its 12 chunks make 576 bytes');
  });

  it('is read once it costs no more than the header requests it saves; a large one only after enough of them', async () => {
    // Two chunks of 40,000 samples: a 640 KiB index, 2.5 requests' worth.
    const chunks = [0, 1].map((c) => ({ hash: String(c).repeat(64), bytes: 1 << 20, samples: 40_000, headerHash: 'e'.repeat(64) }));
    const bytes = chunks.reduce((a, c) => a + 12 + 8 * c.samples + 4, 0);
    expect(bytes).toBeGreaterThan(2 * REQUEST_COST_BYTES);
    const hash = 'f'.repeat(64);
    const source = new MemorySource(new Map([[chunkPath(hash), Uint8Array.from({ length: bytes }, (_, i) => i & 255)]]));
    let reads = 0;
    const counted = { ...source, location: source.location, read: (p: string, o?: object) => (reads++, source.read(p, o)), readRange: source.readRange.bind(source) };
    const index = new HeaderIndex(counted, { ...spec, chunks, headers: { hash, bytes } }, 64 << 20);
    // Read alone (the caller reads it from its chunk) while the requests so far cost less than the index.
    for (const c of [0, 1, 0]) expect(await index.header(c)).toBeUndefined(); // 0, 1 and 2 requests' worth paid
    expect(reads).toBe(0);
    const third = await index.header(1); // 3 requests' worth >= 2.5: read it
    expect(reads).toBe(1);
    expect(Buffer.compare(third!, Uint8Array.from({ length: 320_016 }, (_, i) => (320_016 + i) & 255))).toBe(0); // chunk 1's part
    expect(await index.header(0)).toHaveLength(320_016);
    expect(reads).toBe(1);
    // Past the reader's limit it is never read.
    expect(await new HeaderIndex(counted, { ...spec, chunks, headers: { hash, bytes } }, bytes - 1).header(0)).toBeUndefined();
    expect(reads).toBe(1);
  });
});
