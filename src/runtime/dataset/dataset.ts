import type { ChunkCache } from '../../cache/cache.js';
import { withCache } from '../../cache/cached-source.js';
import { EdgelakeError } from '../../errors.js';
import { verifyChunkHeader, verifySamplePayload, type ChunkHeader } from '../../format/chunk.js';
import type { ReadLimits } from '../../format/limits.js';
import { chunkPath, type Manifest, type TensorMeta } from '../../format/manifest.js';
import { chunkHeaderBytes } from '../../format/validate.js';
import { withConcurrency } from '../../source/limit.js';
import { withMetrics, type SourceMetrics } from '../../source/metrics.js';
import { openSource, type OpenSourceOptions } from '../../source/open.js';
import type { Source } from '../../source/source.js';
import { typedArrayFor, type TypedArray } from './batch.js';
import { chunkStarts, locateSample } from './chunk-index.js';
import { decodeSample, decodeSamples } from './decode.js';
import { openVersion } from './versions.js';
import { browserWorkerPool } from '../loader/workers/pool.browser.js';
import { inlinePool, type DecodePool, type RemoteRoot } from '../loader/workers/pool.js';

export interface OpenDatasetOptions extends OpenSourceOptions {
  /** A persistent chunk cache; without one every epoch fetches again. */
  cache?: ChunkCache;
  /** A ref name or version id (default: the dataset's head). */
  ref?: string;
  limits?: Partial<ReadLimits>;
  /** Makes decode worker pools for loaders (chosen by the entry point: worker_threads or Web Workers). */
  createPool?: (size: number) => DecodePool;
  /** Opens a root string (chosen by the entry point: Node adds local folders). */
  openSource?: (root: string, options: OpenSourceOptions) => Source;
}

export interface ViewOptions {
  split?: string;
  /** Dataset sample indices (any order; duplicates removed). */
  indices?: Iterable<number>;
  filter?: (index: number) => boolean;
}

/** Opens a dataset root (http(s):// or s3://, or any Source) at a version; fetches only refs and the manifest. */
export async function openDataset(root: string | Source, options: OpenDatasetOptions = {}): Promise<Dataset> {
  const raw = typeof root === 'string' ? (options.openSource ?? openSource)(root, options) : root;
  const counted = withMetrics(raw);
  const source = options.cache ? withCache(counted.source, options.cache) : counted.source;
  const v = await openVersion(source, { ref: options.ref, limits: options.limits });
  const remote = { ...counted, root: typeof root === 'string' ? workerRoot(root, options) : undefined };
  return new Dataset(source, v.refs.name, v.versionId, v.manifest, v.limits, remote, options);
}

/** The root and its source options, when they can cross to a worker (a custom fetch function cannot). */
function workerRoot(root: string, { http, s3, retry }: OpenSourceOptions): RemoteRoot | undefined {
  try {
    return { root, options: structuredClone({ http, s3, retry }) };
  } catch {
    return undefined;
  }
}

/** One version of a dataset. Nothing is fetched until a view is read. */
export class Dataset {
  private readonly headers = new Map<string, Promise<ChunkHeader>>();

  constructor(
    readonly source: Source,
    readonly name: string,
    readonly version: string,
    readonly manifest: Manifest,
    readonly limits: ReadLimits,
    /** The remote beneath the cache, the requests and bytes that reached it, and its root if workers can open it. */
    private readonly remote: { source: Source; metrics: SourceMetrics; root?: RemoteRoot },
    private readonly options: OpenDatasetOptions,
  ) {}

  /** Requests and bytes that reached the remote (beneath the cache). */
  get network(): SourceMetrics {
    return this.remote.metrics;
  }

  /** The remote itself (no cache), counted in `network`; with `concurrency`, at most that many requests in flight. */
  remoteSource(concurrency?: number): Source {
    return concurrency === undefined ? this.remote.source : withConcurrency(this.remote.source, concurrency);
  }

  /** The root for decode workers to fetch from themselves, when the dataset was opened from a root string. */
  get workerRoot(): RemoteRoot | undefined {
    return this.remote.root;
  }

