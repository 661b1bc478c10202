import { stat } from 'node:fs/promises';
import { parseFlags, type Flags } from './flags.js';
import { ChunkCache } from '../cache/cache.js';
import { withCache } from '../cache/cached-source.js';
import { FsChunkStore } from '../cache/fs-store.node.js';
import { EdgelakeError } from '../errors.js';
import { decodeChunk } from '../format/chunk.js';
import { describeWhere, type Where } from '../format/limits.js';
import { chunkPath } from '../format/manifest.js';
import { chunksCovering } from '../runtime/dataset/chunk-index.js';
import { openVersion, type OpenedVersion } from '../runtime/dataset/versions.js';
import { openSourceNode } from '../source/open.node.js';
import type { Source } from '../source/source.js';
import { formatBytes, progressBar, type CliIo } from './io.js';

export const DEFAULT_BUDGET = 4 * 2 ** 30;
const CONFIG_NOTE = 'config';

export const fetchUsage = 'edgelake fetch ROOT --cache DIR [--ref R] [--split S] [--tensor T ...] [--budget SIZE] [--json]';
export const cacheUsage = 'edgelake cache stats|verify|clear --cache DIR [--json] [--budget SIZE]';

export const fetchFlags = {
  cache: { type: 'string', value: 'DIR', help: 'the cache folder to fill (required; created if missing)' },
  ref: { type: 'string', value: 'R', help: 'the ref or version id to read (default the dataset\'s head)' },
  split: { type: 'string', value: 'S', help: 'only this split\'s samples (default all)' },
  tensor: { type: 'string', multiple: true, value: 'T', help: 'only this tensor\'s chunks (default every tensor)' },
  budget: { type: 'string', value: 'SIZE', help: 'the cache\'s byte budget, e.g. 2G, remembered in the folder (default 4G)' },
  json: { type: 'boolean', help: 'print the result as JSON' },
} as const satisfies Flags;

export const cacheFlags = {
  cache: { type: 'string', value: 'DIR', help: 'the cache folder (required)' },
  json: { type: 'boolean', help: 'print the result as JSON' },
  budget: { type: 'string', value: 'SIZE', help: 'set the cache\'s byte budget, e.g. 2G, remembered in the folder' },
} as const satisfies Flags;

/**
 * Opens the cache folder with its budget: --budget if given (then remembered in the folder for
 * later commands, and the cache trimmed to it), else the remembered one, else 4 GiB. The cache's warning (it cannot write: a
 * full disk) goes to stderr, once.
 */
export async function openCacheFolder(dir: string, budget: string | undefined, io: CliIo): Promise<ChunkCache> {
  const store = await FsChunkStore.open(dir);
  const note = budget === undefined ? await store.getNote(CONFIG_NOTE) : undefined;
  const budgetBytes = budget !== undefined ? parseSize(budget, '--budget')
    : note ? rememberedBudget(note, store.notePath(CONFIG_NOTE), dir)
    : DEFAULT_BUDGET;
  const cache = new ChunkCache(store, { budgetBytes });
  cache.addEventListener('warning', (e) => io.stderr(`warning: ${e.detail.message}\n`));
  if (budget !== undefined) {
    await cache.putNote(CONFIG_NOTE, new TextEncoder().encode(JSON.stringify({ budgetBytes })));
    // A lower budget holds from now on, not from the next write.
    const evicted = await cache.trim();
    if (evicted) io.stderr(`evicted ${evicted} chunks to fit the budget of ${formatBytes(budgetBytes)}\n`);
  }
  return cache;
}

/** The budget a config note holds; a damaged note is named, with the way to set it again. */
function rememberedBudget(note: Uint8Array, path: string, dir: string): number {
  let budgetBytes: unknown;
  try {
    budgetBytes = JSON.parse(new TextDecoder().decode(note))?.budgetBytes;
  } catch {
    // not JSON: refused below, as a note without a budget is
  }
  if (typeof budgetBytes === 'number' && budgetBytes >= 0) return budgetBytes;
  throw new EdgelakeError('invalid-input', `${path}: the budget this cache remembers is damaged (it should hold {"budgetBytes": N}); set it again with edgelake cache stats --cache ${dir} --budget SIZE`);
}

