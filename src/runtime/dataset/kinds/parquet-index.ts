import type { AsyncBuffer, FileMetaData } from 'hyparquet';
import { EdgelakeError } from '../../../errors.js';
import { encodeChunk } from '../../../format/chunk.js';
import { sniffImageType } from '../../../format/image/image.js';
import { decodeIndexFile, encodeIndexFile } from '../../../format/index-file.js';
import { DEFAULT_LIMITS } from '../../../format/limits.js';
import { FORMAT_VERSION, type ChunkRef, type Manifest, type TensorMeta } from '../../../format/manifest.js';
import { NAME, validateManifest } from '../../../format/validate.js';
import { splitsOfFiles } from '../../../format/webdataset/shards.js';
import { storedSize, type IndexInput } from '../../../format/webdataset/wds-index.js';
import { columnPages, columnSchema, pageSpan, spanFits, type ColumnSchema, type PageSpan, type ParquetModule } from './parquet-pages.js';

export const PARQUET_INDEX_FORMAT = 'edgelake-parquet-index/2';

/** Rows [rowStart, rowStart + rows) of one column of one file: a chunk, read from the pages that hold them. */
export interface ParquetChunk extends PageSpan {
  file: number;
  column: string;
  rowStart: number;
  rows: number;
}

/** A chunk of a number tensor, kept in the index itself: a number is 4 bytes, cheaper than a page read. */
export interface ParquetValues {
  values: IndexNumber[];
}

/** A value in the index: JSON has no NaN, ±Infinity or -0, so those floats are kept as the strings Number() reads back exactly. */
export type IndexNumber = number | 'NaN' | 'Infinity' | '-Infinity' | '-0';

const SPECIAL_FLOATS: ReadonlySet<unknown> = new Set(['NaN', 'Infinity', '-Infinity', '-0']);

function indexNumber(n: number): IndexNumber {
  return Object.is(n, -0) ? '-0' : Number.isFinite(n) ? n : (String(n) as IndexNumber);
}

/** What to say when a column cannot be read: how to leave it out. */
const NAME_COLUMNS = "name the columns to read: edgelake index --columns A,B, or openDataset's columns option";

/**
 * The tensor a column is read as: its own name where that is a tensor name, else each character a
 * tensor name cannot hold an underscore (`class name` is class_name), cut to 100 characters.
 */
export function tensorNameOf(column: string): string {
  return NAME.test(column) ? column : column.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100) || '_';
}

/** A column's name in a message: quoted where it holds spaces or other characters a tensor name cannot. */
const shown = (column: string) => (NAME.test(column) ? column : JSON.stringify(column));

/** What `edgelake index` writes beside Parquet files: the manifest and where each chunk's rows are. */
export interface ParquetIndex {
  format: typeof PARQUET_INDEX_FORMAT;
  name: string;
  /** `samples`, its rows, is absent from indexes written before subsets could be opened. */
  files: { name: string; bytes: number; samples?: number; validator?: { at: string; value: string } }[];
  /** How the pages of each column read from the files decode (its schema, root to payload leaf). */
  columns: Record<string, ColumnSchema>;
  manifest: Manifest;
  chunks: Record<string, ParquetChunk | ParquetValues>;
}

/** How a column's values become sample payloads. */
type ColumnKind = { kind: 'image'; type: 'png' | 'jpeg' } | { kind: 'int' } | { kind: 'float' } | { kind: 'text' };

/** Rows of a file's column as hyparquet gives them (objects, byte arrays kept as bytes). */
function readRows(hp: ParquetModule, file: AsyncBuffer, metadata: FileMetaData, column: string, rowStart: number, rowEnd: number): Promise<Record<string, unknown>[]> {
  return hp.parquetReadObjects({ file, metadata, columns: [column], rowStart, rowEnd, utf8: false, compressors: hp.compressors }) as Promise<Record<string, unknown>[]>;
}

/**
 * Indexes Parquet files (Hugging Face's layout: an image column of `{ bytes, path }` structs,
 * ClassLabel names in the `huggingface` key-value metadata), given whole and in order. Each
 * column (or each of `columns`) a tensor of that name: images (PNG or JPEG, decoded on read),
 * integers (class labels when the metadata names their classes), floats, strings. Chunks of images and strings are runs
 * of rows within a row group, about `chunkBytes` of payload each, with the page table of their
 * rows (the footer and offset index need not be read again); numbers are kept in the index.
 */
