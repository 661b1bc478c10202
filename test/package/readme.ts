/**
 * The ```ts blocks of README.md's "Using the library" section, as written, so a test breaks when
 * the README drifts from the package.
 */
export function readmeSnippets(readme: string): string[] {
  const start = readme.indexOf('\n## Using the library\n');
  if (start < 0) throw new Error('README.md has no "## Using the library" section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const snippets = [...section.matchAll(/\n```ts\n([\s\S]*?)\n```/g)].map((m) => m[1]);
  if (snippets.length === 0) throw new Error('"Using the library" has no ```ts blocks');
  return snippets;
}

/**
 * What the snippets after the first take as given: the first snippet's `ds` and `gpu`, the
 * second's `model` and `train`, and `askAPerson`, the user's own labelling UI. Each is declared
 * only for a snippet that uses it without declaring it.
 */
const CONTEXT: [name: string, declaration: string][] = [
  ['ds', 'declare const ds: __edgelake.Dataset;'],
  ['gpu', 'declare const gpu: __edgelake.Gpu | null;'],
  ['model', 'declare const model: __edgelake.Model;'],
  ['train', 'declare const train: __edgelake.Loader;'],
  ['askAPerson', "declare function askAPerson(ids: Uint32Array, previews: __edgelake.QueryResult['previews']): Promise<number[]>;"],
];

/** A snippet as a module of its own: the context it uses (none for the first), then its text verbatim. */
export function snippetModule(code: string, index: number): string {
  const uses = (name: string) => new RegExp(`\\b${name}\\b`).test(code);
  const declares = (name: string) => new RegExp(`\\b(?:const|let|function)\\s+${name}\\b|\\bimport\\b[^;]*\\b${name}\\b[^;]*\\bfrom\\b`).test(code);
  const needed = index === 0 ? [] : CONTEXT.filter(([name]) => uses(name) && !declares(name));
  if (needed.length === 0) return code + '\n';
  return ["import type * as __edgelake from 'edgelake';", ...needed.map(([, d]) => d), '', code, ''].join('\n');
}
