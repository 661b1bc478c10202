import { stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { MAX_CHUNK_KIB, parseFlags, positiveInt, refuseExpandedPattern, type Flags } from './flags.js';
import { EdgelakeError, isEdgelakeError } from '../errors.js';
import { decodeIndexFile } from '../format/index-file.js';
import { isShardPattern, shardLayout } from '../format/webdataset/shards.js';
import { encodeWebDatasetIndex, indexShards } from '../format/webdataset/wds-index.js';
import { isParquetPattern } from '../runtime/dataset/kinds/parquet.js';
import { encodeParquetIndex, indexParquet } from '../runtime/dataset/kinds/parquet-index.js';
import { loadParquet } from '../runtime/dataset/kinds/parquet-pages.js';
import { openSinkNode } from '../runtime/sink.node.js';
import { openSourceNode } from '../source/open.node.js';
import type { Source } from '../source/source.js';
import { formatBytes, progressBar, type CliIo } from './io.js';

export const indexUsage = 'edgelake index PATTERN [--out FILE] [--chunk-kib N] [--columns A,B] [--json]  (PATTERN: shards-{000..099}.tar or train-{00000..00003}-of-00004.parquet, in a folder or at an http(s):// or s3:// URL)';

export const indexFlags = {
  out: { type: 'string', value: 'FILE', help: 'write the index to this local file (default: beside the files, by PUT for http(s) and s3)' },
  'chunk-kib': { type: 'string', value: 'K', help: 'the payload of a chunk (one range read), in KiB (default 256)' },
  columns: { type: 'string', value: 'A,B', help: 'Parquet only: the columns to read, comma-separated (default: every column; leave out one edgelake cannot read)' },
  json: { type: 'boolean', help: 'print the result as JSON' },
} as const satisfies Flags;

/**
 * `edgelake index`: reads WebDataset shards or Parquet files once and writes the index beside them
 * (or to --out), so that opening them later reads only the index and then the ranges asked for.
 */
export async function indexCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(indexFlags, args);
  // A URL's query (a signed URL's token) may follow the name; shardLayout refuses gzipped shards by name.
  refuseExpandedPattern(positionals);
  if (positionals.length !== 1 || !(isShardPattern(positionals[0]) || isParquetPattern(positionals[0]))) throw new EdgelakeError('invalid-input', `usage: ${indexUsage}`);
  const kib = positiveInt(values['chunk-kib'], '--chunk-kib', 256, MAX_CHUNK_KIB);
  const parquet = isParquetPattern(positionals[0]);
  const columns = values.columns?.split(',').map((c) => c.trim());
  if (columns && !parquet) throw new EdgelakeError('invalid-input', '--columns names Parquet columns; WebDataset shards have none');
  // Checked before the files are read: indexing them can take minutes.
  const outDir = values.out === undefined ? undefined : dirname(resolve(values.out));
  if (outDir !== undefined && !(await stat(outDir).catch(() => undefined))?.isDirectory()) throw new EdgelakeError('invalid-input', `--out: no folder ${outDir} to write ${values.out} into`);
  const layout = shardLayout(positionals[0]);
  const source = openSourceNode(layout.base);
  let read = 0;
  const progress = values.json ? undefined : progressBar(io, 'indexing');
  const shards = async function* () {
    for (const [i, name] of layout.shards.entries()) {
      let validator: { at: string; value: string } | undefined;
      const bytes = await source.read(name, { onValidator: (value) => (validator = { at: source.location, value }) });
      read += bytes.length;
      yield { name, bytes, validator };
      progress?.(i + 1, layout.shards.length, formatBytes(read)); // once the shard's members are indexed
    }
  };
  const name = layout.index.replace(/\.edgelake-index\.json\.gz$/, '');
  const index = parquet ? await indexParquet(await loadParquet(), shards(), { name, columns, chunkBytes: kib * 1024 }) : await indexShards(shards(), { name, chunkBytes: kib * 1024 });
  const bytes = 'files' in index ? encodeParquetIndex(index) : encodeWebDatasetIndex(index);
  const files = 'files' in index ? index.files.length : index.shards.length;
  const target = values.out === undefined ? await indexName(source, layout) : undefined;
  const where = values.out ?? `${source.location}/${target}`;
  if (values.out) await writeFile(values.out, bytes);
  else {
    await openSinkNode(layout.base).write(target!, bytes).catch((e: unknown) => {
      // A read-only web server (most of them) refuses the PUT: the index can go up by other means.
      throw isEdgelakeError(e, 'source') ? new EdgelakeError('source', `${e.message}; write the index with --out FILE and upload it beside the files`, { cause: e }) : e;
    });
  }
  const tensors = Object.fromEntries(Object.entries(index.manifest.tensors).map(([name, t]) => [name, { htype: t.htype, shape: t.shape, chunks: t.chunks.length }]));
  const summary = { index: where, files, samples: index.manifest.length, bytes: read, indexBytes: bytes.length, tensors };
  if (values.json) io.stdout(JSON.stringify(summary, null, 2) + '\n');
  else io.stdout(`indexed ${summary.samples} samples in ${files} ${parquet ? 'Parquet files' : 'shards'} (${formatBytes(read)}): ${Object.entries(tensors).map(([n, t]) => `${n} [${t.shape.map((d) => d ?? '?').join(', ')}]`).join(', ')}; wrote ${where} (${formatBytes(bytes.length)})\n`);
  return 0;
}

/** Where the index goes: the stem's name, unless an index of files outside this pattern holds it (shard-{000..089} indexed, now {090..099}). */
async function indexName(source: Source, layout: ReturnType<typeof shardLayout>): Promise<string> {
  const there = await source.read(layout.index).catch((e: unknown) => {
    if (isEdgelakeError(e, 'not-found')) return undefined;
    throw e;
  });
  if (!there) return layout.index;
  let listed: string[];
  try {
    const index = decodeIndexFile(there, layout.index) as { shards?: { name: string }[]; files?: { name: string }[] };
    listed = (index.shards ?? index.files ?? []).map((f) => f.name);
  } catch {
    return layout.index; // a damaged index is replaced
  }
  return listed.every((name) => layout.shards.includes(name)) ? layout.index : layout.own;
}
