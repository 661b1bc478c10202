import { parseArgs, type ParseArgsConfig } from 'node:util';

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
