import { readFile } from 'node:fs/promises';
import { EdgelakeError } from '../errors.js';
import { buildLinked, type LinkedEntry } from '../format/builders/build-linked.js';
import { FolderSink } from '../format/folder-sink.node.js';
import { createdTime, datasetName, describeBuild, positiveInt, refName } from './build.js';
import { parseFlags, type Flags } from './flags.js';
import type { CliIo } from './io.js';

export const buildLinkedUsage = 'edgelake build linked LIST --out DIR [--name N] [--format jpeg|png] [--chunk-samples N] [--created ISO] [--ref R]  (LIST: a .csv with a url column and an optional label column, or one link a line)';

export const buildLinkedFlags = {
  out: { type: 'string', value: 'DIR', help: 'the folder to write the dataset into (required)' },
  name: { type: 'string', value: 'N', help: 'the dataset\'s name (default linked)' },
  format: { type: 'string', value: 'jpeg|png', help: 'the files\' format (default: from their extensions)' },
  'chunk-samples': { type: 'string', value: 'N', help: 'links a chunk: a loader reads a chunk\'s files together (default 32)' },
  created: { type: 'string', value: 'ISO', help: 'the version\'s time (default now)' },
  ref: { type: 'string', value: 'R', help: 'the ref to point at the new version (default main)' },
} as const satisfies Flags;

/** `edgelake build linked LIST`: a dataset of links to files where they are (no file is read). */
export async function buildLinkedCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(buildLinkedFlags, args);
  if (positionals.length !== 1 || !values.out) throw new EdgelakeError('invalid-input', `usage: ${buildLinkedUsage}`);
  const list = positionals[0];
  const options = { name: datasetName(values.name), chunkSamples: positiveInt(values['chunk-samples'], '--chunk-samples', 32), created: createdTime(values.created) ?? new Date().toISOString(), ref: refName(values.ref) };
  let text: string;
  try {
    text = await readFile(list, 'utf8');
  } catch (e) {
    throw new EdgelakeError('invalid-input', `cannot read ${list}: ${(e as Error).message}`, { cause: e });
  }
  const format = values.format;
  if (format !== undefined && format !== 'jpeg' && format !== 'png') throw new EdgelakeError('invalid-input', `--format must be jpeg or png, not "${format}"`);
  const result = await buildLinked(new FolderSink(values.out), /\.csv$/i.test(list) ? csvEntries(text, list) : lineEntries(text), { ...options, format });
  io.stdout(describeBuild(values.out, result));
  return 0;
}

/** One link a line; blank lines and lines starting with # are skipped. */
export function lineEntries(text: string): LinkedEntry[] {
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')).map((link) => ({ link }));
}

/** A CSV (RFC 4180) whose header names the link's column (url, link or path) and, optionally, the class's (label or class). */
export function csvEntries(text: string, name = 'the CSV'): LinkedEntry[] {
  // Excel and Python's utf-8-sig start the file with a byte order mark, which is no part of the header.
  const [header, ...rows] = parseCsv(text.replace(/^\uFEFF/, '')).filter((r) => r.some((f) => f !== ''));
  if (!header) throw new EdgelakeError('invalid-input', `${name} is empty`);
  const column = (names: string[]) => header.findIndex((h) => names.includes(h.trim().toLowerCase()));
  const link = column(['url', 'link', 'path']);
  const label = column(['label', 'class']);
  if (link < 0) throw new EdgelakeError('invalid-input', `${name}: the header (${header.join(',')}) names no url, link or path column`);
  return rows.map((r, i) => {
    if (r.length !== header.length) throw new EdgelakeError('invalid-input', `${name}: row ${i + 2} has ${r.length} fields, the header ${header.length}`);
    return { link: r[link], ...(label >= 0 && { className: r[label] }) };
  });
}

/** Rows of fields: commas between them, double quotes around fields that hold commas, quotes ("") or line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  // A field is quoted or bare; what follows it ends the field (,) or the row (a line break, the end).
  const field = /"((?:[^"]|"")*)"|([^",\r\n]*)/y;
  let row: string[] = [];
  for (let at = 0; at <= text.length;) {
    field.lastIndex = at;
    const m = field.exec(text)!;
    row.push(m[1] !== undefined ? m[1].replaceAll('""', '"') : m[2]);
    at = field.lastIndex;
    const next = text[at];
    if (next === ',') {
      at++;
      continue;
    }
    if (next !== undefined && next !== '\r' && next !== '\n') throw new EdgelakeError('invalid-input', `CSV: a quote in the middle of a field, at character ${at}`);
    rows.push(row);
    row = [];
    at += text.startsWith('\r\n', at) ? 2 : 1;
  }
  return rows;
}
