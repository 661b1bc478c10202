import type { AsyncBuffer, CompressionCodec, Compressors, FileMetaData, SchemaElement } from 'hyparquet';
import { EdgelakeError, isEdgelakeError } from '../../../errors.js';
import { crc32 } from '../../../format/hash.js';
import { gunzipBounded } from '../../../format/inflate.js';
import { DEFAULT_LIMITS } from '../../../format/limits.js';

/*
 * A Parquet column read page by page, with the page table in edgelake's index (made from the page
 * headers when indexing) instead of the file's footer and offset index: a sample costs one range
 * read of the pages holding its row (plus the dictionary page of a dictionary-encoded column),
 * each page checked by its crc32.
 */

/**
 * hyparquet, its page header reader (a page table is made from page headers, not the optional
 * offset index) and the page codecs it lacks: GZIP by fflate, ZSTD (Polars' default) by fzstd.
 */
export type ParquetModule = typeof import('hyparquet') & { parquetHeader: typeof import('hyparquet/src/column.js').parquetHeader; compressors: Compressors };

/** Loads hyparquet and the codecs, only when Parquet files are read. */
export async function loadParquet(): Promise<ParquetModule> {
  const [hp, { parquetHeader }, zstd] = await Promise.all([import('hyparquet'), import('hyparquet/src/column.js'), import('fzstd')]);
  const bounded = (codec: string, size: number) => {
    if (size > DEFAULT_LIMITS.maxInflatedBytes) throw new EdgelakeError('limit', `a ${codec} page of ${size} bytes, over the limit of ${DEFAULT_LIMITS.maxInflatedBytes}`);
    return size;
  };
  const compressors: Compressors = {
    GZIP: (input, size) => gunzipBounded(input, bounded('GZIP', size), 'a GZIP page'),
    ZSTD: (input, size) => zstd.decompress(input, new Uint8Array(bounded('ZSTD', size))),
  };
  return { ...hp, parquetHeader, compressors };
}

/** A column's path from the schema's root to the leaf holding its payloads (an image struct's `bytes`), one element a level. */
export type ColumnSchema = SchemaElement[];

/** Where the rows of one column of one row group are: the pages of a chunk of them. */
export interface PageSpan {
  codec: CompressionCodec;
  /** The first page's offset in the file; the pages follow it back to back. */
  offset: number;
  /** The first page's first row (in the file). */
  pageRow: number;
  /** Per page: [bytes with its header, rows]. */
  pages: number[];
  /** Per page, the crc32 of those bytes: 8 hex digits each (a JSON number per crc32 costs 40% more once gzipped). */
  crcs: string;
  /** The column chunk's dictionary page, [offset, bytes, crc32], when its values are dictionary-encoded. */
  dictionary?: number[];
}

/** The root-to-leaf schema elements of column `column` (its `bytes` child for a struct), each keeping only that child. */
export function columnSchema(schema: SchemaElement[], column: string): ColumnSchema {
  const plain = (e: SchemaElement, children?: number): SchemaElement => {
    const { name, type, type_length, repetition_type, converted_type, logical_type } = e;
    const kept: SchemaElement = { name, type, type_length, repetition_type, converted_type, logical_type, num_children: children };
    return JSON.parse(JSON.stringify(kept)) as SchemaElement; // undefined fields dropped, as the index stores it
  };
  // Only the root's children: a struct's own fields (an image's `path`) may share a top-level column's name.
  const at = children(schema, 0).find((i) => schema[i].name === column);
  if (at === undefined) throw new EdgelakeError('invalid-input', `no column ${column}`);
  const top = schema[at];
  if (!top.num_children) return [plain(schema[0], 1), plain(top)];
  const leaf = children(schema, at).map((i) => schema[i]).find((e) => e.name === 'bytes' && !e.num_children);
  if (!leaf) throw new EdgelakeError('invalid-input', `column ${column}: a struct without a bytes field (only Hugging Face's {bytes, path} structs are read)`);
  return [plain(schema[0], 1), plain(top, 1), plain(leaf)];
}

