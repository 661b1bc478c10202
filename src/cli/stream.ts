import { parseArgs } from 'node:util';
import { EdgelakeError } from '../errors.js';
import { openDataset } from '../runtime/open.node.js';
import { Loader, type LoaderStats } from '../runtime/loader/loader.js';
import { openCacheFolder } from './cache.js';
import { positiveInt } from './build.js';
import { formatBytes, progressBar, type CliIo } from './io.js';

export const streamUsage = 'edgelake stream ROOT [--split S] [--tensor T ...] [--batch-size N] [--seed S] [--window-chunks W] [--workers N] [--cache DIR] [--json]';

/** `edgelake stream`: one epoch through the loader, with a live progress bar and its stats. */
export async function streamCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true,
    options: {
      split: { type: 'string' }, tensor: { type: 'string', multiple: true }, 'batch-size': { type: 'string' }, seed: { type: 'string' },
      'window-chunks': { type: 'string' }, workers: { type: 'string' }, cache: { type: 'string' }, json: { type: 'boolean' }, ref: { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new EdgelakeError('invalid-input', `usage: ${streamUsage}`);
  const cache = values.cache ? await openCacheFolder(values.cache, undefined, io) : undefined;
  try {
    const ds = await openDataset(positionals[0], { cache, ref: values.ref });
    const view = ds.view({ split: values.split });
    const loader = new Loader(view, {
      batchSize: positiveInt(values['batch-size'], '--batch-size', 256),
      tensors: values.tensor,
      shuffle: values.seed === undefined ? undefined : { seed: Number(values.seed), windowChunks: positiveInt(values['window-chunks'], '--window-chunks', 4) },
      workers: values.workers === undefined ? 2 : Number(values.workers),
    });
    const show = progressBar(io, 'streaming');
    loader.addEventListener('progress', (e) => show((e as CustomEvent<LoaderStats>).detail.samples, view.length, describe((e as CustomEvent<LoaderStats>).detail)));
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
