import type { ChunkCache } from '../../cache/cache.js';
import { EdgelakeError } from '../../errors.js';
import type { Committed } from '../../format/builders/commit.js';
import { verifySamplePayload, verifyChunkHeader, type ChunkHeader } from '../../format/chunk.js';
import type { ReadLimits } from '../../format/limits.js';
import { chunkPath, type ChunkRef, type Manifest, type TensorMeta } from '../../format/manifest.js';
import type { Sink } from '../../format/sink.js';
import { chunkHeaderBytes } from '../../format/validate.js';
import type { SourceMetrics } from '../../source/metrics.js';
import { DEFAULT_CONCURRENCY, openTransport, type OpenSourceOptions } from '../../source/open.js';
import type { ReadOptions, Source } from '../../source/source.js';
import { typedArrayFor, type TypedArray } from './batch.js';
import { datasetChain, remoteChain, remoteRoot, type RemoteRoot } from './chain.js';
import { chunkStarts, locateSample, mergeRanges } from './chunk-index.js';
import { commitDataset, type CommitDatasetOptions } from './commit.js';
import { decodeSample, decodeSamples } from './decode.js';
import { HeaderIndex } from './header-index.js';
import { filesTensor, LinkedFiles, linkedChunk, linksOf, linkTensor } from './links.js';
import type { PoolFactory } from './decode-pool.js';
import { openVersion } from './versions.js';

export interface OpenDatasetOptions extends OpenSourceOptions {
  /** A persistent chunk cache; without one every epoch fetches again. */
  cache?: ChunkCache | undefined;
  /** A ref name or version id (default: the dataset's head). */
  ref?: string | undefined;
  limits?: Partial<ReadLimits>;
  /** Makes decode worker pools for loaders (chosen by the entry point: worker_threads or Web Workers). */
  createPool?: PoolFactory;
  /** Opens the bare transport of a root string (chosen by the entry point: Node adds local folders). */
  openTransport?: (root: string, options: OpenSourceOptions) => Source;
  /** Parquet files: the columns to read when no index lies beside them (default: every column); an index without one of them is refused. */
  columns?: string[];
}

/**
 * Reads samples of a chunk (chunk-local indices) without its header or the rest of its body, each
 * checked by the reader: a dataset read in place whose index knows where each row lives.
 */
export type SampleReader = (ref: ChunkRef, samples: number[], options?: ReadOptions) => Promise<Uint8Array[]>;

export interface ViewOptions {
  split?: string | undefined;
  /** Dataset sample indices (any order; duplicates removed). */
  indices?: Iterable<number>;
  filter?: (index: number) => boolean;
}

/**
 * Opens a dataset root (http(s):// or s3://, or any Source) at a version; fetches only refs and
 * the manifest. Every read goes through one chain of sources (chain.ts): a root string gets
 * retries and a concurrency cap, a Source is used as it is; both are verified, counted and cached.
 */
export async function openDataset(root: string | Source, options: OpenDatasetOptions = {}): Promise<Dataset> {
  const remote = typeof root === 'string'
    ? remoteChain((options.openTransport ?? openTransport)(root, options), options)
    : remoteChain(root, { retry: false, concurrency: false });
  const { source, metrics } = datasetChain(remote, options.cache);
  const v = await openVersion(source, { ref: options.ref, limits: options.limits });
  const forWorkers = typeof root === 'string' ? remoteRoot(root, options) : undefined;
  const links = new LinkedFiles(typeof root === 'string' ? root : root.location, options);
  return new Dataset(source, v.refs.name, v.versionId, v.manifest, v.limits, metrics, forWorkers, { ...options, links, opened: v.ref });
}

/** One version of a dataset. Nothing is fetched until a view is read. */
export class Dataset {
  private readonly headers = new Map<string, Promise<ChunkHeader>>();
  private readonly indexes = new Map<string, HeaderIndex>();

