import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { EdgelakeError } from '../errors.js';
import { shardLayout } from '../format/webdataset/shards.js';
import { encodeWebDatasetIndex, indexShards } from '../format/webdataset/wds-index.js';
import { openSinkNode } from '../runtime/sink.node.js';
import { openSourceNode } from '../source/open.node.js';
import { formatBytes, progressBar, type CliIo } from './io.js';

export const indexUsage = 'edgelake index PATTERN [--out FILE] [--chunk-kib N] [--json]';

/**
 * `edgelake index`: reads WebDataset shards once and writes the index beside them (or to --out),
 * so that opening them later reads only the index and then the ranges asked for.
 */
export async function indexCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { out: { type: 'string' }, 'chunk-kib': { type: 'string' }, json: { type: 'boolean' } } });
  if (positionals.length !== 1 || !/\.tar$/i.test(positionals[0])) throw new EdgelakeError('invalid-input', `usage: ${indexUsage} (PATTERN: shards-{000..099}.tar, a folder path or an http(s):// or s3:// URL)`);
  const kib = values['chunk-kib'] === undefined ? 256 : Number(values['chunk-kib']);
  if (!Number.isInteger(kib) || kib < 1) throw new EdgelakeError('invalid-input', `--chunk-kib must be a whole number >= 1, not ${values['chunk-kib']}`);
  const layout = shardLayout(positionals[0]);
  const source = openSourceNode(layout.base);
  let read = 0;
  const progress = values.json ? undefined : progressBar(io, 'indexing shards');
  const shards = async function* () {
    for (const [i, name] of layout.shards.entries()) {
      const bytes = await source.read(name);
      read += bytes.length;
      yield { name, bytes };
      progress?.(i + 1, layout.shards.length, formatBytes(read)); // once the shard's members are indexed
    }
  };
  const index = await indexShards(shards(), { name: layout.index.replace(/\.edgelake-index\.json\.gz$/, ''), chunkBytes: kib * 1024 });
  const bytes = encodeWebDatasetIndex(index);
  const where = values.out ?? `${source.location}/${layout.index}`;
  if (values.out) await writeFile(values.out, bytes);
  else await openSinkNode(layout.base).write(layout.index, bytes);
  const tensors = Object.fromEntries(Object.entries(index.manifest.tensors).map(([name, t]) => [name, { htype: t.htype, shape: t.shape, chunks: t.chunks.length }]));
  const summary = { index: where, shards: index.shards.length, samples: index.manifest.length, shardBytes: read, indexBytes: bytes.length, tensors };
  if (values.json) io.stdout(JSON.stringify(summary, null, 2) + '\n');
  else io.stdout(`indexed ${summary.samples} samples in ${summary.shards} shards (${formatBytes(read)}): ${Object.entries(tensors).map(([n, t]) => `${n} [${t.shape.join(', ')}]`).join(', ')}; wrote ${where} (${formatBytes(bytes.length)})\n`);
  return 0;
}
