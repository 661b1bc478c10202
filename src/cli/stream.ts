import { MAX_SEED, parseFlags, positiveInt, refuseExpandedPattern, wholeNumber, type Flags } from './flags.js';
import { EdgelakeError } from '../errors.js';
import { openDataset } from '../runtime/open.node.js';
import { Loader, type LoaderStats } from '../runtime/loader/loader.js';
import { query } from '../runtime/query/query.js';
import { openCacheFolder } from './cache.js';
import { formatBytes, progressBar, type CliIo } from './io.js';

export const streamUsage = 'edgelake stream ROOT [--split S] [--query QUERY] [--tensor T ...] [--batch-size N] [--seed S [--window-chunks W]] [--workers N] [--cache DIR] [--ref R] [--json]';

export const streamFlags = {
  split: { type: 'string', value: 'S', help: 'only this split (default every sample)' },
  tensor: { type: 'string', multiple: true, value: 'T', help: 'only this tensor (default every tensor)' },
  'batch-size': { type: 'string', value: 'N', help: 'samples a batch (default 256)' },
  seed: { type: 'string', value: 'S', help: 'shuffle with this seed (default: in order)' },
  'window-chunks': { type: 'string', value: 'W', help: 'with --seed: chunks shuffled together (default 4)' },
  workers: { type: 'string', value: 'N', help: 'decode workers (default 2)' },
  cache: { type: 'string', value: 'DIR', help: 'a persistent chunk cache folder (default none: every chunk fetched)' },
  json: { type: 'boolean', help: 'print the epoch\'s stats as JSON' },
  ref: { type: 'string', value: 'R', help: 'the ref, tag or version id to read (default the head)' },
  query: { type: 'string', value: 'QUERY', help: "only the samples a query selects, e.g. \"select * where label == 'Sandal'\" (edgelake query)" },
} as const satisfies Flags;

/** `edgelake stream`: one epoch through the loader, with a live progress bar and its stats. */
export async function streamCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(streamFlags, args);
  refuseExpandedPattern(positionals);
  if (positionals.length !== 1) throw new EdgelakeError('invalid-input', `usage: ${streamUsage}`);
  if (values['window-chunks'] !== undefined && values.seed === undefined) throw new EdgelakeError('invalid-input', '--window-chunks needs --seed (it shapes the shuffle)');
  const seed = values.seed === undefined ? undefined : wholeNumber(values.seed, '--seed', 0, MAX_SEED);
  const windowChunks = positiveInt(values['window-chunks'], '--window-chunks', 4);
  const workers = wholeNumber(values.workers, '--workers', 2);
  const cache = values.cache ? await openCacheFolder(values.cache, undefined, io) : undefined;
  try {
    const opened = await openDataset(positionals[0], { cache, ref: values.ref });
    // --query: the samples a query selects (within --split, when both are given), of the version it names (`from ref 'R'`).
    const open = (ref: string) => openDataset(positionals[0], { cache, ref });
    const answer = values.query === undefined ? undefined : await query(opened, values.query, { open });
    const ds = answer?.view.dataset ?? opened;
    const view = ds.view({ split: values.split, indices: answer?.ids });
    const loader = new Loader(view, {
      batchSize: positiveInt(values['batch-size'], '--batch-size', 256),
      tensors: values.tensor,
      shuffle: seed === undefined ? undefined : { seed, windowChunks },
      workers,
    });
    const show = progressBar(io, 'streaming');
    loader.addEventListener('progress', (e) => show(e.detail.samples, view.length, describe(e.detail)));
    const before = cache ? { ...cache.stats } : undefined;
    for await (const _ of loader);
    const stats = loader.stats();
    // Chunks read but not stored in the cache (the budget, or a disk that refused them).
    const uncached = cache && before ? { chunksNotCached: cache.stats.notStored - before.notStored, cacheWriteFailures: cache.stats.writeFailures - before.writeFailures } : {};
    const notCached = uncached.chunksNotCached ? `, ${uncached.chunksNotCached} chunks not cached` : '';
    io.stdout(values.json ? JSON.stringify({ dataset: ds.name, version: ds.version, ...stats, ...uncached }) + '\n' : `${stats.samples} samples: ${describe(stats)}${notCached}\n`);
    return 0;
  } finally {
    await cache?.store.close();
  }
}

function describe(s: LoaderStats): string {
  return `${s.samplesPerSecond.toFixed(0)} samples/s, ${formatBytes(s.bytesFetched)} fetched, cache hits ${(s.cacheHitRatio * 100).toFixed(0)}%` +
    (s.timeToFirstBatchMs === null ? '' : `, first batch after ${s.timeToFirstBatchMs.toFixed(0)} ms`);
}