  constructor(
    /** Every read of the dataset goes through this chain (chain.ts): the remote, metrics, the cache. */
    readonly source: Source,
    readonly name: string,
    readonly version: string,
    readonly manifest: Manifest,
    readonly limits: ReadLimits,
    /** Requests and bytes that reached the remote (beneath the cache), counted by the chain. */
    private readonly chunkNetwork: SourceMetrics,
    /** The root for decode workers to read from themselves, when the dataset was opened from a root string. */
    private readonly root: RemoteRoot | undefined,
    private readonly options: Pick<OpenDatasetOptions, 'cache' | 'createPool'> & { links?: LinkedFiles; readSamples?: SampleReader; opened?: string },
  ) {}

  /**
   * Requests and bytes that reached the remote, beneath the cache: the dataset's own files and, for
   * linked tensors, the files they link (`links.network` alone counts those).
   */
  get network(): SourceMetrics {
    const linked = this.options.links?.network;
    if (!linked) return this.chunkNetwork;
    const sum = (key: keyof SourceMetrics) => this.chunkNetwork[key] + linked[key];
    return { requests: sum('requests'), bytes: sum('bytes'), retries: sum('retries'), refetched: sum('refetched'), unchanged: sum('unchanged') };
  }

  /** The ref or tag this version was opened at (undefined when opened by its id): what commit moves by default. */
  get ref(): string | undefined {
    return this.options.opened;
  }

  /** How single samples are read without their chunk's header, when the dataset's kind knows better than ranges of the chunk body. */
  get readSamples(): SampleReader | undefined {
    return this.options.readSamples;
  }

  /**
   * The root for `workers` decode workers to read through their own remote chains: they share
   * the dataset's concurrency cap. Undefined when the dataset was not opened from a root string.
   */
  workerRemote(workers: number): RemoteRoot | undefined {
    if (!this.root) return undefined;
    const { concurrency } = this.root.options;
    const share = concurrency === false ? false : Math.max(1, Math.ceil((concurrency ?? DEFAULT_CONCURRENCY) / Math.max(1, workers)));
    return { root: this.root.root, options: { ...this.root.options, concurrency: share } };
  }

  /** The platform's decode worker pools, when the entry point gave one. */
  get createPool(): PoolFactory | undefined {
    return this.options.createPool;
  }

  get length(): number {
    return this.manifest.length;
  }
  get splits(): Manifest['splits'] {
    return this.manifest.splits;
  }
  get tensors(): Manifest['tensors'] {
    return this.manifest.tensors;
  }
  get cache(): ChunkCache | undefined {
    return this.options.cache;
  }

  /** Where the files of linked tensors are read (FORMAT.md, "Linked tensors"); its `network` counts them. */
  get links(): LinkedFiles {
    if (!this.options.links) throw new EdgelakeError('invalid-input', `dataset ${this.name} was opened without a way to read linked files`);
    return this.options.links;
  }

  /**
   * The files that samples of chunk `chunk` of a linked tensor link: `indices` (in the chunk;
   * default all), read through `links` (FORMAT.md, "Linked tensors"). `stored`: the chunk of
   * URLs when the caller has read it already.
   */
  async readLinked(tensor: string, chunk: number, options: { indices?: number[]; stored?: Uint8Array; signal?: AbortSignal } = {}): Promise<Uint8Array[]> {
    const t = this.tensor(tensor);
    const ref = t.chunks[chunk];
    const where = { dataset: this.name, version: this.version, tensor, chunk: String(chunk) };
    const stored = options.stored ?? (await this.source.read(chunkPath(ref.hash), { maxBytes: ref.bytes, signal: options.signal }));
    const urls = await decodeSamples({ stored, ref, tensor: linkTensor(t), limits: this.limits, where, verified: true });
    const links = linksOf(urls.data, urls.offsets);
    const indices = options.indices ?? links.map((_, i) => i);
    return this.links.read(ref, indices.map((i) => [i, links[i]]), this.limits, where, options.signal);
  }

