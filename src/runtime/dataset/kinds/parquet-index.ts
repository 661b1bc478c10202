import type { AsyncBuffer, FileMetaData } from 'hyparquet';
import { EdgelakeError } from '../../../errors.js';
import { encodeChunk } from '../../../format/chunk.js';
import { crc32 } from '../../../format/hash.js';
import { sniffImageType } from '../../../format/image/image.js';
import { decodeIndexFile, encodeIndexFile } from '../../../format/index-file.js';
import { DEFAULT_LIMITS } from '../../../format/limits.js';
import { FORMAT_VERSION, type ChunkRef, type Manifest, type TensorMeta } from '../../../format/manifest.js';
import { validateManifest } from '../../../format/validate.js';
import { splitsOfFiles } from '../../../format/webdataset/shards.js';
import { storedSize } from '../../../format/webdataset/wds-index.js';

export const PARQUET_INDEX_FORMAT = 'edgelake-parquet-index/1';

/** Rows [rowStart, rowStart + rows) of one column of one file: a chunk, read with hyparquet. */
export interface ParquetChunk {
  file: number;
  column: string;
  rowStart: number;
  rows: number;
  /** Each row's payload size and crc32 (a chunk header without reading the rows). */
  sizes: number[];
  crcs: number[];
}

/** A chunk of a number column, kept in the index itself: a number is 4 bytes, cheaper than a page read. */
export interface ParquetValues {
  values: number[];
}

/** What `edgelake index` writes beside Parquet files: the manifest and where each chunk's rows are. */
export interface ParquetIndex {
  format: typeof PARQUET_INDEX_FORMAT;
  name: string;
  /** `footer`: the bytes of the footer (metadata, its length and PAR1) at the file's end, and their crc32. */
  files: { name: string; bytes: number; footer: number; footerCrc: number }[];
  manifest: Manifest;
  chunks: Record<string, ParquetChunk | ParquetValues>;
}

/** How a column's values become sample payloads. */
type ColumnKind = { kind: 'image'; type: 'png' | 'jpeg' } | { kind: 'int' } | { kind: 'float' } | { kind: 'text' };

export type ParquetModule = typeof import('hyparquet');

/** Rows of a file's columns as hyparquet gives them (objects, byte arrays kept as bytes). */
export function readRows(hp: ParquetModule, file: AsyncBuffer, metadata: FileMetaData, column: string, rowStart: number, rowEnd: number): Promise<Record<string, unknown>[]> {
  return hp.parquetReadObjects({ file, metadata, columns: [column], rowStart, rowEnd, utf8: false, useOffsetIndex: true }) as Promise<Record<string, unknown>[]>;
}

/**
 * Indexes Parquet files (Hugging Face's layout: an image column of `{ bytes, path }` structs,
 * ClassLabel names in the `huggingface` key-value metadata), given whole and in order. Each
 * column a tensor of that name: images (PNG or JPEG, decoded on read), integers (class labels
 * when the metadata names their classes), floats, strings. Chunks are runs of rows within a row
 * group, about `chunkBytes` of payload each.
 */