export async function indexParquet(hp: ParquetModule, files: AsyncIterable<IndexInput>, options: { name: string; columns?: string[]; chunkBytes?: number; created?: string }): Promise<ParquetIndex> {
  const chunkBytes = options.chunkBytes ?? 256 * 1024;
  const listed: ParquetIndex['files'] = [];
  const chunks: ParquetIndex['chunks'] = {};
  const schemas: ParquetIndex['columns'] = {};
  const tensors = new Map<string, { meta: Omit<TensorMeta, 'chunks'>; kind: ColumnKind; chunks: ChunkRef[]; size?: string; values: IndexNumber[] }>();
  let length = 0;
  const samples: { name: string; samples: number }[] = [];
  let agreed: string[] | undefined; // the columns of the files read so far, which all had the same
  const flushValues = async (t: { chunks: ChunkRef[]; values: IndexNumber[]; kind: ColumnKind }) => {
    if (!t.values.length) return;
    const { ref } = await encodeChunk(t.values.map((v) => payloadOf(t.kind, v, 'the index')), 'none');
    chunks[ref.hash] = { values: t.values };
    t.chunks.push(ref);
    t.values = [];
  };
  for await (const { name, bytes, validator } of files) {
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const metadata = hp.parquetMetadata(buffer);
    const file = listed.push({ name, bytes: bytes.length, ...(validator && { validator }) }) - 1;
    const features = huggingFaceFeatures(metadata);
    const schema = hp.parquetSchema(metadata).children;
    const names = schema.map((c) => c.element.name);
    const columns = options.columns ? [...new Set(options.columns)] : names;
    const unknown = columns.find((c) => !names.includes(c));
    if (unknown !== undefined) throw new EdgelakeError('invalid-input', `${name}: no column ${unknown} (its columns: ${names.join(', ')})`);
    tensorNames(columns, name);
    // Checked before any row is read: a tensor of a column some files lack would be short of samples.
    sameColumns((agreed ??= columns), columns, listed.slice(0, file).map((f) => f.name), name);
    let groupStart = 0;
    for (const [group, rowGroup] of metadata.row_groups.entries()) {
      const groupRows = Number(rowGroup.num_rows);
      for (const column of columns) {
        const rows = await readRows(hp, buffer, metadata, column, groupStart, groupStart + groupRows);
        refuseNulls(rows.map((r) => r[column]), groupStart, `${name}: column ${shown(column)}`);
        let t = tensors.get(column);
        if (!t) {
          const first = rows[0]?.[column];
          const kind = kindOf(first, schema.find((c) => c.element.name === column)?.element.type, `${name}: column ${column}`);
          t = { kind, meta: metaFor(kind, features[column]), chunks: [], values: [] };
          tensors.set(column, t);
        }
        if (t.kind.kind === 'int' || t.kind.kind === 'float') {
          for (const [i, row] of rows.entries()) {
            payloadOf(t.kind, row[column], `${name}: row ${groupStart + i}, column ${column}`); // refuses nulls, and integers beyond int32
            t.values.push(indexNumber(Number(row[column])));
            if (t.values.length * 4 >= chunkBytes) await flushValues(t);
          }
          continue;
        }
        schemas[column] ??= columnSchema(metadata.schema, column);
        const pages = columnPages(hp, bytes, metadata, group, groupStart, schemas[column].slice(1).map((e) => e.name));
        let run: Uint8Array[] = [];
        let runBytes = 0;
        let runStart = groupStart;
        const flush = async () => {
          if (!run.length) return;
          const { ref } = await encodeChunk(run, 'none');
          chunks[ref.hash] = { file, column, rowStart: runStart, rows: run.length, ...pageSpan(pages, runStart, runStart + run.length) };
          t.chunks.push(ref);
          runStart += run.length;
          [run, runBytes] = [[], 0];
        };
        for (const [i, row] of rows.entries()) {
          const payload = payloadOf(t.kind, row[column], `${name}: row ${groupStart + i}, column ${column}`);
          if (t.kind.kind === 'image') {
            const size = storedSize(payload, sniffImageType(payload)!); // each image as what it is (payloadOf checked it is one)
            t.size = t.size === undefined || t.size === size ? size : ''; // '' once sizes differ
          }
          run.push(payload);
          runBytes += payload.length;
          if (runBytes >= chunkBytes) await flush();
        }
        await flush();
      }
      groupStart += groupRows;
    }
    length += groupStart;
    listed[file].samples = groupStart;
    samples.push({ name, samples: groupStart });
  }
  for (const t of tensors.values()) await flushValues(t);
  if (!tensors.size) throw new EdgelakeError('invalid-input', `${listed.map((f) => f.name).join(', ') || 'no files'}: no rows`);
  const renamed = [...tensors.keys()].filter((c) => tensorNameOf(c) !== c).map((c) => `column ${shown(c)} is tensor ${tensorNameOf(c)}`);
  const manifest: Manifest = {
    format: FORMAT_VERSION, parent: null, message: `Parquet: ${listed.length} files${renamed.length ? `; ${renamed.join(', ')}` : ''}`, created: options.created ?? new Date().toISOString(), length, splits: splitsOfFiles(samples),
    tensors: Object.fromEntries([...tensors].map(([name, t]) => [tensorNameOf(name), { ...t.meta, ...(t.size && { shape: [...t.size.split('x').map(Number), 3] }), chunks: t.chunks }])),
  };
  validateManifest(manifest, `the index of ${listed.length} Parquet files`, DEFAULT_LIMITS);
  return { format: PARQUET_INDEX_FORMAT, name: options.name, files: listed, columns: schemas, manifest, chunks };
}