/** `edgelake fetch`: prefetch a split's chunks (all tensors, or the named ones) into the cache. */
export async function fetchCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(fetchFlags, args);
  if (positionals.length !== 1) throw new EdgelakeError('invalid-input', `usage: ${fetchUsage}`);
  if (!values.cache) throw new EdgelakeError('invalid-input', `fetch fills a cache folder: give it with --cache DIR (edgelake fetch --help)\nusage: ${fetchUsage}`);
  const cache = await openCacheFolder(values.cache, values.budget, io);
  try {
    const remote = openSourceNode(positionals[0]);
    const version = await openVersion(withCache(remote, cache), { ref: values.ref });
    const { manifest } = version;
    const ranges = values.split === undefined ? [[0, manifest.length] as [number, number]] : manifest.splits[values.split];
    if (!ranges) throw new EdgelakeError('invalid-input', `dataset ${version.refs.name} has no split "${values.split}" (splits: ${Object.keys(manifest.splits).join(', ')})`);
    const names = values.tensor ?? Object.keys(manifest.tensors);
    const wanted = names.flatMap((name) => {
      const tensor = manifest.tensors[name];
      if (!tensor) throw new EdgelakeError('invalid-input', `dataset ${version.refs.name} has no tensor "${name}"`);
      return chunksCovering(tensor, ranges).map((index) => ({ tensor: name, index, bytes: tensor.chunks[index].bytes }));
    });
    const total = wanted.reduce((a, c) => a + c.bytes, 0);
    // Past the budget, later chunks would only evict earlier ones: fetch what fits beside what the
    // cache holds of other files (this version's manifest, say), and say so first.
    const hashes = new Set(wanted.map((c) => manifest.tensors[c.tensor].chunks[c.index].hash));
    const others = (await cache.store.entries()).reduce((a, e) => a + (hashes.has(e.hash) ? 0 : e.bytes), 0);
    const fits = withinBudget(wanted, cache.budgetBytes - others);
    const fitBytes = fits.reduce((a, c) => a + c.bytes, 0);
    if (fits.length < wanted.length) {
      io.stderr(`warning: ${values.split === undefined ? 'the dataset' : `split ${values.split}`} (${wanted.length} chunks, ${formatBytes(total)}) does not fit the cache's ${formatBytes(cache.budgetBytes)} budget: ` +
        `fetching the first ${fits.length} chunks (${formatBytes(fitBytes)}); raise --budget to cache it all\n`);
    }
    const before = { ...cache.stats };
    const show = progressBar(io, 'fetching', 'bytes');
    let done = 0;
    show(0, fitBytes);
    // A few reads in flight: the source's own concurrency cap and retries apply beneath.
    const queue = [...fits];
    await Promise.all(Array.from({ length: 4 }, async () => {
      for (let c = queue.shift(); c; c = queue.shift()) {
        await fetchChecked(cache, remote, version, c.tensor, c.index);
        show((done += c.bytes), fitBytes);
      }
    }));
    const s = cache.stats;
    const [hits, misses, notStored, refused] = [s.hits - before.hits, s.misses - before.misses, s.notStored - before.notStored, s.writeFailures - before.writeFailures];
    const why = refused === 0 ? 'budget too small' : refused === notStored ? `${refused} refused by the disk` : `${refused} refused by the disk, the others by the budget`;
    // What the cache holds now: under a small budget, chunks stored early were evicted for later ones.
    const held = new Set((await cache.store.entries()).map((e) => e.hash));
    const kept = wanted.filter((c) => held.has(manifest.tensors[c.tensor].chunks[c.index].hash)).length;
    const overBudget = wanted.length - fits.length;
    const result = { chunks: wanted.length, bytes: total, alreadyCached: hits, fetched: misses, overBudget, bytesFetched: s.bytesFetched - before.bytesFetched, notStored, evicted: s.evictions - before.evictions, held: kept, budgetBytes: cache.budgetBytes };
    // already cached + fetched + over the budget = the chunks asked for; evictions are of other chunks, counted apart.
    io.stdout(values.json ? JSON.stringify(result) + '\n'
      : `${wanted.length} chunks, ${formatBytes(total)}: ${hits} already cached, ${misses} fetched (${formatBytes(result.bytesFetched)})` +
        `${overBudget ? `, ${overBudget} left out (over the budget)` : ''}${notStored ? `, ${notStored} not stored (${why})` : ''}; the cache holds ${kept} of them` +
        `${result.evicted ? ` (${result.evicted} older entries evicted to stay within its ${formatBytes(cache.budgetBytes)} budget)` : ''}\n`);
    return 0;
  } finally {
    await cache.store.close();
  }
}

