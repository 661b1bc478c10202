import { parseArgs, type ParseArgsConfig } from 'node:util';
import { EdgelakeError } from '../errors.js';
import { NAME } from '../format/validate.js';

/** One flag of a command: its parser type and the line `--help` shows for it. */
export interface Flag {
  type: 'string' | 'boolean';
  multiple?: boolean;
  default?: string;
  /** What a string flag takes, as help shows it: N, FILE, gpu|cpu. */
  value?: string;
  help: string;
}

export type Flags = Record<string, Flag>;

type Values<F extends Flags> = {
  [K in keyof F]?: F[K]['type'] extends 'boolean' ? boolean : F[K]['multiple'] extends true ? string[] : string;
};

/** A command's arguments parsed against its flag table: the same table its --help prints, so they cannot drift. */
export function parseFlags<const F extends Flags>(flags: F, args: string[]): { values: Values<F>; positionals: string[] } {
  // parseArgs refuses keys set to undefined: only those a flag has.
  const options = Object.fromEntries(Object.entries(flags).map(([name, f]) => [name, { type: f.type, ...(f.multiple && { multiple: true }), ...(f.default !== undefined && { default: f.default }) }]));
  const { values, positionals } = parseArgs({ args, allowPositionals: true, strict: true, options: options as NonNullable<ParseArgsConfig['options']> });
  return { values: values as Values<F>, positionals };
}

/** `--help` for a command: its usage, what it does, then every flag with its line. */
export function helpText(usage: string, summary: string, flags: Flags): string {
  const rows = Object.entries(flags).map(([name, f]) => [`--${name}${f.type === 'string' ? ` ${f.value ?? 'VALUE'}` : ''}`, `${f.help}${f.default !== undefined ? ` (default ${f.default})` : ''}${f.multiple ? ' (repeatable)' : ''}`]);
  rows.push(['--help', 'this text']);
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return `usage: ${usage}\n\n${summary}\n\nflags:\n${rows.map(([left, right]) => `  ${left.padEnd(width)}${right}`).join('\n')}\n`;
}

/** The flag a mistyped one most likely meant (at most two edits away), for "did you mean". */
export function closestFlag(typed: string, flags: Flags): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of Object.keys(flags)) {
    const distance = editDistance(typed, name);
    if (distance <= 2 && (!best || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length];
}

// What a flag's value must be, checked before any work: each error names the flag and the value.

/** --name as edgelake.json holds it: a name it would refuse makes a dataset that never opens again. */
export function datasetName(value: string | undefined): string | undefined {
  const characters = value === undefined ? 1 : [...value].length; // code points, as edgelake.json counts them
  if (characters < 1 || characters > 200) throw new EdgelakeError('invalid-input', `--name must have 1 to 200 characters, not ${characters}`);
  return value;
}

/** --ref as a ref name, checked before anything is written. */
export function refName(value: string | undefined): string | undefined {
  if (value !== undefined && !NAME.test(value)) throw new EdgelakeError('invalid-input', `--ref "${value}" must match ${NAME.source}`);
  return value;
}

/** --created as a manifest holds it: an RFC 3339 time in UTC on a real day (Date.parse takes February 30). */
export function createdTime(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const day = /^(\d{4}-\d{2}-\d{2})T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?Z$/.exec(value)?.[1];
  const parsed = day === undefined ? NaN : Date.parse(`${day}T00:00:00Z`);
  if (Number.isNaN(parsed) || new Date(parsed).toISOString().slice(0, 10) !== day) {
    throw new EdgelakeError('invalid-input', `--created must be a UTC time like 2026-11-21T12:00:00Z, not "${value}"`);
  }
  return value;
}

export function positiveInt(value: string | undefined, flag: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new EdgelakeError('invalid-input', `${flag} must be a positive integer${max < Number.MAX_SAFE_INTEGER ? ` up to ${max}` : ''}, not "${value}"`);
  return n;
}

/** The largest --chunk-kib: a chunk may pass its size by a sample, and readers refuse chunks over 256 MiB. */
export const MAX_CHUNK_KIB = 128 << 10;
/** The largest --seed: seeds are 32-bit. */
export const MAX_SEED = 2 ** 32 - 1;

/** A whole number from 0 to `max`, in digits only: "", "1.5", "1e3" and "0x10" are refused. */
export function wholeNumber(value: string | undefined, flag: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) > max) {
    throw new EdgelakeError('invalid-input', `${flag} must be a whole number ${max === Number.MAX_SAFE_INTEGER ? '0 or more' : `from 0 to ${max}`}, not "${value}"`);
  }
  return Number(value);
}

/**
 * Refuses shard paths the shell expanded from an unquoted pattern (train-{000..099}.tar gives 100
 * arguments): said so, rather than a bare usage line.
 */
export function refuseExpandedPattern(positionals: string[]): void {
  const shards = positionals.filter((p) => /\.(tar|parquet)(\?.*)?$/i.test(p)).length;
  if (shards > 1) throw new EdgelakeError('invalid-input', `${shards} shard paths given: quote the pattern ('train-{000..099}.tar') so the shell does not expand it`);
}
