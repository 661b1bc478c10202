import { EdgelakeError, isEdgelakeError } from '../../../errors.js';
import { encodeChunkHeader } from '../../../format/chunk.js';
import { verifyContentAddress } from '../../../format/content-address.js';
import { sha256Hex } from '../../../format/hash.js';
import { FORMAT_VERSION, REFS_PATH, versionPath, type Manifest, type Refs } from '../../../format/manifest.js';
import { chunkHeaderBytes } from '../../../format/validate.js';
import { shardLayout } from '../../../format/webdataset/shards.js';
import { withMetrics } from '../../../source/metrics.js';
import { openTransport } from '../../../source/open.js';
import type { ReadOptions, Source } from '../../../source/source.js';
import { withVerify } from '../../../source/verify.js';
import { datasetChain, remoteChain } from '../chain.js';
import { Dataset, type OpenDatasetOptions, type SampleReader } from '../dataset.js';
import { openVersion } from '../versions.js';
import { checkUnchanged, type IndexedFile } from './freshness.js';

/*
 * Datasets read in place (WebDataset shards, Parquet files) are shown to the rest of edgelake as
 * native ones: a virtual Source serves edgelake.json, the one version manifest and chunks made
 * from the original files, and the usual chain verifies, counts and caches them.
 */

/** The files of a native dataset made from files in another layout; it may also read single samples of a chunk. */
export interface VirtualSource extends Source {
  readSamples?: SampleReader;
}

/**
 * Opens files matching `pattern` through the virtual Source `virtual` builds over a source at
 * their folder. `dataset.network` counts the bytes read from the original files.
 */
export async function openInPlace(pattern: string, options: OpenDatasetOptions, virtual: (files: Source) => VirtualSource): Promise<Dataset> {
  const transport = (options.openTransport ?? openTransport)(shardLayout(pattern).base, options);
  const { source: files, metrics } = withMetrics(remoteChain(transport, options));
  const inPlace = virtual(files);
  const { source } = datasetChain(withVerify(inPlace, verifyContentAddress), options.cache);
  const v = await openVersion(source, { ref: options.ref, limits: options.limits });
  // Decode workers read through the dataset's chain on this thread: they cannot open a pattern themselves.
  return new Dataset(source, v.refs.name, v.versionId, v.manifest, v.limits, metrics, undefined, { ...options, readSamples: inPlace.readSamples, opened: v.ref });
}

/** The refs and manifest files of a one-version dataset with `manifest`. */
export async function versionFiles(name: string, manifest: Manifest): Promise<{ refs: Uint8Array; manifest: Uint8Array; versionId: string }> {
  const bytes = new TextEncoder().encode(JSON.stringify(manifest, null, 1) + '\n');
  const versionId = await sha256Hex(bytes);
  const refs: Refs = { format: FORMAT_VERSION, name, head: 'main', refs: { main: versionId } };
  return { refs: new TextEncoder().encode(JSON.stringify(refs)), manifest: bytes, versionId };
}

/** edgelake.json or the version manifest, when `path` names one of them. */
export function versionFile(files: { refs: Uint8Array; manifest: Uint8Array; versionId: string }, path: string): Uint8Array | undefined {
  if (path === REFS_PATH) return files.refs;
  if (path === versionPath(files.versionId)) return files.manifest;
  return undefined;
}

/** The index entry of the chunk a path names; not-found for any other. */
export function indexedChunk<T>(chunks: Record<string, T>, path: string, pattern: string): T {
  const hash = /^chunks\/[0-9a-f]{2}\/([0-9a-f]{64})$/.exec(path)?.[1];
  const chunk = hash && Object.hasOwn(chunks, hash) ? chunks[hash] : undefined;
  if (!chunk) throw new EdgelakeError('not-found', `${pattern}: no ${path} (a dataset read in place has one version)`);
  return chunk;
}

/**
 * Bytes [offset, offset + length) of a chunk body whose samples have `sizes` and `crcs`: the
 * header made from them, the payloads of only the samples the range falls in, from `payloads`.
 */
