// A Parquet sample is read from the pages holding its row, found in edgelake's index (made from
// the page headers): whatever the column's encoding (plain or dictionary), with or without an
// offset index in the file.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'fflate';
import { parquetMetadata } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterAll, describe, expect, it } from 'vitest';
import { encodePng } from '../../../format/image/png-encoder.js';
import { mulberry32 } from '../../../support/random.js';
import { Loader } from '../../../../src/index.js';
import { openDataset, openTransportNode, runCli } from '../../../../src/node.js';
import type { Source } from '../../../../src/source/source.js';
import { decodeParquetIndex } from '../../../../src/runtime/dataset/kinds/parquet-index.js';

const ROWS = 250;
const dir = mkdtempSync(join(tmpdir(), 'edgelake-parquet-pages-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Row r: a 6x5 gray PNG whose pixels are r + x + y, a word from a list of 7 (dictionary-encoded), and r / 4. */
const png = (r: number) => encodePng({ width: 6, height: 5, colorType: 0, bitDepth: 8, samples: Uint16Array.from({ length: 30 }, (_, k) => (r + (k % 6) + Math.floor(k / 6)) & 255), filter: () => 0 });
const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta'];

function write(name: string, options: { offsetIndex: boolean; codec?: 'GZIP' | 'ZSTD' }): string {
  const rows = Array.from({ length: ROWS }, (_, r) => r);
  const buffer = parquetWriteBuffer({
    columnData: [
      { name: 'image', data: rows.map((r) => ({ bytes: png(r), path: `row-${r}.png` })), offsetIndex: options.offsetIndex },
      { name: 'word', data: rows.map((r) => WORDS[r % WORDS.length]), encoding: 'RLE_DICTIONARY', offsetIndex: options.offsetIndex },
      { name: 'score', data: rows.map((r) => r / 4) },
    ],
    schema: [
      { name: 'schema', num_children: 3 },
      { name: 'image', repetition_type: 'OPTIONAL', num_children: 2 },
      { name: 'bytes', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL' },
      { name: 'path', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      { name: 'word', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
      { name: 'score', type: 'DOUBLE', repetition_type: 'REQUIRED' },
    ],
    rowGroupSize: 100,
    pageSize: 200,
    ...(options.codec && { codec: options.codec, compressors: { GZIP: (b: Uint8Array) => gzipSync(b), ZSTD: zstdStored } }),
  });
  writeFileSync(join(dir, name), new Uint8Array(buffer));
  return join(dir, name);
}

describe.each([true, false])('Parquet pages (offset index written: %s)', (offsetIndex) => {
  const file = write(`train-${offsetIndex ? 'paged' : 'plain'}.parquet`, { offsetIndex });
  const expectRow = (got: Record<string, ArrayLike<number>>, r: number) => {
    expectPixel(got, r);
    expect(new TextDecoder().decode(got.word as Uint8Array)).toBe(WORDS[r % WORDS.length]);
    expect(got.score[0]).toBe(r / 4);
  };

  it('reads any one sample from its pages alone, and every sample through the loader', async () => {
    const ds = await openDataset(file);
    const view = ds.view();
    for (const r of [0, 1, 99, 100, 173, ROWS - 1]) expectRow(await view.get(r), r);
    let seen = 0;
    for await (const b of new Loader(view, { batchSize: 64, tensors: ['word', 'score'] })) {
      b.ids.forEach((id, i) => expect((b.tensors.score as Float32Array)[i]).toBe(id / 4));
      seen += b.ids.length;
    }
    expect(seen).toBe(ROWS);
  });

  it('a sample costs the pages holding its row, not its row group', async () => {
    let read = 0;
    const ds = await openDataset(file, { openTransport: (root, o) => counting(root, o, (n) => (read += n)) });
    read = 0; // opening read the file whole, to index it (no index file beside it)
    await ds.view().get(173, ['image']);
    const groupBytes = readFileSync(file).length / 3;
    expect(read).toBeLessThan(groupBytes / 10); // the page table comes from the page headers, with or without an offset index
  });
});

it('a page changed since the index was made is named, never decoded; the other pages still read', async () => {
  const file = write('changed.parquet', { offsetIndex: true });
  expect(await runCli(['index', file])).toBe(0);
  const index = decodeParquetIndex(readFileSync(join(dir, 'changed.edgelake-index.json.gz')), 'index');
  expect(Object.values(index.chunks).filter((c) => 'pages' in c && c.column === 'word').every((c) => 'dictionary' in c)).toBe(true); // each read with its dictionary page
  const chunk = Object.values(index.chunks).find((c) => 'pages' in c && c.column === 'image' && c.rowStart === 100);
  if (!chunk || !('pages' in chunk)) throw new Error('no image chunk from row 100');
  const bytes = readFileSync(file);
  bytes[chunk.offset + chunk.pages[0] - 1] ^= 0xff; // the last byte of row 100's page
  const ds = await openDataset(file, { retry: { retries: 0 } }); // opened before the change: opening after it refuses the file
  writeFileSync(file, bytes);
  await expect(ds.view().get(100, ['image'])).rejects.toThrow(new RegExp(`changed\\.parquet changed since it was indexed \\(the page at byte ${chunk.offset} differs\\); run edgelake index again`));
  expectPixel(await ds.view().get(99, ['image']), 99);
  expectPixel(await ds.view().get(200, ['image']), 200);
});

it('a loader over a few samples of large chunks reads only the pages holding them', async () => {
  const random = mulberry32(7);
  const noise = Array.from({ length: 200 }, () => Uint16Array.from({ length: 64 * 64 }, () => Math.floor(random() * 256))); // ~4 KiB PNGs: 400 KiB a row group
  const file = join(dir, 'noise.parquet');
  writeFileSync(file, new Uint8Array(parquetWriteBuffer({
    columnData: [{ name: 'image', data: noise.map((samples) => encodePng({ width: 64, height: 64, colorType: 0, bitDepth: 8, samples, filter: () => 0 })) }],
    schema: [{ name: 'schema', num_children: 1 }, { name: 'image', type: 'BYTE_ARRAY', repetition_type: 'REQUIRED' }],
    rowGroupSize: 100,
    pageSize: 4096,
  })));
  expect(await runCli(['index', file, '--chunk-kib', '1024'])).toBe(0); // a chunk a row group
  let read = 0;
  const ds = await openDataset(file, { openTransport: (root, o) => counting(root, o, (n) => (read += n)) });
  read = 0;
  const ids = [30, 150];
  for await (const b of new Loader(ds.view({ indices: ids }), { batchSize: 2, tensors: ['image'] })) {
    b.ids.forEach((id, i) => expect((b.tensors.image as Uint8Array)[(i * 64 * 64 + 100) * 3]).toBe(noise[id][100]));
  }
  expect(read).toBeGreaterThan(2 * 4096);
  expect(read).toBeLessThan(readFileSync(file).length / 10); // 2 pages, not 2 row groups
});

it('an index whose page table points outside its file is refused by name, before any page is read', async () => {
  const file = write('tampered.parquet', { offsetIndex: true });
  expect(await runCli(['index', file])).toBe(0);
  const path = join(dir, 'tampered.edgelake-index.json.gz');
  const index = JSON.parse(new TextDecoder().decode(gunzipSync(readFileSync(path)))) as { chunks: Record<string, { pages?: number[] }> };
  const [hash, chunk] = Object.entries(index.chunks).find(([, c]) => c.pages)!;
  chunk.pages![0] = 1 << 30; // a page of a GiB, in a file of 27 kB
  writeFileSync(path, gzipSync(new TextEncoder().encode(JSON.stringify(index))));
  await expect(openDataset(file)).rejects.toThrow(`${path}: chunk ${hash}: its page table does not fit tampered.parquet`);
});

// Snappy is hyparquet's own; GZIP (fflate) and ZSTD (fzstd, Polars' default) are edgelake's to supply.
it.each(['GZIP', 'ZSTD'] as const)('reads %s-compressed pages, at indexing and a sample at a time', async (codec) => {
  const file = write(`codec-${codec}.parquet`, { offsetIndex: false, codec });
  const bytes = readFileSync(file);
  expect(parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)).row_groups[0].columns.map((c) => c.meta_data?.codec)).toEqual([codec, codec, codec, codec]);
  const ds = await openDataset(file);
  for (const r of [0, 137, ROWS - 1]) expectPixel(await ds.view().get(r, ['image']), r);
  expect(new TextDecoder().decode((await ds.view().get(201, ['word'])).word as Uint8Array)).toBe(WORDS[201 % WORDS.length]);
});

it('a top-level column named like a field of the image struct (path) reads as itself', async () => {
  const file = join(dir, 'path-column.parquet');
  const rows = [0, 1, 2, 3];
  writeFileSync(file, new Uint8Array(parquetWriteBuffer({
    columnData: [
      { name: 'image', data: rows.map((r) => ({ bytes: png(r), path: null })) },
      { name: 'path', data: rows.map((r) => `images/${r}.png`) },
    ],
    schema: [
      { name: 'schema', num_children: 2 },
      { name: 'image', repetition_type: 'OPTIONAL', num_children: 2 },
      { name: 'bytes', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL' },
      { name: 'path', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' }, // image.path: null here
      { name: 'path', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
    ],
  })));
  const view = (await openDataset(file)).view();
  for (const r of rows) {
    const got = await view.get(r, ['image', 'path']);
    expectPixel(got, r);
    expect(new TextDecoder().decode(got.path as Uint8Array)).toBe(`images/${r}.png`);
  }
});

it('NaN, ±Infinity and -0 in a float column survive the index file, bit for bit', async () => {
  const file = join(dir, 'specials.parquet');
  const score = [1.5, NaN, -0, Infinity, -Infinity, 0];
  writeFileSync(file, new Uint8Array(parquetWriteBuffer({ columnData: [{ name: 'score', data: score, type: 'DOUBLE' }] })));
  expect(await runCli(['index', file])).toBe(0);
  const ds = await openDataset(file);
  const got: number[] = [];
  for await (const b of new Loader(ds.view(), { batchSize: score.length, tensors: ['score'] })) got.push(...(b.tensors.score as Float32Array));
  expect(got.map((x, i) => Object.is(x, score[i]))).toEqual(score.map(() => true)); // Object.is tells -0 from 0, and NaN is NaN
  expect(Object.is((await ds.view().get(2, ['score'])).score[0], -0)).toBe(true);
});

it('a file with a column edgelake cannot read opens with the columns named, by option or by edgelake index --columns', async () => {
  const file = join(dir, 'timestamps.parquet');
  writeFileSync(file, new Uint8Array(parquetWriteBuffer({ columnData: [
    { name: 'label', data: [0n, 1n, 2n], type: 'INT64' },
    { name: 'created', data: [new Date(0), new Date(1), new Date(2)], type: 'TIMESTAMP' },
  ] })));
  await expect(openDataset(file)).rejects.toThrow(/column created: .* \(name the columns to read: edgelake index --columns A,B, or openDataset's columns option\)/);
  const named = await openDataset(file, { columns: ['label'] });
  expect([Object.keys(named.manifest.tensors), (await named.view().get(2, ['label'])).label[0]]).toEqual([['label'], 2]);
  await expect(openDataset(file, { columns: ['lable'] })).rejects.toThrow('timestamps.parquet: no column lable (its columns: label, created)');
  expect(await runCli(['index', file, '--columns', 'label'])).toBe(0);
  expect(Object.keys((await openDataset(file)).manifest.tensors)).toEqual(['label']); // the index remembers them
  await expect(openDataset(file, { columns: ['created'] })).rejects.toThrow(`${file}: its index has no column created (run edgelake index --columns created)`);
  const gaps = join(dir, 'gaps.parquet');
  writeFileSync(gaps, new Uint8Array(parquetWriteBuffer({ columnData: [{ name: 'label', data: [0, 1, 2], type: 'INT32' }, { name: 'score', data: [0.5, null, 1], type: 'DOUBLE' }] })));
  await expect(openDataset(gaps)).rejects.toThrow("gaps.parquet: column score has 1 null (row 1, counted from 0): every sample needs a value: fill in the values, drop those rows, or leave the column out (name the columns to read: edgelake index --columns A,B, or openDataset's columns option)");
  expect((await (await openDataset(gaps, { columns: ['label'] })).view().get(1, ['label'])).label[0]).toBe(1);
});

/**
 * A Zstandard frame (RFC 8878) of raw blocks, which every decoder reads: enough to write ZSTD pages
 * here, where Node 20 has no zstd encoder.
 */
function zstdStored(data: Uint8Array): Uint8Array {
  const MAX = 128 << 10;
  const out: number[] = [0x28, 0xb5, 0x2f, 0xfd, 0xa0]; // magic; single segment, a 4-byte content size
  for (let k = 0; k < 4; k++) out.push((data.length >>> (8 * k)) & 255);
  for (let at = 0; at < data.length || at === 0; at += MAX) {
    const block = data.subarray(at, at + MAX);
    const header = (block.length << 3) | (at + MAX >= data.length ? 1 : 0); // raw block; the last one says so
    out.push(header & 255, (header >>> 8) & 255, (header >>> 16) & 255, ...block);
    if (data.length === 0) break;
  }
  return Uint8Array.from(out);
}

/** Pixel (x 4, y 2) of row r's image, red channel. */
function expectPixel(got: Record<string, ArrayLike<number>>, r: number) {
  expect(got.image[3 * (2 * 6 + 4)]).toBe((r + 4 + 2) & 255);
}

/** The bare transport of `root`, adding the bytes of each read to `add`. */
function counting(root: string, options: object, add: (bytes: number) => void): Source {
  const s = openTransportNode(root, options);
  return {
    location: s.location,
    read: async (path, o) => {
      const b = await s.read(path, o);
      add(b.length);
      return b;
    },
    readRange: async (path, offset, length, o) => {
      const b = await s.readRange(path, offset, length, o);
      add(b.length);
      return b;
    },
  };
}
