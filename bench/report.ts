import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';

export interface BenchRow {
  measure: string;
  value: number;
  unit: string;
}

/** Prints a benchmark's rows as a markdown table and writes bench/results/<name>.{json,md}. */
export function report(name: string, title: string, rows: BenchRow[], notes: string[] = []): void {
  const table = [`## ${title}`, '', '| measure | value | unit |', '| --- | ---: | --- |',
    ...rows.map((r) => `| ${r.measure} | ${Number.isInteger(r.value) ? r.value : r.value.toFixed(3)} | ${r.unit} |`),
    ...(notes.length ? ['', ...notes.map((n) => `- ${n}`)] : [])].join('\n');
  console.log(`\n${table}\n`);
  const dir = join('bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.json`), JSON.stringify({ name, title, when: new Date().toISOString(), rows, notes }, null, 2) + '\n');
  writeFileSync(join(dir, `${name}.md`), table + '\n');
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/**
 * A benchmark's flags: `--help` prints the comment at the head of the benchmark's file (what it
 * measures, its command line) and exits; anything else is parsed strictly, as parseArgs does.
 */
export function benchArgs<const T extends ParseArgsConfig>(url: string, config: T): ReturnType<typeof parseArgs<T>> {
  if (process.argv.slice(2).some((a) => a === '--help' || a === '-h')) {
    const head = /^\/\*\*([\s\S]*?)\*\//.exec(readFileSync(fileURLToPath(url), 'utf8'))?.[1] ?? ' no description';
    console.log(head.split('\n').map((l) => l.replace(/^\s*\* ?/, '')).join('\n').trim());
    process.exit(0);
  }
  return parseArgs(config);
}