export async function chunkRange(sizes: number[], crcs: number[], offset: number, length: number, payloads: (first: number, last: number) => Promise<Uint8Array[]>): Promise<Uint8Array> {
  const P = chunkHeaderBytes(sizes.length);
  const out = new Uint8Array(length);
  if (offset < P) out.set(encodeChunkHeader(sizes, crcs).subarray(offset, Math.min(P, offset + length)));
  const [from, to] = [Math.max(0, offset - P), offset + length - P]; // payload coordinates
  if (to <= from) return out;
  const starts = sizes.map(((at) => (size: number) => (at += size) - size)(0));
  const total = starts.at(-1)! + sizes.at(-1)!;
  if (to > total) throw new EdgelakeError('not-found', `a range to byte ${offset + length} of a chunk of ${P + total} bytes`);
  const first = starts.filter((s) => s <= from).length - 1; // ascending: the last sample starting at or before `from`
  const last = starts.filter((s) => s < to).length - 1;
  const got = await payloads(first, last);
  got.forEach((p, k) => {
    const i = first + k;
    const [lo, hi] = [Math.max(from, starts[i]), Math.min(to, starts[i] + sizes[i])];
    out.set(p.subarray(lo - starts[i], hi - starts[i]), P + lo - offset);
  });
  return out;
}

/** A chunk read's options for the reads of original files under it: the chunk's size limit and checks are the chunk's. */
export function underlyingRead(options: ReadOptions | undefined): ReadOptions {
  return { signal: options?.signal, onRetry: options?.onRetry };
}

/** How a kind reads the index beside its files, or makes one from the files themselves. */
export interface IndexCodec<I> {
  decode(bytes: Uint8Array, where: string): I;
  build(files: AsyncIterable<{ name: string; bytes: Uint8Array }>, name: string): Promise<I>;
  /** The files the index lists, in order. */
  files(index: I): IndexedFile[];
  /** The index of the files at `positions` of `files(index)` alone, in that order. */
  subset(index: I, positions: number[]): Promise<I>;
}

/**
 * The index beside the files of `pattern` (of those files or more: a subset is served from it; for
 * one file named without braces, its family's too), or,
 * without one, one made by reading each file whole, once (`edgelake index` saves doing it again).
 * An index lacking some of the pattern's files is refused, naming them.
 */
export async function loadIndex<I>(pattern: string, files: Source, codec: IndexCodec<I>): Promise<I> {
  const layout = shardLayout(pattern);
  // Each listed file's position in the index: a pattern may name 100,000 shards.
  const positions = (index: I) => new Map(codec.files(index).map((f, i) => [f.name, i]));
  const lacking = (index: I | undefined) => {
    const listed = index && positions(index);
    return listed ? layout.shards.filter((name) => !listed.has(name)) : layout.shards;
  };
  let index = await readIndex(files, layout.index, codec);
  // `edgelake index` writes `own` where `index` already held other files (shard-{000..002} and then shard-{003..003}).
  if (lacking(index).length) index = (await readIndex(files, layout.own, codec)) ?? index;
  // One file named without braces (train-004.tar) may be listed by its family's index (train-{000..009}.tar's).
  if (!index && layout.family) {
    const family = await readIndex(files, layout.family, codec);
    if (family && !lacking(family).length) index = family;
  }
  if (!index) return codec.build(readWhole(pattern, files, layout.shards), layout.index.replace(/\.edgelake-index\.json\.gz$/, ''));
  const lacks = lacking(index);
  if (lacks.length) {
    const named = `${lacks.slice(0, 5).join(', ')}${lacks.length > 5 ? ` and ${lacks.length - 5} more` : ''}`;
    throw new EdgelakeError('invalid-input', `${pattern}: the index ${layout.index} lacks ${named}; run edgelake index ${pattern}`);
  }
  const listed = positions(index);
  const at = layout.shards.map((name) => listed.get(name)!);
  const all = codec.files(index);
  await checkUnchanged(pattern, files, at.map((i) => all[i]));
  return at.every((p, k) => p === k) && at.length === listed.size ? index : codec.subset(index, at);
}

/** The index at `path`, or undefined where there is none. */
async function readIndex<I>(files: Source, path: string, codec: IndexCodec<I>): Promise<I | undefined> {
  try {
    return codec.decode(await files.read(path), `${files.location}/${path}`);
  } catch (e) {
    if (isEdgelakeError(e, 'not-found')) return undefined;
    throw e;
  }
}

async function* readWhole(pattern: string, files: Source, names: string[]): AsyncIterable<{ name: string; bytes: Uint8Array }> {
  for (const name of names) {
    // Named here: openVersion would take a not-found for a folder without edgelake.json.
    const bytes = await files.read(name).catch((e: unknown) => {
      throw isEdgelakeError(e, 'not-found') ? new EdgelakeError('invalid-input', `${pattern}: ${files.location}/${name}, a file the pattern names, does not exist`, { cause: e }) : e;
    });
    yield { name, bytes };
  }
}
