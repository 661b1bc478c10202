import { EdgelakeError } from '../../errors.js';
import { crc32 } from '../hash.js';

const MAX_SHARDS = 100_000;

/**
 * The shard names of a WebDataset brace pattern, in order: `{000..099}` is a zero-padded range
 * (padding from the first bound, as WebDataset's braceexpand), `{a,b}` a list whose items may hold
 * patterns of their own (`{train-{0..3},test-0}`); several groups multiply. No braces: one shard.
 */
export function expandShards(pattern: string): string[] {
  const open = pattern.indexOf('{');
  if (open < 0) return [pattern];
  let depth = 0;
  let close = -1;
  const commas: number[] = [];
  for (let i = open; i < pattern.length && close < 0; i++) {
    if (pattern[i] === '{') depth++;
    else if (pattern[i] === '}' && --depth === 0) close = i;
    else if (pattern[i] === ',' && depth === 1) commas.push(i);
  }
  if (close < 0) throw new EdgelakeError('invalid-input', `shard pattern ${pattern}: a '{' without its '}'`);
  const [head, body, tail] = [pattern.slice(0, open), pattern.slice(open + 1, close), pattern.slice(close + 1)];
  const range = /^(\d+)\.\.(\d+)$/.exec(body);
  let items: string[];
  if (range) {
    const [lo, hi] = [Number(range[1]), Number(range[2])];
    if (hi < lo || hi - lo >= MAX_SHARDS) throw new EdgelakeError('invalid-input', `shard pattern ${pattern}: the range {${body}} must count up, with at most ${MAX_SHARDS} shards`);
    items = Array.from({ length: hi - lo + 1 }, (_, i) => String(lo + i).padStart(range[1].length, '0'));
  } else if (commas.length) {
    items = [open, ...commas].map((at, k) => pattern.slice(at + 1, k < commas.length ? commas[k] : close));
  } else throw new EdgelakeError('invalid-input', `shard pattern ${pattern}: {${body}} is neither a range {000..099} nor a list {a,b}`);
  const out = items.flatMap((item) => expandShards(`${head}${item}${tail}`));
  if (out.length > MAX_SHARDS) throw new EdgelakeError('invalid-input', `shard pattern ${pattern} names ${out.length} shards; at most ${MAX_SHARDS}`);
  return out;
}

/** Words that name a split wherever they stand in a file's name (`imagenet1k-validation-0000.tar`). */
const SPLIT_WORDS = new Set(['train', 'training', 'val', 'valid', 'validation', 'test', 'testing', 'dev', 'eval']);

/**
 * The split a file's samples belong to: a split word of its name (`cc3m-train-0000.tar`), else its
 * name before the shard number (`train-00000-of-00004.parquet`, `fm-003.tar`: Hugging Face's and
 * WebDataset's habit), or undefined when that is no split name.
 */
export function splitOfFile(name: string): string | undefined {
  // Only the known extensions go: other dots are part of the name (`mnist.train-000.tar`, `laion2b-v1.0-train-000.tar`).
  const stem = name.slice(name.lastIndexOf('/') + 1).replace(/\.(tar|tar\.gz|tgz|parquet)$/i, '');
  const word = stem.split(/[-_.]/).find((w) => SPLIT_WORDS.has(w.toLowerCase()));
  const before = stem.replace(/[-_.]?\d+(-of-\d+)?$/, '');
  return word ?? (/^[A-Za-z][A-Za-z0-9._-]{0,99}$/.test(before) ? before : undefined);
}

/** The splits of samples read file after file (`samples` each), by splitOfFile; none unless every file names one. */
export function splitsOfFiles(files: { name: string; samples: number }[]): Record<string, [number, number][]> {
  const splits: Record<string, [number, number][]> = {};
  let at = 0;
  for (const { name, samples } of files) {
    const split = splitOfFile(name);
    if (split === undefined) return {};
    const ranges = (splits[split] ??= []);
    const last = ranges.at(-1);
    if (last && last[1] === at) last[1] += samples;
    else if (samples > 0) ranges.push([at, at + samples]);
    at += samples;
  }
  return splits;
}

/** Whether a dataset root names WebDataset shards: a .tar file or a brace pattern of them (.tar.gz too, to refuse by name). */
export function isShardPattern(root: string): boolean {
  return /\.(tar|tar\.gz|tgz)(\?.*)?$/i.test(root);
}

/**
 * Where the files of `pattern` (tar shards, Parquet files) lie (the folder or URL prefix before its
 * last '/'), their names relative to it, and the names of the index beside them: `index`, the
 * pattern's file name up to its first brace group or extension, then `.edgelake-index.json.gz`, and
 * `own`, that stem with a short hash of the names (where an index of other files already holds `index`).
 * A file named without braces also has `family`: the index of a pattern braced at its first run of
 * digits (`train-004.tar`, `train-00004-of-00010.parquet`: `train`'s), which may list it.
 * A URL's query (a signed URL's token, `?download=true`) is the folder's: it goes on `base`, so
 * every file and the index are requested with it, and no name holds it.
 */
export function shardLayout(pattern: string): { base: string; file: string; shards: string[]; index: string; own: string; family?: string } {
  const cut = /^[A-Za-z][A-Za-z0-9+.-]+:/.test(pattern) ? pattern.search(/[?#]/) : -1; // a local file's name may hold a '?'
  const [path, query] = cut < 0 ? [pattern, ''] : [pattern.slice(0, cut), pattern.slice(cut).replace(/#.*$/, '')];
  const slash = path.lastIndexOf('/');
  const folder = slash < 0 ? '.' : path.slice(0, slash) || '/';
  const file = path.slice(slash + 1);
  // Samples are read as byte ranges of a shard, which a gzip stream does not have.
  if (/\.(tar\.gz|tgz)(\?.*)?$/i.test(file)) throw new EdgelakeError('invalid-input', `${pattern}: gzipped shards cannot be read in place (a sample is a byte range of its shard); gunzip them and open the .tar files`);
  if (/[{}]/.test(folder)) throw new EdgelakeError('invalid-input', `${pattern}: only the file name may hold a brace pattern, not a folder name; open each folder's files by their own pattern`);
  const stem = file.replace(/\{.*$/, '').replace(/\.(tar|parquet)$/i, '').replace(/[-_.]+$/, '') || 'shards';
  const shards = expandShards(file);
  const hash = (crc32(new TextEncoder().encode(shards.join('\n'))) >>> 0).toString(16).padStart(8, '0');
  const family = file.includes('{') ? undefined : stem.replace(/[-_.]\d.*$/, '');
  return {
    base: folder + query, file, shards, index: `${stem}.edgelake-index.json.gz`, own: `${stem}.${hash}.edgelake-index.json.gz`,
    ...(family && family !== stem && { family: `${family}.edgelake-index.json.gz` }),
  };
}
