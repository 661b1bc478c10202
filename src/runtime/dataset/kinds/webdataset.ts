import { EdgelakeError } from '../../../errors.js';
import { crc32 } from '../../../format/hash.js';
import { shardLayout } from '../../../format/webdataset/shards.js';
import { assembleChunk, decodeWebDatasetIndex, indexShards, int32Payload, type ShardSpan, type WebDatasetIndex } from '../../../format/webdataset/wds-index.js';
import type { ReadOptions, Source } from '../../../source/source.js';
import type { Dataset, OpenDatasetOptions } from '../dataset.js';
import { rebase } from './rebase.js';
import { chunkRange, indexedChunk, loadIndex, openInPlace, underlyingRead, versionFile, versionFiles } from './virtual.js';

/** What a shard set is read as: its index, the refs and manifest made from it. */
interface Opened extends Awaited<ReturnType<typeof versionFiles>> {
  index: WebDatasetIndex;
}

/**
 * Opens WebDataset shards (`https://host/train-{000..099}.tar`, s3://, a folder) in place, as an
 * edgelake dataset: the loader, cache, verification and views read it as a native one. Its
 * manifest comes from the index `edgelake index` wrote beside the shards; without one, the shards
 * are read whole, once, to make it. `dataset.network` counts the bytes read from the shards.
 */
export function openWebDataset(pattern: string, options: OpenDatasetOptions = {}): Promise<Dataset> {
  return openInPlace(pattern, options, (shards) => webDatasetSource(pattern, shards));
}

/**
 * The files of a native dataset made from shards read through `shards` (a source at the shards'
 * folder): edgelake.json, the one version, and chunks, each chunk one range read of its shard
 * (or none: class labels live in the index).
 */
export function webDatasetSource(pattern: string, shards: Source): Source {
  let opened: Promise<Opened> | undefined;
  const open = () => {
    opened ??= load(shards, pattern);
    opened.catch(() => (opened = undefined));
    return opened;
  };
  const chunkOf = (o: Opened, path: string) => indexedChunk(o.index.chunks, path, pattern);

  return {
    location: `${shards.location}/${shardLayout(pattern).file}`, // without a URL's query: a token is never shown
    async read(path: string, options?: ReadOptions) {
      const o = await open();
      const whole = versionFile(o, path);
      if (whole) return whole.slice();
      const chunk = chunkOf(o, path);
      if ('values' in chunk) return assembleChunk(chunk);
      const span = await shards.readRange(o.index.shards[chunk.shard].name, chunk.start, spanEnd(chunk), underlyingRead(options));
      return assembleChunk(chunk, checked(chunk, span, o, pattern));
    },
    async readRange(path: string, offset: number, length: number, options?: ReadOptions) {
      const o = await open();
      const whole = versionFile(o, path);
      if (whole) return whole.slice(offset, offset + length);
      const chunk = chunkOf(o, path);
      if ('values' in chunk) return assembleChunk(chunk).slice(offset, offset + length);
      return chunkRange(chunk.sizes, chunk.crcs, offset, length, async (first, last) => {
        // In the shard the samples' members lie in order, other members between them: one read covers them.
        const from = chunk.offsets[first];
        const bytes = await shards.readRange(o.index.shards[chunk.shard].name, chunk.start + from, chunk.offsets[last] + chunk.sizes[last] - from, underlyingRead(options));
        return chunk.offsets.slice(first, last + 1).map((at, k) => bytes.subarray(at - from, at - from + chunk.sizes[first + k]));
      });
    },
  };
}

async function load(shards: Source, pattern: string): Promise<Opened> {
  const index = await loadIndex(pattern, shards, {
    decode: decodeWebDatasetIndex,
    build: (files, name) => indexShards(files, { name, created: new Date(0).toISOString() }),
    files: (i) => i.shards,
    subset: async (i, positions) => {
      const fileOf = (c: ShardSpan) => c.shard;
      const withFile = (c: ShardSpan, shard: number) => ({ ...c, shard });
      const payloads = (values: number[]) => values.map(int32Payload);
      return { ...i, shards: positions.map((p) => i.shards[p]), ...(await rebase({ files: i.shards, manifest: i.manifest, chunks: i.chunks, fileOf, withFile, payloads }, positions)) };
    },
  });
  return { index, ...(await versionFiles(index.name, index.manifest)) };
}

function spanEnd(chunk: ShardSpan): number {
  return chunk.offsets.reduce((end, o, i) => Math.max(end, o + chunk.sizes[i]), 0);
}

/** The span, once each member matches the crc32 indexed: a shard changed since then is named, never mixed in. */
function checked(chunk: ShardSpan, span: Uint8Array, o: Opened, pattern: string): Uint8Array {
  chunk.offsets.forEach((at, i) => {
    if (crc32(span.subarray(at, at + chunk.sizes[i])) !== chunk.crcs[i]) {
      throw new EdgelakeError('integrity', `${pattern}: ${o.index.shards[chunk.shard].name} changed since it was indexed (the member at byte ${chunk.start + at} differs); run edgelake index again`);
    }
  });
  return span;
}