/** The indices of element `parent`'s children in a flattened (depth-first) schema. */
function children(schema: SchemaElement[], parent: number): number[] {
  const after = (i: number): number => {
    let next = i + 1;
    for (let c = 0; c < (schema[i].num_children ?? 0) && next < schema.length; c++) next = after(next); // bounded by the schema: a file may lie
    return next;
  };
  const found: number[] = [];
  for (let [c, i] = [0, parent + 1]; c < (schema[parent].num_children ?? 0) && i < schema.length; c++, i = after(i)) found.push(i);
  return found;
}

/** A column chunk's pages, walked once when indexing: each data page's place, rows and crc32, and the dictionary page. */
export interface ColumnPages {
  codec: CompressionCodec;
  pages: { at: number; bytes: number; row: number; rows: number; crc: number }[];
  dictionary?: number[];
}

/**
 * The pages of leaf column `path` in row group `group` of a file (whole in `bytes`), whose first
 * row is `groupStart`, found by walking the column chunk's page headers (files need no offset index).
 */
export function columnPages(hp: ParquetModule, bytes: Uint8Array, metadata: FileMetaData, group: number, groupStart: number, path: string[]): ColumnPages {
  const meta = metadata.row_groups[group].columns.find((c) => c.meta_data?.path_in_schema.join('.') === path.join('.'))?.meta_data;
  if (!meta) throw new EdgelakeError('invalid-input', `row group ${group}: no column ${path.join('.')}`);
  const crcOf = (at: number, length: number) => crc32(bytes.subarray(at, at + length));
  const start = Number(meta.dictionary_page_offset || meta.data_page_offset);
  const end = start + Number(meta.total_compressed_size);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found: ColumnPages = { codec: meta.codec, pages: [] };
  for (let [at, row] = [start, groupStart]; at < end; ) {
    const reader = { view, offset: at };
    const header = hp.parquetHeader(reader);
    const size = reader.offset - at + header.compressed_page_size;
    if (header.type === 'DICTIONARY_PAGE') found.dictionary = [at, size, crcOf(at, size)];
    const rows = header.data_page_header?.num_values ?? header.data_page_header_v2?.num_rows ?? 0; // a leaf that is not repeated has a value a row
    if (rows) found.pages.push({ at, bytes: size, row, rows, crc: crcOf(at, size) });
    [at, row] = [at + size, row + rows];
  }
  return found;
}

/** The span of `column`'s pages that hold file rows [from, to): what the index keeps of a chunk. */
export function pageSpan(column: ColumnPages, from: number, to: number): PageSpan {
  const held = column.pages.filter((p) => p.row < to && p.row + p.rows > from);
  if (!held.length) throw new EdgelakeError('invalid-input', `no page holds rows ${from}..${to - 1}`);
  if (held.some((p, i) => i > 0 && p.at !== held[i - 1].at + held[i - 1].bytes)) throw new EdgelakeError('invalid-input', `the pages holding rows ${from}..${to - 1} are not back to back`);
  return {
    codec: column.codec, offset: held[0].at, pageRow: held[0].row,
    pages: held.flatMap((p) => [p.bytes, p.rows]), crcs: held.map((p) => hex(p.crc)).join(''),
    ...(column.dictionary && { dictionary: column.dictionary }),
  };
}

/** Whether an index's page span is well formed: its pages within a file of `fileBytes`, holding rows [rowStart, rowStart + rows). */
export function spanFits(span: PageSpan, fileBytes: number, rowStart: number, rows: number): boolean {
  const whole = (n: unknown, least = 0): n is number => Number.isSafeInteger(n) && (n as number) >= least;
  const { offset, pageRow, pages, crcs, dictionary } = span;
  if (!whole(offset) || !whole(pageRow) || !Array.isArray(pages) || pages.length < 2 || pages.length % 2 || typeof crcs !== 'string' || !/^[0-9a-f]*$/.test(crcs) || crcs.length !== 4 * pages.length) return false;
  let [bytes, held] = [0, 0];
  for (let p = 0; p < pages.length; p += 2) {
    if (!whole(pages[p], 1) || !whole(pages[p + 1], 1)) return false;
    [bytes, held] = [bytes + pages[p], held + pages[p + 1]];
  }
  const dictionaryFits = dictionary === undefined || (Array.isArray(dictionary) && dictionary.length === 3 && dictionary.every((n) => whole(n)) && dictionary[0] + dictionary[1] <= fileBytes);
  return typeof span.codec === 'string' && dictionaryFits && offset + bytes <= fileBytes && pageRow <= rowStart && pageRow + held >= rowStart + rows;
}

