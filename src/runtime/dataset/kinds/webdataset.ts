import { EdgelakeError, isEdgelakeError } from '../../../errors.js';
import { verifyContentAddress } from '../../../format/content-address.js';
import { encodeChunkHeader } from '../../../format/chunk.js';
import { sha256Hex, crc32 } from '../../../format/hash.js';
import { FORMAT_VERSION, REFS_PATH, versionPath, type Refs } from '../../../format/manifest.js';
import { chunkHeaderBytes } from '../../../format/validate.js';
import { shardLayout } from '../../../format/webdataset/shards.js';
import { assembleChunk, decodeWebDatasetIndex, indexShards, type ShardSpan, type WebDatasetIndex } from '../../../format/webdataset/wds-index.js';
import { withMetrics } from '../../../source/metrics.js';
import { openTransport } from '../../../source/open.js';
import type { ReadOptions, Source } from '../../../source/source.js';
import { withVerify } from '../../../source/verify.js';
import { datasetChain, remoteChain } from '../chain.js';
import { Dataset, type OpenDatasetOptions } from '../dataset.js';
import { openVersion } from '../versions.js';

/** What a shard set is read as: its index, the refs and manifest made from it. */
interface Opened {
  index: WebDatasetIndex;
  refs: Uint8Array;
  manifest: Uint8Array;
  versionId: string;
}

const encoder = new TextEncoder();

/**
 * Opens WebDataset shards (`https://host/train-{000..099}.tar`, s3://, a folder) in place, as an
 * edgelake dataset: the loader, cache, verification and views read it as a native one. Its
 * manifest comes from the index `edgelake index` wrote beside the shards; without one, the shards
 * are read whole, once, to make it. `dataset.network` counts the bytes read from the shards.
 */
export async function openWebDataset(pattern: string, options: OpenDatasetOptions = {}): Promise<Dataset> {
  const layout = shardLayout(pattern);
  const transport = (options.openTransport ?? openTransport)(layout.base, options);
  const { source: shards, metrics } = withMetrics(remoteChain(transport, options));
  const virtual = withVerify(webDatasetSource(pattern, shards), verifyContentAddress);
  const { source } = datasetChain(virtual, options.cache);
  const v = await openVersion(source, { ref: options.ref, limits: options.limits });
  // Decode workers read through the dataset's chain on this thread: they cannot open a shard pattern themselves.
  return new Dataset(source, v.refs.name, v.versionId, v.manifest, v.limits, metrics, undefined, options);
}

/**
 * The files of a native dataset made from shards read through `shards` (a source at the shards'
 * folder): edgelake.json, the one version, and chunks, each chunk one range read of its shard
 * (or none: class labels live in the index).
 */
export function webDatasetSource(pattern: string, shards: Source): Source {
  const layout = shardLayout(pattern);
  let opened: Promise<Opened> | undefined;
  const open = () => {
    opened ??= load(layout, shards, pattern);
    opened.catch(() => (opened = undefined));
    return opened;
  };
  const notFound = (path: string) => new EdgelakeError('not-found', `${pattern}: no ${path} (a WebDataset has one version)`);

  const chunkOf = (o: Opened, path: string) => {
    const hash = /^chunks\/[0-9a-f]{2}\/([0-9a-f]{64})$/.exec(path)?.[1];
    const chunk = hash && Object.hasOwn(o.index.chunks, hash) ? o.index.chunks[hash] : undefined;
    if (!chunk) throw notFound(path);
    return chunk;
  };
  const file = (o: Opened, path: string) => {
    if (path === REFS_PATH) return o.refs;
    if (path === versionPath(o.versionId)) return o.manifest;
    return undefined;
  };

  return {
    location: `${shards.location}/${pattern.slice(pattern.lastIndexOf('/') + 1)}`,
    async read(path: string, options?: ReadOptions) {
      const o = await open();
      const whole = file(o, path);
      if (whole) return whole.slice();
      const chunk = chunkOf(o, path);
      if ('values' in chunk) return assembleChunk(chunk);
      const span = await shards.readRange(o.index.shards[chunk.shard].name, chunk.start, spanEnd(chunk), shardRead(options));
      return assembleChunk(chunk, checked(chunk, span, o, pattern));
    },
    async readRange(path: string, offset: number, length: number, options?: ReadOptions) {
      const o = await open();
      const whole = file(o, path);
      if (whole) return whole.slice(offset, offset + length);
      const chunk = chunkOf(o, path);
      return 'values' in chunk ? assembleChunk(chunk).slice(offset, offset + length) : readSpanRange(chunk, offset, length, (from, to) => shards.readRange(o.index.shards[chunk.shard].name, chunk.start + from, to - from, shardRead(options)));
    },
  };
}

