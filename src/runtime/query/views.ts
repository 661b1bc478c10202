import { EdgelakeError, isEdgelakeError } from '../../errors.js';
import { sha256Hex } from '../../format/hash.js';
import { DEFAULT_LIMITS } from '../../format/limits.js';
import { NAME, parseJson } from '../../format/validate.js';
import type { Sink } from '../../format/sink.js';
import type { Source } from '../../source/source.js';
import type { Dataset, View } from '../dataset/dataset.js';
import type { QueryAnswer } from './query.js';

/** A saved query answer (FORMAT.md, "Saved views"): content-addressed, with its query and version. */
export interface SavedView {
  format: 'edgelake-view/1';
  query: string;
  version: string;
  ids: number[];
}

export const VIEWS_PATH = 'views.json';
const viewPath = (hash: string) => `views/${hash}.json`;
/** The largest view file written or read (FORMAT.md's limit for a manifest): about 6 million ids. */
export const MAX_VIEW_BYTES = 64 << 20;

/**
 * Refuses a view name that is malformed or taken, before the work whose answer it would name (a
 * query reads chunks first); saveView checks again, under its swap. A name taken by the same
 * query text passes: run again, it saves the same answer (saveView keeps it) or is refused there.
 */
export async function checkNewViewName(source: Source, name: string, query?: string): Promise<void> {
  if (!NAME.test(name)) throw new EdgelakeError('invalid-input', `view name "${name}" must match ${NAME.source}`);
  const names = await readNames(source);
  if (Object.hasOwn(names, name) && (query === undefined || (await readView(source, names[name])).query !== query)) throw taken(name, names[name]);
}

/**
 * Saves a query's answer in the dataset under `name`: the view file (named by its SHA-256) is
 * written first, then views.json gains the name by compare-and-swap. A name is never moved: saving
 * another answer under a taken name is refused.
 */
export async function saveView(sink: Sink, answer: QueryAnswer, name: string): Promise<string> {
  if (!NAME.test(name)) throw new EdgelakeError('invalid-input', `view name "${name}" must match ${NAME.source}`);
  if (!sink.swap) throw new EdgelakeError('invalid-input', 'this root cannot save views safely (its sink has no compare-and-swap)');
  const view: SavedView = { format: 'edgelake-view/1', query: answer.query, version: answer.version, ids: Array.from(answer.ids) };
  const bytes = new TextEncoder().encode(JSON.stringify(view) + '\n');
  // Every reader, and edgelake views, would refuse a larger file: materializing keeps any number of samples.
  if (bytes.length > MAX_VIEW_BYTES) throw new EdgelakeError('limit', `view ${name}: its ${answer.ids.length} ids take ${bytes.length} bytes, over the ${MAX_VIEW_BYTES} a view file may hold; materialize the query as a version instead`);
  const hash = await sha256Hex(bytes);
  await sink.checkSwap?.(); // a root whose views.json cannot move safely is refused before the view is uploaded
  await sink.write(viewPath(hash), bytes);
  for (;;) {
    const before = await sink.read(VIEWS_PATH);
    const names = before ? parseNames(before) : {};
    if (names[name] === hash) return hash;
    if (Object.hasOwn(names, name)) throw taken(name, names[name]);
    if (await sink.swap(VIEWS_PATH, before, new TextEncoder().encode(JSON.stringify({ ...names, [name]: hash }, null, 2) + '\n'))) return hash;
  }
}

/** The views saved in a dataset's root, by name. */
export async function listViews(source: Source): Promise<(Omit<SavedView, 'ids' | 'format'> & { name: string; hash: string; count: number })[]> {
  const names = await readNames(source);
  return Promise.all(Object.entries(names).map(async ([name, hash]) => {
    const view = await readView(source, hash);
    return { name, hash, query: view.query, version: view.version, count: view.ids.length };
  }));
}

/** A saved view as a View of `dataset`, which must be the version the view was saved from. */
export async function openView(dataset: Dataset, name: string): Promise<{ view: View; saved: SavedView }> {
  const names = await readNames(dataset.source);
  if (!Object.hasOwn(names, name)) throw new EdgelakeError('not-found', `dataset ${dataset.name} has no view named ${name} (views: ${Object.keys(names).join(', ') || 'none'})`);
  const saved = await readView(dataset.source, names[name]);
  if (saved.version !== dataset.version) throw new EdgelakeError('invalid-input', `view ${name} was saved from version ${saved.version}; open the dataset there (ref: '${saved.version}')`);
  return { view: dataset.view({ indices: saved.ids }), saved };
}

function taken(name: string, hash: string): EdgelakeError {
  return new EdgelakeError('conflict', `a view named ${name} is saved already (${hash}), of another query or answer; views never change: pick another name`);
}

async function readNames(source: Source): Promise<Record<string, string>> {
  try {
    return parseNames(await source.read(VIEWS_PATH, { maxBytes: 1 << 20 }));
  } catch (e) {
    if (isEdgelakeError(e, 'not-found')) return {};
    throw e;
  }
}

function parseNames(bytes: Uint8Array): Record<string, string> {
  const names = parseJson(bytes, VIEWS_PATH, DEFAULT_LIMITS) as Record<string, string>;
  if (typeof names !== 'object' || names === null || Object.entries(names).some(([k, v]) => !NAME.test(k) || !/^[0-9a-f]{64}$/.test(v))) {
    throw new EdgelakeError('invalid-manifest', `${VIEWS_PATH}: not an object of view names to SHA-256 hex`);
  }
  return names;
}

async function readView(source: Source, hash: string): Promise<SavedView> {
  const bytes = await source.read(viewPath(hash), { maxBytes: MAX_VIEW_BYTES });
  if ((await sha256Hex(bytes)) !== hash) throw new EdgelakeError('integrity', `${viewPath(hash)}: its bytes do not match its name`);
  const view = parseJson(bytes, viewPath(hash), DEFAULT_LIMITS) as SavedView;
  if (view?.format !== 'edgelake-view/1' || !Array.isArray(view.ids)) throw new EdgelakeError('invalid-manifest', `${viewPath(hash)}: not an edgelake-view/1 file`);
  return view;
}