/** The leading chunks whose bytes together fit the budget. */
function withinBudget<T extends { bytes: number }>(chunks: T[], budget: number): T[] {
  let sum = 0;
  const n = chunks.findIndex((c) => (sum += c.bytes) > budget);
  return n === -1 ? chunks : chunks.slice(0, n);
}

/**
 * Chunk `index` of `tensor` into the cache, checked as `stream` checks it (decodeChunk: size,
 * SHA-256, header, headerHash, every sample's crc32 and size) before it is stored: a chunk that
 * stream would refuse fails here, naming it, and is not cached. A cached chunk is checked too.
 */
async function fetchChecked(cache: ChunkCache, remote: Source, v: OpenedVersion, tensor: string, index: number): Promise<void> {
  const meta = v.manifest.tensors[tensor];
  const ref = meta.chunks[index];
  const path = chunkPath(ref.hash);
  const where: Where = { dataset: v.refs.name, version: v.versionId, tensor, chunk: index, file: `${remote.location}/${path}` };
  let checked = false;
  const bytes = await cache.get(ref.hash, {
    where: describeWhere(where),
    verified: true, // decodeChunk hashed it
    fetch: async () => {
      const stored = await remote.read(path, { maxBytes: ref.bytes });
      await decodeChunk(stored, ref, meta, v.limits, where);
      checked = true;
      return stored;
    },
  });
  if (!checked) await decodeChunk(bytes, ref, meta, v.limits, where, { verified: true }); // the cache hashed it
}

/** `edgelake cache stats|verify|clear --cache DIR`. */
export async function cacheCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(cacheFlags, args);
  const action = positionals[0];
  if (positionals.length !== 1 || !values.cache || !['stats', 'verify', 'clear'].includes(action)) {
    throw new EdgelakeError('invalid-input', `usage: ${cacheUsage}`);
  }
  // Looking at a cache must not make one: a mistyped folder is named, not created (setting a budget makes one).
  if (values.budget === undefined && !(await stat(values.cache).then(() => true, () => false))) {
    throw new EdgelakeError('not-found', `no cache folder at ${values.cache} (edgelake fetch --cache ${values.cache}, or --budget SIZE, makes one)`);
  }
  const cache = await openCacheFolder(values.cache, values.budget, io);
  const print = (json: object, text: string) => io.stdout(values.json ? JSON.stringify(json) + '\n' : text + '\n');
  try {
    if (action === 'stats') {
      const entries = await cache.store.entries();
      const bytes = entries.reduce((a, e) => a + e.bytes, 0);
      const lastUsed = entries.length ? new Date(entries.reduce((a, e) => Math.max(a, e.lastUsed), 0)).toISOString() : null;
      print({ location: cache.store.location, entries: entries.length, bytes, budgetBytes: cache.budgetBytes, lastUsed },
        `${cache.store.location}: ${entries.length} chunks, ${formatBytes(bytes)} of ${formatBytes(cache.budgetBytes)} budget` +
        `${lastUsed ? `, last used ${lastUsed}` : ''}`);
    } else if (action === 'verify') {
      const report = await cache.verify(progressBar(io, 'verifying'));
      print({ entries: report.entries, bytes: report.bytes, corrupt: report.corrupt, removed: report.removed },
        `${report.entries} chunks (${formatBytes(report.bytes)}) verified; ${report.corrupt} corrupt${report.corrupt ? ' (removed)' : ''}`);
      return report.corrupt ? 1 : 0;
    } else {
      const removed = await cache.clear();
      print({ removed }, `removed ${removed} chunks from ${cache.store.location}`);
    }
    return 0;
  } finally {
    await cache.store.close();
  }
}

/** "500M", "2G", "1.5GiB", "1048576" -> bytes. */
export function parseSize(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(i?B)?$/i.exec(text.trim());
  if (!m) throw new EdgelakeError('invalid-input', `${flag} must be a size such as 500M or 2G, not "${text}"`);
  return Math.floor(Number(m[1]) * 1024 ** ' KMGT'.indexOf(m[2].toUpperCase() || ' '));
}
