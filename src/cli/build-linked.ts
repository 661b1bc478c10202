import { readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { EdgelakeError } from '../errors.js';
import { buildLinked, linkedFormat, type LinkedEntry } from '../format/builders/build-linked.js';
import { FolderSink } from '../format/folder-sink.node.js';
import { NAME } from '../format/validate.js';
import { schemeOf } from '../source/open.js';
import { describeBuild, newestModification, testFraction } from './build.js';
import { createdTime, datasetName, parseFlags, positiveInt, refName, type Flags } from './flags.js';
import type { CliIo } from './io.js';

export const buildLinkedUsage = 'edgelake build linked LIST --out DIR [--name N] [--format jpeg|png] [--chunk-samples N] [--test-fraction F] [--created ISO] [--ref R]  (LIST: a .csv with a url column and optional label and split columns, or one link a line; a relative path starts from LIST\'s folder)';

export const buildLinkedFlags = {
  out: { type: 'string', value: 'DIR', help: 'the folder to write the dataset into (required)' },
  name: { type: 'string', value: 'N', help: 'a new dataset\'s name (default linked; one already at --out keeps its own)' },
  format: { type: 'string', value: 'jpeg|png', help: 'the files\' format (default: from their extensions)' },
  'chunk-samples': { type: 'string', value: 'N', help: 'links a chunk: a loader reads a chunk\'s files together (default 32)' },
  'test-fraction': { type: 'string', value: 'F', help: 'the share of each class held out as the test split, chosen by a hash of the links (default 0)' },
  created: { type: 'string', value: 'ISO', help: 'the version\'s time (default the list\'s mtime, so a rebuild of the same list gives the same version id)' },
  ref: { type: 'string', value: 'R', help: 'the ref to point at the new version (default main)' },
} as const satisfies Flags;

/** `edgelake build linked LIST`: a dataset of links to files where they are (no file is read). */
export async function buildLinkedCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(buildLinkedFlags, args);
  if (positionals.length !== 1 || !values.out) throw new EdgelakeError('invalid-input', `usage: ${buildLinkedUsage}`);
  const [list, out] = [positionals[0], values.out];
  const options = { name: datasetName(values.name), chunkSamples: positiveInt(values['chunk-samples'], '--chunk-samples', 32), ref: refName(values.ref), testFraction: testFraction(values['test-fraction']) };
  let text: string;
  try {
    text = await readFile(list, 'utf8');
  } catch (e) {
    throw new EdgelakeError('invalid-input', `cannot read ${list}: ${(e as Error).message}`, { cause: e });
  }
  if (values.format !== undefined && values.format !== 'jpeg' && values.format !== 'png') throw new EdgelakeError('invalid-input', `--format must be jpeg or png, not "${values.format}"`);
  const listed = /\.csv$/i.test(list) ? csvEntries(text, list, (note) => io.stderr(`note: ${note}\n`)) : lineEntries(text);
  const files = await localFiles(listed, list);
  // Told from the files' own paths, so an error names them as they are, not as %-escaped links from --out.
  const format = values.format ?? (listed.length ? linkedFormat(listed.map((e, i) => files[i] ?? e.link)) : undefined);
  const entries = listed.map((e, i) => (files[i] === undefined ? e : { ...e, link: linkFrom(out, e.link, files[i]) }));
  // As imagefolder does: the input's time, so rebuilding an unchanged list says "unchanged:", not a new version.
  const created = createdTime(values.created) ?? (await newestModification([list]));
  const result = await buildLinked(new FolderSink(out), entries, { ...options, format, created });
  io.stdout(describeBuild(out, result));
  return 0;
}

/**
 * The local file each entry names (a path means one from the list's folder), undefined for remote
 * URLs; refused, before anything is written, if one is not there: every read of it would fail.
 */
async function localFiles(entries: LinkedEntry[], list: string): Promise<(string | undefined)[]> {
  const files = entries.map((e) => localFile(e.link, dirname(resolve(list))));
  for (let i = 0; i < files.length; i += 256) {
    const found = await Promise.all(files.slice(i, i + 256).map((f) => f === undefined || stat(f).then((s) => s.isFile(), () => false)));
    const at = found.indexOf(false);
    if (at >= 0) throw new EdgelakeError('invalid-input', `${list} names ${JSON.stringify(entries[i + at].link)}, but there is no file ${files[i + at]}`);
  }
  return files;
}

/** The file a local path or file:// URL names; undefined for remote URLs and for links buildLinked refuses. */
function localFile(link: string, folder: string): string | undefined {
  const scheme = schemeOf(link);
  if (scheme === 'file') {
    try {
      return fileURLToPath(link);
    } catch (e) {
      throw new EdgelakeError('invalid-input', `${link} is not a local file:// URL: ${(e as Error).message}`, { cause: e });
    }
  }
  return scheme === undefined && link !== '' && link.trim() === link ? resolve(folder, link) : undefined;
}

/**
 * A link to `file` as FORMAT.md's reader resolves it from the dataset `out`: a file:// URL or absolute
 * path as written, else relative, each segment percent-encoded so a %, # or ? is part of the name (and
 * a copy of the dataset with its files still reads them), or a file:// URL where no relative path reaches (another drive).
 */
