import { EdgelakeError } from '../../../errors.js';
import { chunkBody } from '../../../format/chunk.js';
import { chunkPath, type ChunkRef, type TensorMeta } from '../../../format/manifest.js';
import { shardLayout } from '../../../format/webdataset/shards.js';
import type { ReadOptions, Source } from '../../../source/source.js';
import type { Dataset, OpenDatasetOptions } from '../dataset.js';
import { decodeParquetIndex, indexParquet, rowPayloads, tensorNameOf, valuesChunk, type IndexNumber, type ParquetChunk, type ParquetIndex } from './parquet-index.js';
import { loadParquet, readSpanRows, type ParquetModule } from './parquet-pages.js';
import { rebase } from './rebase.js';
import { indexedChunk, loadIndex, openInPlace, underlyingRead, versionFile, versionFiles, type VirtualSource } from './virtual.js';

/** Whether a dataset root names Parquet files: a .parquet file or a brace pattern of them. */
export function isParquetPattern(root: string): boolean {
  return /\.parquet(\?.*)?$/i.test(root);
}

/**
 * Opens Parquet files (`https://host/data/train-{00000..00003}-of-00004.parquet`, s3://, a folder)
 * in place, as an edgelake dataset. hyparquet decodes them (loaded only then): a chunk is rows of
 * one column of one row group, and only the pages holding them are fetched, found in the index
 * `edgelake index` wrote beside the files (their page table: footers are not read again);
 * without one, the files are read whole, once, to make it.
 */
export function openParquetDataset(pattern: string, options: OpenDatasetOptions = {}): Promise<Dataset> {
  return openInPlace(pattern, options, (files) => parquetSource(pattern, files, options.columns));
}

interface Opened extends Awaited<ReturnType<typeof versionFiles>> {
  index: ParquetIndex;
  hp: ParquetModule;
  /** Each chunk's tensor, by hash (an inline chunk's values are typed by it). */
  tensorOfChunk: Map<string, TensorMeta>;
}

/** The files of a native dataset made from Parquet files read through `files` (a source at their folder), of `columns` (default: all). */
export function parquetSource(pattern: string, files: Source, columns?: string[]): VirtualSource {
  let opened: Promise<Opened> | undefined;
  const open = () => {
    opened ??= load(files, pattern, columns);
    opened.catch(() => (opened = undefined));
    return opened;
  };
  /** File rows [first, last] of a chunk (chunk-local), from the pages holding them, each page checked by its crc32. */
  const payloads = async (o: Opened, chunk: ParquetChunk, first: number, last: number, options?: ReadOptions) => {
    const { name } = o.index.files[chunk.file];
    const read = (offset: number, length: number) => files.readRange(name, offset, length, underlyingRead(options));
    const [from, to] = [chunk.rowStart + first, chunk.rowStart + last + 1];
    const values = await readSpanRows(o.hp, o.index.columns[chunk.column], chunk, from, to, read, `${pattern}: ${name}`);
    return rowPayloads(o.index.manifest.tensors[tensorNameOf(chunk.column)], values, from, `${pattern}: ${name}`);
  };
  const tensorOf = (o: Opened, path: string) => o.tensorOfChunk.get(path.slice(path.lastIndexOf('/') + 1))!; // a chunk path ends in its hash
  const body = async (o: Opened, path: string, options?: ReadOptions) => {
    const chunk = indexedChunk(o.index.chunks, path, pattern);
    if ('values' in chunk) return chunkBody(valuesChunk(chunk, tensorOf(o, path)));
    return chunkBody(await payloads(o, chunk, 0, chunk.rows - 1, options));
  };

  return {
    location: `${files.location}/${shardLayout(pattern).file}`, // without a URL's query: a token is never shown
    async read(path: string, options?: ReadOptions) {
      const o = await open();
      return versionFile(o, path)?.slice() ?? body(o, path, options);
    },
    // Sample reads go through readSamples: a range of a chunk's body needs the whole chunk's rows for its header.
    async readRange(path: string, offset: number, length: number, options?: ReadOptions) {
      const o = await open();
      return (versionFile(o, path) ?? (await body(o, path, options))).slice(offset, offset + length);
    },
    async readSamples(ref: ChunkRef, samples: number[], options?: ReadOptions) {
      const o = await open();
      const path = chunkPath(ref.hash);
      const chunk = indexedChunk(o.index.chunks, path, pattern);
      if ('values' in chunk) {
        const all = valuesChunk(chunk, tensorOf(o, path));
        return samples.map((i) => all[i]);
      }
      // Runs of consecutive samples are read together: neighbours often share a page.
      const runs: number[][] = [];
      for (const i of samples) {
        const run = runs.at(-1);
        if (run && i === run.at(-1)! + 1) run.push(i);
        else runs.push([i]);
      }
      return (await Promise.all(runs.map((run) => payloads(o, chunk, run[0], run.at(-1)!, options)))).flat();
    },
  };
}

async function load(files: Source, pattern: string, columns: string[] | undefined): Promise<Opened> {
  const hp = await loadParquet();
  const index = await loadIndex(pattern, files, {
    decode: decodeParquetIndex,
    build: (read, name) => indexParquet(hp, read, { name, columns, created: new Date(0).toISOString() }),
    files: (i) => i.files,
    subset,
  });
  // An index made earlier may have left out a column asked for now.
  const absent = columns?.find((c) => !Object.hasOwn(index.manifest.tensors, tensorNameOf(c)));
  if (absent !== undefined) throw new EdgelakeError('invalid-input', `${pattern}: its index has no column ${absent} (run edgelake index --columns ${columns!.join(',')})`);
  const tensorOfChunk = new Map(Object.values(index.manifest.tensors).flatMap((t) => t.chunks.map((c) => [c.hash, t] as const)));
  return { index, hp, tensorOfChunk, ...(await versionFiles(index.name, index.manifest)) };
}

/** The index of the files at `positions` alone (an index of many files serving a pattern that names some). */
async function subset(index: ParquetIndex, positions: number[]): Promise<ParquetIndex> {
  // An older index has no row counts: a column read from pages gives them (not one kept whole in the index).
  const paged = Object.values(index.manifest.tensors).find((t) => t.chunks.some((r) => !('values' in index.chunks[r.hash])));
  const rows = index.files.map(() => 0);
  for (const r of paged?.chunks ?? []) rows[(index.chunks[r.hash] as ParquetChunk).file] += r.samples;
  if (!paged && index.files.some((f) => f.samples === undefined)) throw new EdgelakeError('invalid-input', `${index.name}: its index predates opening some of its files alone; run edgelake index again`);
  const files = index.files.map((f, i) => ({ ...f, samples: f.samples ?? rows[i] }));
  const fileOf = (c: ParquetChunk) => c.file;
  const withFile = (c: ParquetChunk, file: number) => ({ ...c, file });
  const payloads = (values: IndexNumber[], tensor: TensorMeta) => valuesChunk({ values }, tensor);
  return { ...index, files: positions.map((p) => files[p]), ...(await rebase({ files, manifest: index.manifest, chunks: index.chunks, fileOf, withFile, payloads }, positions)) };
}
