import { EdgelakeError } from '../../errors.js';

const MAX_SHARDS = 100_000;

/**
 * The shard names of a WebDataset brace pattern, in order: `{000..099}` is a zero-padded range
 * (padding from the first bound, as WebDataset's braceexpand), `{a,b}` a list; several groups
 * multiply. A pattern without braces is one shard.
 */
export function expandShards(pattern: string): string[] {
  const match = /\{([^{}]*)\}/.exec(pattern);
  if (!match) return [pattern];
  const [group, body] = match;
  const head = pattern.slice(0, match.index);
  const tail = pattern.slice(match.index + group.length);
  const range = /^(\d+)\.\.(\d+)$/.exec(body);
  let items: string[];
  if (range) {
    const [lo, hi] = [Number(range[1]), Number(range[2])];
    if (hi < lo || hi - lo >= MAX_SHARDS) throw new EdgelakeError('invalid-input', `shard pattern ${pattern}: the range {${body}} must count up, with at most ${MAX_SHARDS} shards`);
    items = Array.from({ length: hi - lo + 1 }, (_, i) => String(lo + i).padStart(range[1].length, '0'));
  } else if (body.includes(',')) items = body.split(',');
  else throw new EdgelakeError('invalid-input', `shard pattern ${pattern}: {${body}} is neither a range {000..099} nor a list {a,b}`);
  const out = items.flatMap((item) => expandShards(`${head}${item}${tail}`));
  if (out.length > MAX_SHARDS) throw new EdgelakeError('invalid-input', `shard pattern ${pattern} names ${out.length} shards; at most ${MAX_SHARDS}`);
  return out;
}

/** Whether a dataset root names WebDataset shards: a .tar file or a brace pattern of them. */
export function isShardPattern(root: string): boolean {
  return /\.tar(\?.*)?$/i.test(root);
}

/**
 * Where the files of `pattern` (tar shards, Parquet files) lie (the folder or URL prefix before its
 * last '/'), their names relative to it, and the name of the index beside them: the pattern's file
 * name up to its first brace group or extension, then `.edgelake-index.json.gz`.
 */
export function shardLayout(pattern: string): { base: string; shards: string[]; index: string } {
  const slash = pattern.lastIndexOf('/');
  const base = slash < 0 ? '.' : pattern.slice(0, slash) || '/';
  const file = pattern.slice(slash + 1);
  const stem = file.replace(/\{.*$/, '').replace(/\.(tar|parquet)$/i, '').replace(/[-_.]+$/, '') || 'shards';
  return { base, shards: expandShards(file), index: `${stem}.edgelake-index.json.gz` };
}