export async function indexParquet(hp: ParquetModule, files: AsyncIterable<{ name: string; bytes: Uint8Array }>, options: { name: string; columns?: string[]; chunkBytes?: number; created?: string }): Promise<ParquetIndex> {
  const chunkBytes = options.chunkBytes ?? 256 * 1024;
  const listed: ParquetIndex['files'] = [];
  const chunks: ParquetIndex['chunks'] = {};
  const tensors = new Map<string, { meta: Omit<TensorMeta, 'chunks'>; kind: ColumnKind; chunks: ChunkRef[]; size?: string }>();
  let length = 0;
  const samples: { name: string; samples: number }[] = [];
  for await (const { name, bytes } of files) {
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const metadata = hp.parquetMetadata(buffer);
    const footer = new DataView(buffer).getUint32(buffer.byteLength - 8, true) + 8;
    const file = listed.push({ name, bytes: bytes.length, footer, footerCrc: crc32(bytes.subarray(bytes.length - footer)) }) - 1;
    const features = huggingFaceFeatures(metadata);
    const columns = options.columns ?? hp.parquetSchema(metadata).children.map((c) => c.element.name);
    let groupStart = 0;
    for (const group of metadata.row_groups) {
      const groupRows = Number(group.num_rows);
      for (const column of columns) {
        const rows = await readRows(hp, buffer, metadata, column, groupStart, groupStart + groupRows);
        let t = tensors.get(column);
        if (!t) {
          const first = rows[0]?.[column];
          const kind = kindOf(first, `${name}: column ${column}`);
          t = { kind, meta: metaFor(kind, features[column]), chunks: [] };
          tensors.set(column, t);
        }
        let run: Uint8Array[] = [];
        let runBytes = 0;
        let runStart = groupStart;
        const flush = async () => {
          if (!run.length) return;
          const { ref } = await encodeChunk(run, 'none');
          const numbers = t.kind.kind === 'int' || t.kind.kind === 'float';
          chunks[ref.hash] = numbers
            ? { values: rows.slice(runStart - groupStart, runStart - groupStart + run.length).map((r) => Number(r[column])) }
            : { file, column, rowStart: runStart, rows: run.length, sizes: run.map((p) => p.length), crcs: run.map((p) => crc32(p)) };
          t.chunks.push(ref);
          runStart += run.length;
          [run, runBytes] = [[], 0];
        };
        for (const [i, row] of rows.entries()) {
          const payload = payloadOf(t.kind, row[column], `${name}: row ${groupStart + i}, column ${column}`);
          if (t.kind.kind === 'image') t.size = t.size === undefined || t.size === storedSize(payload, t.kind.type) ? storedSize(payload, t.kind.type) : ''; // '' once sizes differ
          run.push(payload);
          runBytes += payload.length;
          if (runBytes >= chunkBytes) await flush();
        }
        await flush();
      }
      groupStart += groupRows;
    }
    length += groupStart;
    samples.push({ name, samples: groupStart });
  }
  if (!tensors.size) throw new EdgelakeError('invalid-input', `${listed.map((f) => f.name).join(', ') || 'no files'}: no rows`);
  const manifest: Manifest = {
    format: FORMAT_VERSION, parent: null, message: `Parquet: ${listed.length} files`, created: options.created ?? new Date().toISOString(), length, splits: splitsOfFiles(samples),
    tensors: Object.fromEntries([...tensors].map(([name, t]) => [name, { ...t.meta, ...(t.size && { shape: [...t.size.split('x').map(Number), 3] }), chunks: t.chunks }])),
  };
  validateManifest(manifest, `the index of ${listed.length} Parquet files`, DEFAULT_LIMITS);
  return { format: PARQUET_INDEX_FORMAT, name: options.name, files: listed, manifest, chunks };
}

/** The payloads of an inline chunk of a number tensor. */
export function valuesChunk(chunk: ParquetValues, tensor: TensorMeta): Uint8Array[] {
  const kind = kindOfMeta(tensor);
  return chunk.values.map((v) => payloadOf(kind, v, 'the index'));
}

/** A chunk's payloads from its rows (as readRows gives them), each checked against the crc32 indexed. */
export function rowsChunk(chunk: ParquetChunk, kind: TensorMeta, rows: Record<string, unknown>[], where: string): Uint8Array[] {
  const columnKind = kindOfMeta(kind);
  return rows.map((row, i) => {
    const payload = payloadOf(columnKind, row[chunk.column], `${where}: row ${chunk.rowStart + i}`);
    if (payload.length !== chunk.sizes[i] || crc32(payload) !== chunk.crcs[i]) {
      throw new EdgelakeError('integrity', `${where} changed since it was indexed (row ${chunk.rowStart + i} of column ${chunk.column} differs); run edgelake index again`);
    }
    return payload;
  });
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
      const fits = c && ('values' in c ? Array.isArray(c.values) && c.values.length === ref.samples : index.files[c.file] && c.rows === ref.samples && c.sizes?.length === ref.samples && c.crcs?.length === ref.samples);
      if (!fits) {
        throw new EdgelakeError('invalid-manifest', `${where}: chunk ${ref.hash} has no matching entry in the index`);
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

function kindOf(value: unknown, where: string): ColumnKind {
  const bytes = imageBytes(value);
  if (bytes) {
    const type = sniffImageType(bytes);
    if (!type) throw new EdgelakeError('invalid-input', `${where}: bytes that are neither PNG nor JPEG`);
    return { kind: 'image', type };
  }
  if (typeof value === 'bigint' || (typeof value === 'number' && Number.isInteger(value)) || typeof value === 'boolean') return { kind: 'int' };
  if (typeof value === 'number') return { kind: 'float' };
  if (typeof value === 'string') return { kind: 'text' };
  throw new EdgelakeError('invalid-input', `${where}: values like ${String(value).slice(0, 40)} are not images, numbers or strings (name the columns to read)`);
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
  if (value === null || value === undefined) throw new EdgelakeError('invalid-input', `${where}: a null value (every sample needs one)`);
  const out = new Uint8Array(4);
  const view = new DataView(out.buffer);
  switch (kind.kind) {
    case 'image': {
      const bytes = imageBytes(value);
      if (!bytes || sniffImageType(bytes) !== kind.type) throw new EdgelakeError('invalid-input', `${where}: not a ${kind.type.toUpperCase()} image like the column's first`);
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
