/**
 * The import graph of src/ (type-only imports included): no cycles between files, and no import
 * from a lower layer up to a higher one, nor across siblings of one floor. The floors, bottom up,
 * as docs/LAYOUT.md draws them:
 *
 *   errors | events  <  kernels  <  format | source  <  cache | sampler  <  runtime/dataset  <  runtime/loader
 *   <  runtime/*.ts (platform assembly)  <  runtime/model  <  runtime/learn  <  cli  <  the entries  <  viewer
 *
 * The viewer is a page built on the library as a user would build it: it imports only the public
 * entries (`edgelake` and `edgelake/kernels`), never their insides.
 *
 * kernels sit below format so the image codecs can run a kernel family's CPU reference (JPEG
 * reconstruction) or record it on a device.
 *
 *   npx tsx scripts/check-imports.ts      (npm test runs it; exit 1 and a list when something breaks)
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A floor: files under `prefix` (a folder ending in '/', or one file). Siblings share a rank. */
const FLOORS: { prefix: string; rank: number }[] = [
  { prefix: 'errors.ts', rank: 0 },
  { prefix: 'events.ts', rank: 0 },
  { prefix: 'kernels/', rank: 1 },
  { prefix: 'format/', rank: 2 },
  { prefix: 'source/', rank: 2 },
  { prefix: 'cache/', rank: 3 },
  { prefix: 'sampler/', rank: 3 },
  { prefix: 'runtime/dataset/', rank: 4 },
  { prefix: 'runtime/loader/', rank: 5 },
  { prefix: 'runtime/', rank: 6 }, // files directly in runtime/: openDataset assembled with the platform's pools
  { prefix: 'runtime/query/', rank: 6 },
  { prefix: 'runtime/model/', rank: 7 },
  { prefix: 'runtime/learn/', rank: 8 },
  { prefix: 'cli/', rank: 9 },
  { prefix: 'index.ts', rank: 10 },
  { prefix: 'node.ts', rank: 10 },
  { prefix: 'tfjs.ts', rank: 10 },
  { prefix: 'onnx.ts', rank: 10 },
  { prefix: 'viewer/', rank: 11 },
];

/** Floors that may import from below only these files (the public entries), besides their own. */
const PUBLIC_ONLY: Record<string, string[]> = { 'viewer/': ['index.ts', 'kernels/index.ts'] };

export interface Problem {
  kind: 'cycle' | 'upward' | 'sibling' | 'unplaced' | 'private';
  message: string;
}

/** The floor of a file (path relative to src/): the longest matching prefix. */
function floorOf(file: string): { prefix: string; rank: number } | undefined {
  const matches = FLOORS.filter((f) => (f.prefix.endsWith('/') ? file.startsWith(f.prefix) && (f.prefix !== 'runtime/' || !file.slice(8).includes('/')) : file === f.prefix));
  return matches.sort((a, b) => b.prefix.length - a.prefix.length)[0];
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

/** Relative specifiers of every import and re-export (static, dynamic and type-only). */
function specifiers(text: string): string[] {
  const out: string[] = [];
  const pattern = /(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g;
  for (let m = pattern.exec(text); m; m = pattern.exec(text)) out.push(m[1]);
  return out;
}

export function checkImports(src: string): Problem[] {
  const files = sourceFiles(src).map((f) => relative(src, f).split('\\').join('/'));
  const graph = new Map<string, string[]>();
  const problems: Problem[] = [];
  for (const file of files) {
    const edges: string[] = [];
    for (const spec of specifiers(readFileSync(join(src, file), 'utf8'))) {
      const target = relative(src, resolve(src, dirname(file), spec.replace(/\.js$/, '.ts'))).split('\\').join('/');
      if (existsSync(join(src, target)) && target.endsWith('.ts')) edges.push(target);
    }
    graph.set(file, edges);
  }
  for (const [file, edges] of graph) {
    const from = floorOf(file);
    if (!from) {
      problems.push({ kind: 'unplaced', message: `${file} is on no floor (add its folder to FLOORS in scripts/check-imports.ts)` });
      continue;
    }
    for (const target of edges) {
      const to = floorOf(target);
      if (!to) continue;
      if (to.rank > from.rank) problems.push({ kind: 'upward', message: `${file} (${from.prefix}) imports ${target} from a higher floor (${to.prefix})` });
      else if (to.rank === from.rank && to.prefix !== from.prefix) problems.push({ kind: 'sibling', message: `${file} (${from.prefix}) imports ${target} from a sibling floor (${to.prefix})` });
      else if (PUBLIC_ONLY[from.prefix] && to.prefix !== from.prefix && !PUBLIC_ONLY[from.prefix].includes(target)) {
        problems.push({ kind: 'private', message: `${file} (${from.prefix}) imports ${target}; it may import only the public entries (${PUBLIC_ONLY[from.prefix].join(', ')})` });
      }
    }
  }
  for (const cycle of cycles(graph)) problems.push({ kind: 'cycle', message: `files importing each other in a circle: ${cycle.join(', ')}` });
  return problems;
}

/** Strongly connected components of more than one file, or a file importing itself (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(component.reverse());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const src = fileURLToPath(new URL('../src', import.meta.url));
  const problems = checkImports(src);
  for (const p of problems) console.error(`${p.kind}: ${p.message}`);
  const files = sourceFiles(src).length;
  if (problems.length > 0) {
    console.error(`check-imports: ${problems.length} problem(s) in ${files} files`);
    process.exit(1);
  }
  console.log(`check-imports: ${files} files, no cycles, no upward or sideways imports`);
}