  /**
   * readLinked's files as a chunk of them and the tensor that reads it: what decodeSamples takes.
   * With `wanted` (chunk-local indices), only those files are read; the others are empty samples.
   */
  async linkedFiles(tensor: string, chunk: number, stored: Uint8Array, signal?: AbortSignal, wanted?: Uint32Array): Promise<{ stored: Uint8Array; ref: ChunkRef; tensor: TensorMeta }> {
    const read = await this.readLinked(tensor, chunk, { stored, signal, ...(wanted && { indices: Array.from(wanted) }) });
    let files = read;
    if (wanted) {
      files = Array.from({ length: this.tensor(tensor).chunks[chunk].samples }, () => new Uint8Array(0));
      wanted.forEach((i, k) => (files[i] = read[k]));
    }
    return { ...(await linkedChunk(files, this.tensor(tensor).chunks[chunk])), tensor: filesTensor(this.tensor(tensor)) };
  }

  tensor(name: string): TensorMeta {
    const t = Object.hasOwn(this.manifest.tensors, name) ? this.manifest.tensors[name] : undefined;
    if (!t) throw new EdgelakeError('invalid-input', `dataset ${this.name} has no tensor "${name}" (tensors: ${Object.keys(this.manifest.tensors).join(', ')})`);
    return t;
  }

  /** Writes a child of this version into `sink` (the dataset's root): see commitDataset. */
  commit(sink: Sink, options: CommitDatasetOptions = {}): Promise<Committed> {
    return commitDataset(this, sink, options);
  }

  /** A lazy selection of samples: a split, explicit indices and/or a filter. */
  view(options: ViewOptions = {}): View {
    let ids: Uint32Array;
    if (options.split !== undefined) {
      const ranges = Object.hasOwn(this.splits, options.split) ? this.splits[options.split] : undefined;
      if (!ranges) throw new EdgelakeError('invalid-input', `dataset ${this.name} has no split "${options.split}" (splits: ${Object.keys(this.splits).join(', ')})`);
      ids = splitIds(ranges);
    } else {
      ids = new Uint32Array(this.length);
      for (let i = 0; i < ids.length; i++) ids[i] = i;
    }
    if (options.indices !== undefined) {
      const wanted = Uint32Array.from(options.indices, (i) => {
        if (!Number.isInteger(i) || i < 0 || i >= this.length) throw new EdgelakeError('invalid-input', `dataset ${this.name}: index ${i} is outside [0, ${this.length})`);
        return i;
      });
      const allowed = options.split === undefined ? undefined : new Set(ids);
      ids = allowed ? wanted.filter((i) => allowed.has(i)) : wanted;
    }
    if (options.filter) ids = ids.filter((i) => options.filter!(i));
    return new View(this, sortedUnique(ids));
  }

  /**
   * Whether one sample of a chunk is cheaper to read by ranges (header, then the sample) than as
   * the whole chunk: only for uncompressed chunks, and only when the header is already known or
   * small next to the chunk (small samples make the 8-bytes-per-sample header the larger part).
   */
  preferRange(tensor: string, chunk: number): boolean {
    const t = this.tensor(tensor);
    if (t.chunkCompression !== 'none') return false;
    if (this.headers.has(`${tensor}/${chunk}`)) return true;
    const ref = t.chunks[chunk];
    return chunkHeaderBytes(ref.samples) + ref.bytes / ref.samples < ref.bytes / 2;
  }

  /**
   * A chunk's verified header, remembered: from the tensor's header index once reading it pays
   * (header-index.ts), else fetched alone (a range read), as it is when the index's copy fails
   * its headerHash.
   */
  chunkHeader(tensor: string, chunk: number): Promise<ChunkHeader> {
    const key = `${tensor}/${chunk}`;
    let header = this.headers.get(key);
    if (!header) {
      const ref = this.tensor(tensor).chunks[chunk];
      const where = { dataset: this.name, version: this.version, tensor, chunk: String(chunk) };
      // The check runs in the chain's verify layer: a header damaged in transit is fetched again.
      const check = (b: Uint8Array) => verifyChunkHeader(b, ref, where);
      const alone = () => this.source.readRange(chunkPath(ref.hash), 0, chunkHeaderBytes(ref.samples), { check }).then(check);
      header = this.headerIndex(tensor).header(chunk).then((indexed) => (indexed ? check(indexed).catch(alone) : alone()));
      header.catch(() => this.headers.delete(key));
      if (this.headers.size >= 1024) this.headers.delete(this.headers.keys().next().value!);
      this.headers.set(key, header);
    }
    return header;
  }

