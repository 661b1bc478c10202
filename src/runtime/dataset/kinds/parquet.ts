import type { AsyncBuffer, FileMetaData } from 'hyparquet';
import { EdgelakeError, isEdgelakeError } from '../../../errors.js';
import { chunkBody } from '../../../format/chunk.js';
import { crc32 } from '../../../format/hash.js';
import type { TensorMeta } from '../../../format/manifest.js';
import type { ReadOptions, Source } from '../../../source/source.js';
import type { Dataset, OpenDatasetOptions } from '../dataset.js';
import { decodeParquetIndex, indexParquet, readRows, rowsChunk, valuesChunk, type ParquetChunk, type ParquetIndex, type ParquetModule } from './parquet-index.js';
import { chunkRange, indexedChunk, loadIndex, openInPlace, underlyingRead, versionFile, versionFiles } from './virtual.js';

/** Whether a dataset root names Parquet files: a .parquet file or a brace pattern of them. */
export function isParquetPattern(root: string): boolean {
  return /\.parquet(\?.*)?$/i.test(root);
}

/**
 * Opens Parquet files (`https://host/data/train-{00000..00003}-of-00004.parquet`, s3://, a folder)
 * in place, as an edgelake dataset. hyparquet reads them (loaded only then): a chunk is rows of one
 * column of one row group, and only the pages holding them are fetched (the offset index). The
 * manifest comes from the index `edgelake index` wrote beside the files; without one, the files
 * are read whole, once, to make it.
 */
export function openParquetDataset(pattern: string, options: OpenDatasetOptions = {}): Promise<Dataset> {
  return openInPlace(pattern, options, (files) => parquetSource(pattern, files));
}

interface Opened extends Awaited<ReturnType<typeof versionFiles>> {
  index: ParquetIndex;
  hp: ParquetModule;
  metadata: Map<number, Promise<FileMetaData>>;
  /** Each chunk's tensor, by hash (an inline chunk's values are typed by it). */
  tensorOfChunk: Map<string, TensorMeta>;
}

/** The files of a native dataset made from Parquet files read through `files` (a source at their folder). */
export function parquetSource(pattern: string, files: Source): Source {
  let opened: Promise<Opened> | undefined;
  const open = () => {
    opened ??= load(files, pattern);
    opened.catch(() => (opened = undefined));
    return opened;
  };
  /** File `i` as hyparquet reads it: ranges through `files`. */
  const buffer = (o: Opened, i: number, options?: ReadOptions): AsyncBuffer => {
    const { name, bytes } = o.index.files[i];
    return {
      byteLength: bytes,
      slice: async (start, end = bytes) => {
        const got = await files.readRange(name, start, end - start, underlyingRead(options));
        return got.buffer.slice(got.byteOffset, got.byteOffset + got.byteLength) as ArrayBuffer;
      },
    };
  };
  /** A file's metadata, from one range read of its footer (its size is in the index). */
  const metadataOf = (o: Opened, i: number) => {
    let md = o.metadata.get(i);
    if (!md) {
      const { name, bytes, footer, footerCrc } = o.index.files[i];
      const read = (async () => {
        const changed = (why: string, cause?: unknown) => new EdgelakeError('integrity', `${pattern}: ${name} changed since it was indexed (${why}); run edgelake index again`, { cause });
        const tail = await Promise.resolve(buffer(o, i).slice(bytes - footer, bytes)).catch((e: unknown) => {
          throw isEdgelakeError(e, 'unreachable') ? e : changed(`it is not the ${bytes} bytes it was`, e);
        });
        if (crc32(new Uint8Array(tail)) !== footerCrc) throw changed('its footer differs');
        return o.hp.parquetMetadata(tail);
      })();
      read.catch(() => o.metadata.delete(i));
      o.metadata.set(i, (md = read));
    }
    return md;
  };
  const payloads = async (o: Opened, chunk: ParquetChunk, first: number, last: number, options?: ReadOptions) => {
    const tensor = o.index.manifest.tensors[chunk.column];
    const file = buffer(o, chunk.file, options);
    const rows = await readRows(o.hp, file, await metadataOf(o, chunk.file), chunk.column, chunk.rowStart + first, chunk.rowStart + last + 1);
    const part = { ...chunk, rowStart: chunk.rowStart + first, sizes: chunk.sizes.slice(first, last + 1), crcs: chunk.crcs.slice(first, last + 1) };
    return rowsChunk(part, tensor, rows, `${pattern}: ${o.index.files[chunk.file].name}`);
  };
  const tensorOf = (o: Opened, path: string) => o.tensorOfChunk.get(path.slice(path.lastIndexOf('/') + 1))!;

  return {
    location: `${files.location}/${pattern.slice(pattern.lastIndexOf('/') + 1)}`,
    async read(path: string, options?: ReadOptions) {
      const o = await open();
      const whole = versionFile(o, path);
      if (whole) return whole.slice();
      const chunk = indexedChunk(o.index.chunks, path, pattern);
      if ('values' in chunk) return chunkBody(valuesChunk(chunk, tensorOf(o, path)));
      return chunkBody(await payloads(o, chunk, 0, chunk.rows - 1, options), chunk.crcs);
    },
    async readRange(path: string, offset: number, length: number, options?: ReadOptions) {
      const o = await open();
      const whole = versionFile(o, path);
      if (whole) return whole.slice(offset, offset + length);
      const chunk = indexedChunk(o.index.chunks, path, pattern);
      if ('values' in chunk) return chunkBody(valuesChunk(chunk, tensorOf(o, path))).slice(offset, offset + length);
      return chunkRange(chunk.sizes, chunk.crcs, offset, length, (first, last) => payloads(o, chunk, first, last, options));
    },
  };
}

async function load(files: Source, pattern: string): Promise<Opened> {
  const hp = await import('hyparquet');
  const index = await loadIndex(pattern, files, {
    decode: decodeParquetIndex,
    build: (read, name) => indexParquet(hp, read, { name, created: new Date(0).toISOString() }),
    files: (i) => i.files.map((f) => f.name),
  });
  const tensorOfChunk = new Map(Object.values(index.manifest.tensors).flatMap((t) => t.chunks.map((c) => [c.hash, t] as const)));
  return { index, hp, metadata: new Map(), tensorOfChunk, ...(await versionFiles(index.name, index.manifest)) };
}