async function load(layout: ReturnType<typeof shardLayout>, shards: Source, pattern: string): Promise<Opened> {
  let index: WebDatasetIndex;
  try {
    index = decodeWebDatasetIndex(await shards.read(layout.index), `${shards.location}/${layout.index}`);
  } catch (e) {
    if (!isEdgelakeError(e, 'not-found')) throw e;
    // No index beside the shards: read each whole, once (`edgelake index` saves doing it again).
    const read = async function* () {
      for (const name of layout.shards) yield { name, bytes: await shards.read(name) };
    };
    index = await indexShards(read(), { name: layout.index.replace(/\.edgelake-index\.json\.gz$/, ''), created: new Date(0).toISOString() });
  }
  const listed = index.shards.map((s) => s.name);
  if (listed.join('\n') !== layout.shards.join('\n')) {
    throw new EdgelakeError('invalid-input', `${pattern}: the index ${layout.index} lists ${listed.length} shards (${listed[0]}…), the pattern names ${layout.shards.length} (${layout.shards[0]}…); run edgelake index again`);
  }
  const manifest = encoder.encode(JSON.stringify(index.manifest, null, 1) + '\n');
  const versionId = await sha256Hex(manifest);
  const refs: Refs = { format: FORMAT_VERSION, name: index.name, head: 'main', refs: { main: versionId } };
  return { index, refs: encoder.encode(JSON.stringify(refs)), manifest, versionId };
}

/** A chunk read's options for the shard read under it: the chunk's size limit and checks are the chunk's, not the span's. */
function shardRead(options: ReadOptions | undefined): ReadOptions {
  return { signal: options?.signal, onRetry: options?.onRetry };
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

/**
 * Bytes [offset, offset + length) of a span chunk's body: the header made from the index, the
 * payloads from one range read of the shard covering the samples they fall in.
 */
async function readSpanRange(chunk: ShardSpan, offset: number, length: number, readShard: (from: number, to: number) => Promise<Uint8Array>): Promise<Uint8Array> {
  const P = chunkHeaderBytes(chunk.sizes.length);
  const out = new Uint8Array(length);
  const header = encodeChunkHeader(chunk.sizes, chunk.crcs);
  if (offset < P) out.set(header.subarray(offset, Math.min(P, offset + length)));
  const [from, to] = [Math.max(0, offset - P), offset + length - P]; // payload coordinates
  if (to <= from) return out;
  let at = 0;
  const pieces: { sample: number; lo: number; hi: number; into: number }[] = [];
  chunk.sizes.forEach((size, i) => {
    const [lo, hi] = [Math.max(from, at), Math.min(to, at + size)];
    if (lo < hi) pieces.push({ sample: i, lo: lo - at, hi: hi - at, into: P + lo - offset });
    at += size;
  });
  if (at < to) throw new EdgelakeError('not-found', `a range to byte ${offset + length} of a chunk of ${P + at} bytes`);
  // In the shard the pieces lie in sample order, other members between them: one read covers them all.
  const base = chunk.offsets[pieces[0].sample] + pieces[0].lo;
  const bytes = await readShard(base, chunk.offsets[pieces.at(-1)!.sample] + pieces.at(-1)!.hi);
  for (const p of pieces) out.set(bytes.subarray(chunk.offsets[p.sample] + p.lo - base, chunk.offsets[p.sample] + p.hi - base), p.into);
  return out;
}