/**
 * Refuses a column's nulls all at once, counted and named: a sample needs a value, and a class label
 * tensor has no "unlabelled" value (FORMAT.md: labels 0..n-1 with class names).
 */
function refuseNulls(values: unknown[], rowStart: number, where: string): void {
  const rows = values.flatMap((v, i) => (v === null || v === undefined ? [rowStart + i] : []));
  if (!rows.length) return;
  const named = `${rows.slice(0, 5).join(', ')}${rows.length > 5 ? ` and ${rows.length - 5} more` : ''}`;
  const among = rowStart ? ` of rows ${rowStart} to ${rowStart + values.length - 1}` : '';
  throw new EdgelakeError('invalid-input', `${where} has ${rows.length} null${rows.length === 1 ? '' : 's'} (row${rows.length === 1 ? '' : 's'} ${named}${among}, counted from 0): every sample needs a value: fill in the values, drop those rows, or leave the column out (${NAME_COLUMNS})`);
}

/** Refuses two of a file's `columns` that would be read as one tensor name. */
function tensorNames(columns: string[], file: string): void {
  const seen = new Map<string, string>();
  for (const column of columns) {
    const other = seen.get(tensorNameOf(column));
    if (other !== undefined) throw new EdgelakeError('invalid-input', `${file}: columns ${shown(other)} and ${shown(column)} would both be tensor ${tensorNameOf(column)} (${NAME_COLUMNS})`);
    seen.set(tensorNameOf(column), column);
  }
}

/** Refuses file `name`'s `columns` where they differ from `agreed`, the columns of every file `before` it. */
function sameColumns(agreed: string[], columns: string[], before: string[], name: string): void {
  const odd = columns.find((c) => !agreed.includes(c)) ?? agreed.find((c) => !columns.includes(c));
  if (odd === undefined) return;
  const [have, lack] = columns.includes(odd) ? [[name], before] : [before, [name]];
  const common = agreed.filter((c) => columns.includes(c)).join(',') || 'A,B';
  throw new EdgelakeError('invalid-input', `column ${shown(odd)} is in ${few(have)} but not in ${few(lack)} (name the columns every file has: edgelake index --columns ${common}, or openDataset's columns option)`);
}

/** Up to 3 file names, and how many more. */
function few(names: string[]): string {
  return `${names.slice(0, 3).join(', ')}${names.length > 3 ? ` and ${names.length - 3} more` : ''}`;
}

/** The payloads of an inline chunk of a number tensor. */
export function valuesChunk(chunk: ParquetValues, tensor: TensorMeta): Uint8Array[] {
  const kind = kindOfMeta(tensor);
  return chunk.values.map((v) => payloadOf(kind, v, 'the index'));
}

/** The payloads of file rows from `rowStart` of a chunk's tensor, from its column's values (as readSpanRows gives them). */
export function rowPayloads(tensor: TensorMeta, values: unknown[], rowStart: number, where: string): Uint8Array[] {
  const kind = kindOfMeta(tensor);
  return values.map((v, i) => payloadOf(kind, v, `${where}: row ${rowStart + i}`));
}

export function encodeParquetIndex(index: ParquetIndex): Uint8Array {
  return encodeIndexFile(index);
}

export function decodeParquetIndex(bytes: Uint8Array, where: string): ParquetIndex {
  const index = decodeIndexFile(bytes, where) as ParquetIndex;
  if (index?.format !== PARQUET_INDEX_FORMAT || !Array.isArray(index.files) || typeof index.chunks !== 'object' || index.chunks === null) {
    throw new EdgelakeError('invalid-manifest', `${where}: not an ${PARQUET_INDEX_FORMAT} index (run edgelake index again)`);
  }
  validateManifest(index.manifest, where, DEFAULT_LIMITS);
  for (const t of Object.values(index.manifest.tensors)) {
    for (const ref of t.chunks) {
      const c = Object.hasOwn(index.chunks, ref.hash) ? index.chunks[ref.hash] : undefined;
      if (!c || ('values' in c ? !Array.isArray(c.values) || c.values.length !== ref.samples || !c.values.every((v) => typeof v === 'number' || SPECIAL_FLOATS.has(v)) : !index.files[c.file] || c.rows !== ref.samples || !Object.hasOwn(index.columns ?? {}, c.column))) {
        throw new EdgelakeError('invalid-manifest', `${where}: chunk ${ref.hash} has no matching entry in the index`);
      }
      if (!('values' in c) && !spanFits(c, index.files[c.file].bytes, c.rowStart, c.rows)) {
        throw new EdgelakeError('invalid-manifest', `${where}: chunk ${ref.hash}: its page table does not fit ${index.files[c.file].name} (pages outside its ${index.files[c.file].bytes} bytes, or not holding rows ${c.rowStart}..${c.rowStart + c.rows - 1})`);
      }
    }
  }
  return index;
}