  /** Counts a read of the remote made elsewhere (by a decode worker), so `network` stays whole. */
  countRemoteRead(bytes: number): void {
    this.remote.metrics.requests++;
    this.remote.metrics.bytes += bytes;
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

  tensor(name: string): TensorMeta {
    const t = Object.hasOwn(this.manifest.tensors, name) ? this.manifest.tensors[name] : undefined;
    if (!t) throw new EdgelakeError('invalid-input', `dataset ${this.name} has no tensor "${name}" (tensors: ${Object.keys(this.manifest.tensors).join(', ')})`);
    return t;
  }

  /** A lazy selection of samples: a split, explicit indices and/or a filter. */
  view(options: ViewOptions = {}): View {
    let ids: Uint32Array;
    if (options.split !== undefined) {
      const ranges = Object.hasOwn(this.splits, options.split) ? this.splits[options.split] : undefined;
      if (!ranges) throw new EdgelakeError('invalid-input', `dataset ${this.name} has no split "${options.split}" (splits: ${Object.keys(this.splits).join(', ')})`);
      ids = new Uint32Array(ranges.reduce((a, [lo, hi]) => a + hi - lo, 0));
      let at = 0;
      for (const [lo, hi] of ranges) for (let i = lo; i < hi; i++) ids[at++] = i;
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

  /** A decode pool of `size` workers (0, or no workers on this platform: on this thread). */
  createPool(size: number): DecodePool {
    // Web Workers where they exist (browsers); the Node entry passes worker_threads instead.
    const create = this.options.createPool ?? (typeof Worker === 'function' ? browserWorkerPool : undefined);
    return size > 0 && create ? create(size) : inlinePool();
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

  /** A chunk's verified header, fetched alone (a range read) and remembered. */
  chunkHeader(tensor: string, chunk: number): Promise<ChunkHeader> {
    const key = `${tensor}/${chunk}`;
    let header = this.headers.get(key);
    if (!header) {
      const ref = this.tensor(tensor).chunks[chunk];
      const where = { dataset: this.name, version: this.version, tensor, chunk: String(chunk) };
      header = this.source.readRange(chunkPath(ref.hash), 0, chunkHeaderBytes(ref.samples)).then((b) => verifyChunkHeader(b, ref, where));
      header.catch(() => this.headers.delete(key));
      if (this.headers.size >= 1024) this.headers.delete(this.headers.keys().next().value!);
      this.headers.set(key, header);
    }
    return header;
  }
}

/** Samples of a dataset chosen by a view; `ids` are dataset indices in ascending order. */
export class View {
  constructor(readonly dataset: Dataset, readonly ids: Uint32Array) {}

  get length(): number {
    return this.ids.length;
  }

  /**
   * Sample `i` of the view, one typed array per tensor. Fetches only what it needs: for
   * uncompressed chunks the header and the sample's byte range, else the whole chunk.
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
      let sample: Uint8Array;
      if (this.dataset.preferRange(name, chunk)) {
        const header = await this.dataset.chunkHeader(name, chunk);
        const from = header.payloadStart + header.offsets[index];
        const bytes = await this.dataset.source.readRange(chunkPath(ref.hash), from, header.offsets[index + 1] - header.offsets[index]);
        sample = decodeSample(verifySamplePayload(header, index, bytes, where), t, this.dataset.limits, where, index).data;
      } else {
        const stored = await this.dataset.source.read(chunkPath(ref.hash), { maxBytes: ref.bytes });
        const all = await decodeSamples({ stored, ref, tensor: t, limits: this.dataset.limits, where, verified: Boolean(this.dataset.cache) });
        sample = all.data.subarray(all.offsets[index], all.offsets[index + 1]);
      }
      out[name] = t.dtype === 'bytes' || t.sampleCompression !== 'none' ? sample.slice() : typedArrayFor(t.dtype, sample.slice().buffer);
    }));
    return out;
  }
}

/** Ascending, each id once (splits may overlap; indices may repeat). */
function sortedUnique(ids: Uint32Array): Uint32Array {
  ids.sort();
  let n = 0;
  for (let i = 0; i < ids.length; i++) if (i === 0 || ids[i] !== ids[i - 1]) ids[n++] = ids[i];
  return ids.subarray(0, n);
}