  private headerIndex(tensor: string): HeaderIndex {
    let index = this.indexes.get(tensor);
    if (!index) this.indexes.set(tensor, (index = new HeaderIndex(this.source, this.tensor(tensor), this.limits.maxChunkBytes)));
    return index;
  }
}

/** Samples of a dataset chosen by a view; `ids` are dataset indices in ascending order. */
export class View {
  constructor(readonly dataset: Dataset, readonly ids: Uint32Array) {}

  get length(): number {
    return this.ids.length;
  }

  /**
   * Sample `i` of the view, one typed array per tensor. Fetches only what it needs: what the
   * dataset's kind reads of one sample (Parquet: its page), for uncompressed chunks the header and
   * the sample's byte range, else the whole chunk.
   */
  async get(i: number, tensors: string[] = Object.keys(this.dataset.tensors)): Promise<Record<string, TypedArray | Uint8Array>> {
    if (!Number.isInteger(i) || i < 0 || i >= this.ids.length) throw new EdgelakeError('invalid-input', `view index ${i} is outside [0, ${this.ids.length})`);
    const id = this.ids[i];
    const out: Record<string, TypedArray | Uint8Array> = {};
    await Promise.all(tensors.map(async (name) => {
      const t = this.dataset.tensor(name);
      const { chunk, index } = locateSample(chunkStarts(t), id);
      const ref = t.chunks[chunk];
      const where = { dataset: this.dataset.name, version: this.dataset.version, tensor: name, chunk: String(chunk) };
      const stored = t.linked ? linkTensor(t) : t; // a linked tensor's chunks hold the files' URLs
      let sample: Uint8Array;
      if (this.dataset.readSamples && !t.linked) {
        const [bytes] = await this.dataset.readSamples(ref, [index]);
        sample = decodeSample(bytes, stored, this.dataset.limits, where, index).data;
      } else if (this.dataset.preferRange(name, chunk)) {
        const header = await this.dataset.chunkHeader(name, chunk);
        const from = header.payloadStart + header.offsets[index];
        const check = (b: Uint8Array) => verifySamplePayload(header, index, b, where); // crc32: damaged in transit -> fetched again
        const bytes = await this.dataset.source.readRange(chunkPath(ref.hash), from, header.offsets[index + 1] - header.offsets[index], { check });
        sample = decodeSample(check(bytes), stored, this.dataset.limits, where, index).data;
      } else {
        const bytes = await this.dataset.source.read(chunkPath(ref.hash), { maxBytes: ref.bytes });
        const all = await decodeSamples({ stored: bytes, ref, tensor: stored, limits: this.dataset.limits, where, verified: true }); // the chain verified it
        sample = all.data.subarray(all.offsets[index], all.offsets[index + 1]);
      }
      if (t.linked) {
        const [file] = await this.dataset.links.read(ref, [[index, linksOf(sample, [0, sample.length])[0]]], this.dataset.limits, where);
        sample = decodeSample(file, filesTensor(t), this.dataset.limits, where, index).data;
      }
      out[name] = t.dtype === 'bytes' || t.sampleCompression !== 'none' ? sample.slice() : typedArrayFor(t.dtype, sample.slice().buffer);
    }));
    return out;
  }
}

/** A split's ids, ascending and each once: never more than the dataset, however its ranges overlap. */
function splitIds(ranges: readonly (readonly [number, number])[]): Uint32Array {
  const merged = mergeRanges(ranges);
  const ids = new Uint32Array(merged.reduce((a, [lo, hi]) => a + hi - lo, 0));
  let at = 0;
  for (const [lo, hi] of merged) for (let i = lo; i < hi; i++) ids[at++] = i;
  return ids;
}

/** Ascending, each id once (splits may overlap; indices may repeat). */
function sortedUnique(ids: Uint32Array): Uint32Array {
  ids.sort();
  let n = 0;
  for (let i = 0; i < ids.length; i++) if (i === 0 || ids[i] !== ids[i - 1]) ids[n++] = ids[i];
  return ids.subarray(0, n);
}