/** Hugging Face's features (`datasets` writes them into the file's key-value metadata). */
function huggingFaceFeatures(metadata: FileMetaData): Record<string, { _type?: string; names?: string[] }> {
  const text = metadata.key_value_metadata?.find((kv) => kv.key === 'huggingface')?.value;
  try {
    return (text ? (JSON.parse(text) as { info?: { features?: Record<string, { _type?: string; names?: string[] }> } }).info?.features : undefined) ?? {};
  } catch {
    return {}; // metadata that is not JSON names no classes
  }
}

/** A column's kind from its first value, and its physical type (a DOUBLE column's 0 is a float). */
function kindOf(value: unknown, type: string | undefined, where: string): ColumnKind {
  const bytes = imageBytes(value);
  if (bytes) {
    const type = sniffImageType(bytes);
    if (!type) throw new EdgelakeError('invalid-input', `${where}: bytes that are neither PNG nor JPEG`);
    return { kind: 'image', type };
  }
  if (typeof value === 'number' && (type === 'FLOAT' || type === 'DOUBLE')) return { kind: 'float' };
  if (typeof value === 'bigint' || (typeof value === 'number' && Number.isInteger(value)) || typeof value === 'boolean') return { kind: 'int' };
  if (typeof value === 'number') return { kind: 'float' };
  if (typeof value === 'string') return { kind: 'text' };
  throw new EdgelakeError('invalid-input', `${where}: values like ${String(value).slice(0, 40)} are not images, numbers or strings (${NAME_COLUMNS})`);
}

function kindOfMeta(t: TensorMeta): ColumnKind {
  if (t.htype === 'image') return { kind: 'image', type: t.sampleCompression as 'png' | 'jpeg' };
  return t.dtype === 'int32' ? { kind: 'int' } : t.dtype === 'float32' ? { kind: 'float' } : { kind: 'text' };
}

function metaFor(kind: ColumnKind, feature: { _type?: string; names?: string[] } | undefined): Omit<TensorMeta, 'chunks'> {
  const plain = { sampleCompression: 'none', chunkCompression: 'none', shape: [] as number[] } as const;
  if (kind.kind === 'image') return { htype: 'image', dtype: 'uint8', shape: [null, null, 3], layout: 'HWC', sampleCompression: kind.type, chunkCompression: 'none' };
  if (kind.kind === 'int') return feature?._type === 'ClassLabel' && feature.names ? { htype: 'class_label', dtype: 'int32', classNames: feature.names, ...plain } : { htype: 'generic', dtype: 'int32', ...plain };
  if (kind.kind === 'float') return { htype: 'generic', dtype: 'float32', ...plain };
  return { htype: 'text', dtype: 'bytes', ...plain };
}

/** An image column's bytes: a `{ bytes, path }` struct (Hugging Face's Image feature) or plain bytes. */
function imageBytes(value: unknown): Uint8Array | undefined {
  if (value instanceof Uint8Array) return sniffImageType(value) ? value : undefined;
  const bytes = (value as { bytes?: unknown } | null)?.bytes;
  return bytes instanceof Uint8Array ? bytes : undefined;
}

function payloadOf(kind: ColumnKind, value: unknown, where: string): Uint8Array {
  if (value === null || value === undefined) throw new EdgelakeError('invalid-input', `${where}: a null value (every sample needs one; to leave the column out, ${NAME_COLUMNS})`);
  const out = new Uint8Array(4);
  const view = new DataView(out.buffer);
  switch (kind.kind) {
    case 'image': {
      const bytes = imageBytes(value);
      // Either kind: readers decode each image by its signature (FORMAT.md); the column's first names the tensor's.
      if (!bytes || !sniffImageType(bytes)) throw new EdgelakeError('invalid-input', `${where}: neither a JPEG nor a PNG image`);
      return bytes;
    }
    case 'int': {
      const n = Number(value);
      if (!Number.isInteger(n) || n < -(2 ** 31) || n >= 2 ** 31) throw new EdgelakeError('invalid-input', `${where}: ${String(value)} does not fit int32`);
      view.setInt32(0, n, true);
      return out;
    }
    case 'float':
      view.setFloat32(0, Number(value), true);
      return out;
    case 'text':
      return typeof value === 'string' ? new TextEncoder().encode(value) : value instanceof Uint8Array ? value : new TextEncoder().encode(String(value));
  }
}