/**
 * The values of column `schema` for file rows [from, to) of `span`: one range read of the pages
 * holding them (and one of the dictionary page), each page checked against its crc32, decoded by
 * hyparquet as a file of one row group that holds just those pages.
 */
export async function readSpanRows(hp: ParquetModule, schema: ColumnSchema, span: PageSpan, from: number, to: number, read: (offset: number, length: number) => Promise<Uint8Array>, where: string): Promise<unknown[]> {
  let [offset, row, first, bytes, rows] = [span.offset, span.pageRow, -1, 0, 0]; // `first`: the first row read
  const pages: { at: number; bytes: number; crc: number }[] = [];
  for (let p = 0; p < span.pages.length / 2; p++) {
    const [size, count, crc] = [span.pages[2 * p], span.pages[2 * p + 1], parseInt(span.crcs.slice(8 * p, 8 * p + 8), 16)];
    if (row < to && row + count > from) {
      if (first < 0) first = row;
      pages.push({ at: offset, bytes: size, crc });
      [bytes, rows] = [bytes + size, rows + count];
    }
    [offset, row] = [offset + size, row + count];
  }
  if (!pages.length) throw new EdgelakeError('not-found', `rows [${from}, ${to}) are not in this page span`);
  const check = (got: Uint8Array, at: number, size: number, crc: number, whose: string) => {
    if (crc32(got.subarray(at, at + size)) !== crc) throw new EdgelakeError('integrity', `${where} changed since it was indexed (the ${whose} at byte ${pages[0].at + at} differs); run edgelake index again`);
  };
  const [dictionary, data] = await Promise.all([
    span.dictionary ? read(span.dictionary[0], span.dictionary[1]) : new Uint8Array(0),
    read(pages[0].at, bytes),
  ]);
  if (span.dictionary) check(dictionary, 0, span.dictionary[1], span.dictionary[2], 'dictionary page');
  for (const p of pages) check(data, p.at - pages[0].at, p.bytes, p.crc, 'page');
  // One byte first: hyparquet takes a dictionary page offset of 0 for none.
  const file = new Uint8Array(1 + dictionary.length + data.length);
  file.set(dictionary, 1);
  file.set(data, 1 + dictionary.length);
  const buffer: AsyncBuffer = { byteLength: file.length, slice: (a, b) => file.buffer.slice(a, b) };
  const leaf = schema.at(-1)!;
  const metadata: FileMetaData = {
    version: 2, schema, num_rows: BigInt(rows), metadata_length: 0,
    row_groups: [{
      num_rows: BigInt(rows), total_byte_size: BigInt(file.length - 1),
      columns: [{
        file_offset: 1n,
        meta_data: {
          type: leaf.type!, encodings: [], path_in_schema: schema.slice(1).map((e) => e.name), codec: span.codec,
          num_values: BigInt(rows), total_uncompressed_size: BigInt(file.length - 1), total_compressed_size: BigInt(file.length - 1),
          data_page_offset: BigInt(1 + dictionary.length), ...(span.dictionary && { dictionary_page_offset: 1n }),
        },
      }],
    }],
  };
  const column = schema[1].name;
  const objects = (await hp.parquetReadObjects({ file: buffer, metadata, columns: [column], utf8: false, compressors: hp.compressors }).catch((e: unknown) => {
    throw isEdgelakeError(e) ? e : new EdgelakeError('invalid-chunk', `${where}: rows ${from}..${to - 1} of column ${column}: ${(e as Error).message}`, { cause: e });
  })) as Record<string, unknown>[];
  return objects.slice(from - first, to - first).map((r) => r[column]);
}

function hex(crc: number): string {
  return crc.toString(16).padStart(8, '0');
}
