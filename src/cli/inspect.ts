import { parseFlags, refuseExpandedPattern, type Flags } from './flags.js';
import { EdgelakeError } from '../errors.js';
import type { Manifest } from '../format/manifest.js';
import { isParquetPattern, parquetSource } from '../runtime/dataset/kinds/parquet.js';
import { webDatasetSource } from '../runtime/dataset/kinds/webdataset.js';
import { openVersion, type OpenedVersion } from '../runtime/dataset/versions.js';
import { isShardPattern, shardLayout } from '../format/webdataset/shards.js';
import { schemeOf } from '../source/open.js';
import { openSourceNode } from '../source/open.node.js';
import { redactUrl } from '../source/redact.js';
import { formatBytes, type CliIo } from './io.js';

export const inspectUsage = 'edgelake inspect ROOT [--ref R] [--json]  (ROOT: a dataset, WebDataset shards-{000..099}.tar or Parquet files)';

export const inspectFlags = {
  ref: { type: 'string', value: 'R', help: 'the ref, tag or version id to show (default the dataset\'s head)' },
  json: { type: 'boolean', help: 'print everything as JSON (every split range, every class name)' },
} as const satisfies Flags;

/** `edgelake inspect`: refs, version, splits and per-tensor layout of a dataset root. */
export async function inspectCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(inspectFlags, args);
  refuseExpandedPattern(positionals);
  if (positionals.length !== 1) throw new EdgelakeError('invalid-input', `usage: ${inspectUsage}`);
  const root = positionals[0];
  const files = () => openSourceNode(shardLayout(root).base);
  const source = isShardPattern(root) ? webDatasetSource(root, files()) : isParquetPattern(root) ? parquetSource(root, files()) : openSourceNode(root);
  const opened = await openVersion(source, { ref: values.ref });
  const summary = summarize(opened);
  if (values.json) io.stdout(JSON.stringify(summary, null, 2) + '\n');
  else io.stdout(renderText(summary));
  return 0;
}

export interface TensorSummary {
  htype: string;
  dtype: string;
  shape: (number | null)[];
  sampleCompression: string;
  chunkCompression: string;
  chunks: number;
  bytes: number;
  classNames?: string[];
}

export function summarize(v: OpenedVersion) {
  const m: Manifest = v.manifest;
  const tensors: Record<string, TensorSummary> = {};
  for (const [name, t] of Object.entries(m.tensors)) {
    tensors[name] = {
      htype: t.htype, dtype: t.dtype, shape: t.shape,
      sampleCompression: t.sampleCompression, chunkCompression: t.chunkCompression,
      chunks: t.chunks.length, bytes: t.chunks.reduce((a, c) => a + c.bytes, 0),
      ...(t.classNames ? { classNames: t.classNames } : {}),
    };
  }
  return {
    name: v.refs.name, location: shownLocation(v.source.location), head: v.refs.head, refs: v.refs.refs,
    ref: v.ref ?? null, version: v.versionId, parent: m.parent, created: m.created, message: m.message,
    length: m.length, splits: m.splits, tensors,
  };
}

/** A URL's credentials stay out of what inspect prints; a folder's path is shown as it is. */
const shownLocation = (location: string): string => (schemeOf(location) ? redactUrl(location) : location);

/** A split's ranges for people: a manifest may list a million (--json gives them all). */
function showRanges(ranges: [number, number][]): string {
  const shown = ranges.slice(0, 4).map(([a, b]) => `[${a}, ${b})`).join(' ');
  return ranges.length > 4 ? `${shown} ... (${ranges.length} ranges)` : shown;
}

/** The first class names; a dataset may have thousands (--json gives them all). */
function showClasses(names: string[]): string {
  const shown = names.slice(0, 10).join(', ');
  return names.length > 10 ? `${shown} and ${names.length - 10} more` : shown;
}

function renderText(s: ReturnType<typeof summarize>): string {
  const lines = [
    `dataset ${s.name}  (${s.location})`,
    `refs    ${Object.entries(s.refs).map(([r, id]) => `${r}${r === s.head ? ' (head)' : ''} -> ${id.slice(0, 12)}`).join(', ')}`,
    `version ${s.version}${s.ref ? ` (${s.ref})` : ''}`,
    `parent  ${s.parent ?? 'none'}`,
    `created ${s.created}  "${s.message}"`,
    `length  ${s.length}`,
    `splits  ${Object.entries(s.splits).map(([n, rs]) => `${n} ${showRanges(rs)}`).join(', ')}`,
    '',
  ];
  const rows = [['tensor', 'htype', 'dtype', 'shape', 'compression', 'chunks', 'stored']];
  for (const [name, t] of Object.entries(s.tensors)) {
    const compression = t.sampleCompression !== 'none' ? `sample ${t.sampleCompression}` : t.chunkCompression !== 'none' ? `chunk ${t.chunkCompression}` : 'none';
    rows.push([name, t.htype, t.dtype, `[${t.shape.map((d) => d ?? '?').join(', ')}]`, compression, String(t.chunks), formatBytes(t.bytes)]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows) lines.push(r.map((cell, c) => (c >= 5 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd());
  for (const [name, t] of Object.entries(s.tensors)) if (t.classNames) lines.push('', `classes of ${name} (${t.classNames.length}): ${showClasses(t.classNames)}`);
  return lines.join('\n') + '\n';
}