function linkFrom(out: string, link: string, file: string): string {
  if (link.startsWith('/') || schemeOf(link) === 'file') return link;
  const fromOut = relative(resolve(out), file);
  return isAbsolute(fromOut) ? pathToFileURL(file).href : fromOut.split(sep).map(encodeURIComponent).join('/');
}

/** One link a line; blank lines and lines starting with # are skipped. */
export function lineEntries(text: string): LinkedEntry[] {
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')).map((link) => ({ link }));
}

/**
 * A CSV (RFC 4180) whose header names the link's column (url, link or path) and, optionally, the
 * class's (label or class) and the split's (split: train, test, validation, ...).
 * Fields are trimmed; a file listed twice is one sample (noted), or refused if its rows disagree.
 */
export function csvEntries(text: string, name = 'the CSV', note: (text: string) => void = () => {}): LinkedEntry[] {
  // Excel and Python's utf-8-sig start the file with a byte order mark, which is no part of the header.
  const [header, ...rows] = parseCsv(text.replace(/^\uFEFF/, '')).filter((r) => r.fields.some((f) => f !== ''));
  if (!header) throw new EdgelakeError('invalid-input', `${name} is empty`);
  const column = (names: string[]) => header.fields.findIndex((h) => names.includes(h.trim().toLowerCase()));
  const link = column(['url', 'link', 'path']);
  const label = column(['label', 'class']);
  const split = column(['split']);
  if (link < 0) throw new EdgelakeError('invalid-input', `${name}: the header (${header.fields.join(',')}) names no url, link or path column`);
  const seen = new Map<string, { line: number; entry: LinkedEntry }>();
  const entries: LinkedEntry[] = [];
  for (const { fields, line } of rows) {
    if (fields.length !== header.fields.length) throw new EdgelakeError('invalid-input', `${name}: line ${line} has ${fields.length} fields, the header ${header.fields.length}`);
    const [url, className, splitName] = [fields[link], fields[label], fields[split]].map((f) => f?.trim());
    if (url === '') throw new EdgelakeError('invalid-input', `${name}: line ${line} has no ${header.fields[link].trim()}`);
    if (splitName !== undefined && !NAME.test(splitName)) throw new EdgelakeError('invalid-input', `${name}: line ${line}'s split ${JSON.stringify(splitName)} is no split name (train, test, validation: letters, digits, . _ -)`);
    const entry: LinkedEntry = { link: url, ...(className && { className }), ...(splitName !== undefined && { split: splitName }) };
    const before = seen.get(url);
    if (before) {
      const [a, b] = [before.entry, entry].map((e) => `label ${JSON.stringify(e.className ?? '')}${split >= 0 ? ` split ${JSON.stringify(e.split)}` : ''}`);
      if (a !== b) throw new EdgelakeError('invalid-input', `${name}: lines ${before.line} and ${line} both list ${JSON.stringify(url)}, with ${a} and ${b}: keep one`);
      note(`${name}: line ${line} lists ${JSON.stringify(url)} again, as line ${before.line} does: kept once`);
      continue;
    }
    seen.set(url, { line, entry });
    entries.push(entry);
  }
  // An empty label would be a class named "" (FORMAT.md has no unlabelled value beside class names): refused.
  const unlabelled = [...seen.values()].filter((s) => s.entry.className === undefined).map((s) => s.line);
  if (label >= 0 && unlabelled.length) throw new EdgelakeError('invalid-input', `${name}: line ${unlabelled.slice(0, 5).join(', ')}${unlabelled.length > 5 ? ` and ${unlabelled.length - 5} more` : ''} ${unlabelled.length === 1 ? 'has' : 'have'} no label: fill ${unlabelled.length === 1 ? 'it' : 'them'} in, or drop the label column to build an unlabelled dataset`);
  return entries;
}

/** Rows of fields, each with the line it starts on (1-based, as an editor counts them): commas between fields, double quotes around fields that hold commas, quotes ("") or line breaks. */
function parseCsv(text: string): { fields: string[]; line: number }[] {
  const rows: { fields: string[]; line: number }[] = [];
  // A field is quoted or bare; what follows it ends the field (,) or the row (a line break, the end).
  const field = /"((?:[^"]|"")*)"|([^",\r\n]*)/y;
  let row: string[] = [];
  let [line, start] = [1, 1];
  for (let at = 0; at <= text.length;) {
    field.lastIndex = at;
    const m = field.exec(text)!;
    row.push(m[1] !== undefined ? m[1].replaceAll('""', '"') : m[2]);
    if (m[1] !== undefined) line += m[1].split(/\r\n|\r|\n/).length - 1; // a quoted field's line breaks are lines too
    at = field.lastIndex;
    const next = text[at];
    if (next === ',') {
      at++;
      continue;
    }
    if (next !== undefined && next !== '\r' && next !== '\n') throw new EdgelakeError('invalid-input', `CSV: a quote in the middle of a field, on line ${line}`);
    rows.push({ fields: row, line: start });
    row = [];
    at += text.startsWith('\r\n', at) ? 2 : 1;
    start = ++line;
  }
  return rows;
}
