import { EdgelakeError } from '../../errors.js';
import { TypedEventTarget } from '../../events.js';
import { chunkPath, type TensorMeta } from '../../format/manifest.js';
import { fixedSampleBytes } from '../../format/validate.js';
import type { ReadOptions } from '../../source/source.js';
import { stack, type TypedArray } from '../dataset/batch.js';
import { CpuBatchTransform, GpuBatchTransform, type BatchTensor, type BatchTransform, type DecodedImages, type TensorTransform } from './transform.js';
import { fitCrop, jpegOnDevice } from './fit.js';
import { chunkStarts, locateSample } from '../dataset/chunk-index.js';
import type { View } from '../dataset/dataset.js';
import type { DecodedSamples } from '../dataset/decode.js';
import { checkU32, EpochOrder, groupByChunk, shown, type ShuffleOptions } from './order.js';
import { Residency } from './residency.js';
import { readWantedSamples, wantedInChunk } from './sparse.js';
import { inlinePool, type DecodePool } from './workers/pool.js';

const DEFAULT_PREFETCH_BYTES = 64 << 20;

export interface LoaderOptions {
  batchSize: number;
  /** Tensors to load (default: all). */
  tensors?: string[];
  /** Chunk-aware shuffling, deterministic for (seed, epoch); without it, dataset order. */
  shuffle?: ShuffleOptions;
  /** Drop the last batch if it is smaller than batchSize. */
  dropLast?: boolean;
  /**
   * Memory for decoded chunks, in use and ahead, and fetched bytes not yet in the cache (default 64 MiB); it never depends on the dataset's size.
   * 0 reads nothing ahead of the window in use; Infinity reads ahead without limit.
   */
  prefetchBytes?: number;
  /** Decode worker threads (default 0: decode on this thread); they also read the chunks (the dataset's concurrency cap is theirs to share). */
  workers?: number | undefined;
  /** A decode pool to share between loaders (instead of `workers`); the loader does not close it. */
  pool?: DecodePool;
  /** Aborting it does what close() does. */
  signal?: AbortSignal | undefined;
  /** The epoch (default 0), an integer in [0, 2^32): with the seed, it keys the shuffle and the transforms' random draws. */
  epoch?: number;
  /** A state() from an interrupted loader: yields exactly the samples it had not yet yielded. */
  resume?: LoaderState;
  /** Batches go to this GPU device: every tensor is a GPUBuffer, transformed ones float32 from the kernels. */
  device?: GPUDevice | undefined;
  /** Per tensor: to float32 with scale, per-channel mean/std and layout (on the device, or by the CPU references). */
  transform?: Record<string, TensorTransform>;
}

/** Samples gathered for the next batch: ids, each tensor's sample bytes, and decoded images' [h, w, c] and fit boxes. */
interface Pending {
  ids: number[];
  parts: Map<string, Uint8Array[]>;
  shapes: Map<string, number[]>;
  boxes: Map<string, number[]>;
}

export interface Batch {
  /** Dataset sample indices, in the order of the batch. */
  ids: Uint32Array;
  /**
   * Per tensor: batch x sample elements (a typed array, float32 when transformed), a list of
   * samples when their sizes differ, or a GPUBuffer when the loader has a device (valid until
   * the next batch is asked for).
   */
  tensors: Record<string, BatchTensor>;
  /** Per image tensor the loader does not transform: each sample's decoded [height, width, channels], 3 numbers a sample. */
  shapes?: Record<string, Uint32Array>;
}

/**
 * One tensor of a batch as the typed array the caller expects (`batchArray(batch, 'image',
 * Uint8Array)`): batches hold a union, and this narrows it with a check rather than a cast.
 * 'invalid-input' names the tensor when it is absent, a GPUBuffer (the loader has a device), a
 * list of samples of different sizes, or a typed array of another type.
 */
export function batchArray<T extends TypedArray>(batch: Batch, name: string, type: abstract new (...args: never[]) => T): T {
  const tensor = batch.tensors[name];
  if (tensor instanceof type) return tensor;
  throw new EdgelakeError('invalid-input', `batch tensor '${name}' is ${describeTensor(tensor)}, not a ${type.name}`);
}

/** One tensor of a batch from a loader with a device, as its GPUBuffer (valid until the next batch). */
export function batchBuffer(batch: Batch, name: string): GPUBuffer {
  const tensor = batch.tensors[name];
  if (tensor !== undefined && !Array.isArray(tensor) && !ArrayBuffer.isView(tensor)) return tensor;
  throw new EdgelakeError('invalid-input', `batch tensor '${name}' is ${describeTensor(tensor)}, not a GPUBuffer (give the loader a device)`);
}

function describeTensor(tensor: BatchTensor | undefined): string {
  if (tensor === undefined) return 'absent (not among the loader\'s tensors)';
  if (Array.isArray(tensor)) return `a list of ${tensor.length} samples of different sizes (use a transform with a fit)`;
  if (ArrayBuffer.isView(tensor)) return `a ${tensor.constructor.name}`;
  return 'a GPUBuffer (the loader has a device)';
}

/** What `addEventListener` hands each of Loader's events. */
export interface LoaderEvents {
  /** After each batch. */
  progress: CustomEvent<LoaderStats>;
  /** When an iteration ends: after the last batch, or on a break or an error. */
  end: CustomEvent<LoaderStats>;
}

/** Small and JSON-able: enough to continue an epoch exactly where it stopped. */
export interface LoaderState {
  format: 'edgelake-loader/1';
  version: string;
  /** Fingerprint of the view's sample ids. */
  view: string;
  primary: string;
  epoch: number;
  /** Samples of the epoch already yielded. */
  position: number;
  shuffle: ShuffleOptions | null;
}

export interface LoaderStats {
  samples: number;
  samplesPerSecond: number;
  /** Bytes that came from the remote (cache hits excluded). */
  bytesFetched: number;
  /** Chunks the epoch read, from the cache or the remote (cacheMisses of them came from the remote). */
  chunksRead: number;
  /** Reads retried after a transient fault, and of those, transfers fetched again because their bytes failed their check. */
  retries: number;
  refetched: number;
  cacheHits: number;
  cacheMisses: number;
  cacheHitRatio: number;
  timeToFirstBatchMs: number | null;
}

/** An iteration's teardown, once it has begun: by close(), at the loop's end, or when its iterator is collected. */
interface Iteration {
  stop?: () => Promise<void>;
}

/** Stops the iterations whose iterators were dropped unfinished, without close(): their workers would run on for good. */
const dropped = new FinalizationRegistry<Iteration>((iteration) => void iteration.stop?.());

/**
 * Batches over a view, streaming: decoded chunks are fetched window by window ahead of use,
 * within a memory budget, so training starts after the first chunks arrive and the rest stream
 * while it runs. A loader yields one epoch; `forEpoch` makes the next. Iterate with `for await`:
 * an iteration goes on from `state().position` (where a break left it), and one that starts at
 * the end of an epoch this loader went through runs the same epoch again from its start, in the
 * same order. `state()` and `resume` continue an epoch exactly, in a new loader.
 */
export class Loader extends TypedEventTarget<LoaderEvents> implements AsyncIterable<Batch> {
  private readonly tensors: string[];
  private readonly primary: string;
  private readonly order: EpochOrder;
  private position: number;
  private closed = false;
  /** Whether an iteration has begun: position at the end then means a pass ended, not a finished state resumed. */
  private iterated = false;
  private started = 0;
  private firstBatchAt: number | null = null;
  private samples = 0;
  private chunksRead = 0;
  private baseline!: { bytes: number; retries: number; refetched: number; hits: number; misses: number };
  /** Cache writes still running, and their bytes. */
  private readonly writes = new Set<Promise<void>>();
  private writingBytes = 0;
  /** Per tensor, the dataset index of each chunk's first sample (chunkStarts), computed on first use. */
  private readonly starts = new Map<string, number[]>();
  /** Decodes the first window on this thread: in a worker it would queue behind the prefetches. */
  private readonly here = inlinePool();
  /** Iterations begun and not yet stopped (their workers not yet terminated). */
  private readonly iterations = new Set<Iteration>();

  constructor(private readonly view: View, private readonly options: LoaderOptions) {
    super();
    checkOptions(options);
    const ds = view.dataset;
    this.tensors = options.tensors ?? Object.keys(ds.tensors);
    if (this.tensors.length === 0) throw new EdgelakeError('invalid-input', 'a loader needs at least one tensor');
    // Chunk locality follows the tensor with the most bytes (usually the images).
    const bytesOf = (t: TensorMeta) => t.chunks.reduce((a, c) => a + c.bytes, 0);
    this.primary = options.resume?.primary ?? [...this.tensors].sort((a, b) => bytesOf(ds.tensor(b)) - bytesOf(ds.tensor(a)) || (a < b ? -1 : 1))[0];
    const epoch = options.resume?.epoch ?? options.epoch ?? 0;
    const shuffle = options.resume ? options.resume.shuffle ?? undefined : options.shuffle;
    this.order = new EpochOrder(groupByChunk(view.ids, chunkStarts(ds.tensor(this.primary))), shuffle, epoch);
    this.position = options.resume ? this.checkResume(options.resume) : 0;
    this.resetStats();
  }

  state(): LoaderState {
    return {
      format: 'edgelake-loader/1', version: this.view.dataset.version, view: fingerprint(this.view.ids), primary: this.primary,
      epoch: this.order.epoch, position: this.position, shuffle: this.order.shuffle ?? null,
    };
  }

  /** Of the iteration in progress, or the last one. */
  stats(): LoaderStats {
    const ds = this.view.dataset;
    const hits = (ds.cache?.stats.hits ?? 0) - this.baseline.hits;
    const misses = (ds.cache?.stats.misses ?? 0) - this.baseline.misses;
    const seconds = this.started ? (performance.now() - this.started) / 1000 : 0;
    return {
      samples: this.samples, samplesPerSecond: seconds > 0 ? this.samples / seconds : 0,
      bytesFetched: ds.network.bytes - this.baseline.bytes, chunksRead: this.chunksRead,
      retries: ds.network.retries - this.baseline.retries, refetched: ds.network.refetched - this.baseline.refetched,
      cacheHits: hits, cacheMisses: misses, cacheHitRatio: hits + misses > 0 ? hits / (hits + misses) : 0,
      timeToFirstBatchMs: this.firstBatchAt === null ? null : this.firstBatchAt - this.started,
    };
  }

  /** A new loader over the same view with the same options, for epoch `epoch` (its own shuffle). */
  forEpoch(epoch: number): Loader {
    // A resume at the epoch's start keeps this order's shuffle and primary tensor, which a resumed state may have given.
    return new Loader(this.view, { ...this.options, resume: { ...this.state(), epoch, position: 0 } });
  }

  /** The epoch this loader yields. */
  get epoch(): number {
    return this.order.epoch;
  }

  /**
   * Ends the iteration, even one nobody resumes: aborts its reads, frees the chunks it holds and
   * terminates the workers it made; a `next()` awaited meanwhile gives its batch or `done`.
   */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.iterations].map((it) => it.stop?.()));
  }

  [Symbol.asyncIterator](): AsyncGenerator<Batch> {
    const iteration: Iteration = {};
    const it = this.iterate(iteration);
    dropped.register(it, iteration, iteration);
    return it;
  }

  private async *iterate(iteration: Iteration): AsyncGenerator<Batch> {
    if (this.options.signal?.aborted) this.closed = true;
    if (this.iterated && this.position === this.order.length) this.position = 0;
    this.iterated = true;
    this.resetStats();
    // Aborts this iteration's reads still in flight when it ends (a break, close(), an error).
    const abort = new AbortController();
    const ds = this.view.dataset;
    const budget = this.options.prefetchBytes ?? DEFAULT_PREFETCH_BYTES;
    const transform = this.makeTransform(); // first: it may refuse the options, and then no workers should be left running
    const pool = this.options.pool ?? this.createPool(this.closed ? 0 : this.options.workers ?? 0);
    // Prefetching waits until the first window's bytes are in (not decoded): the first batch gets the link to itself.
    const firstReads = new Set<string>();
    let firstArrived!: () => void;
    const firstIn = new Promise<void>((resolve) => (firstArrived = resolve));
    const fetched = (key: string) => {
      if (firstReads.delete(key) && firstReads.size === 0) firstArrived();
    };
    // The first window is read on this thread: nothing trains yet, and the workers are still starting.
    // Until they answer, chunks are read here too, one window ahead, so that the link does not wait for them.
    let readHere = true;
    let workersReady = pool.size === 0;
    (pool.ready?.() ?? Promise.resolve()).then(() => (workersReady = true), () => (workersReady = true)); // a worker that failed fails its tasks
    const residency = new Residency<DecodedSamples>((key) => this.load(key, pool, fetched, readHere ? 'first' : workersReady ? 'pool' : 'here', abort.signal), Math.floor(budget / 4), budget);
    const starts = new Map(this.tensors.map((t) => [t, chunkStarts(ds.tensor(t))]));
    const windows = new Map<number, Window>();
    const onAbort = () => void this.close();
    this.options.signal?.addEventListener('abort', onAbort);
    let stopped: Promise<void> | undefined;
    // Idempotent; it references nothing that holds the generator, so a dropped one can be collected and stopped.
    iteration.stop = () => {
      if (stopped) return stopped;
      abort.abort(new EdgelakeError('source', `dataset ${ds.name}: loader stopped`));
      for (const win of windows.values()) for (const k of win.chunks.keys()) residency.release(k);
      windows.clear();
      residency.clear();
      this.options.signal?.removeEventListener('abort', onAbort);
      dropped.unregister(iteration);
      const closed = this.options.pool ? Promise.resolve() : pool.close().catch(() => {});
      return (stopped = closed.then(() => void this.iterations.delete(iteration)));
    };
    this.iterations.add(iteration);
    const plan = (w: number): Window => {
      let win = windows.get(w);
      if (win) return win;
      const samples = this.order.windowSamples(w);
      const sizes = new Map<string, number>();
      for (const t of this.tensors) {
        for (const id of samples) {
          const key = `${t}/${locateSample(starts.get(t)!, id).chunk}`;
          if (!sizes.has(key)) sizes.set(key, this.estimate(key));
        }
      }
      windows.set(w, (win = { samples, sizes, chunks: new Map() }));
      return win;
    };
    const acquire = (win: Window, key: string): void => {
      if (win.chunks.has(key)) return;
      const p = residency.acquire(key, win.sizes.get(key)!);
      // Awaited in order below; a rejection here must not count as unhandled meanwhile.
      p.catch(() => {});
      win.chunks.set(key, p);
    };
    // Chunk by chunk, the windows after `w` while they fit in the memory budget with what is in use.
    let ahead = 0; // windows before it have every chunk acquired
    const prefetch = (w: number): void => {
      if (stopped) return;
      const end = workersReady ? this.order.windowCount : Math.min(this.order.windowCount, w + 2);
      for (ahead = Math.max(ahead, w + 1); ahead < end; ahead++) {
        const win = plan(ahead);
        for (const [key, bytes] of win.sizes) {
          if (win.chunks.has(key)) continue;
          if (!residency.fits(key, bytes, this.writingBytes)) return; // bytes on their way to the cache count too
          acquire(win, key);
        }
      }
    };
    this.started = performance.now();
    const first = this.position < this.order.length ? this.order.windowAt(this.position) : this.order.windowCount;
    let pending = this.newPending();
    try {
      for (let w = first; w < this.order.windowCount && !this.closed; w++) {
        const win = plan(w);
        for (const key of win.sizes.keys()) acquire(win, key);
        if (w === first) {
          for (const k of win.chunks.keys()) firstReads.add(k);
          readHere = false;
          await Promise.race([firstIn, Promise.allSettled(win.chunks.values())]);
        }
        prefetch(w);
        const decoded = new Map<string, DecodedSamples>();
        for (const [k, p] of win.chunks) decoded.set(k, await p);
        // On resume, the first window's samples before the saved position were already yielded.
        for (let i = w === first ? this.position - this.order.windowStart(w) : 0; i < win.samples.length; i++) {
          const id = win.samples[i];
          pending.ids.push(id);
          for (const t of this.tensors) {
            const { chunk, index } = locateSample(starts.get(t)!, id);
            const d = decoded.get(`${t}/${chunk}`)!;
            pending.parts.get(t)!.push(d.data.subarray(d.offsets[index], d.offsets[index + 1]));
            if (d.shapes) pending.shapes.get(t)!.push(...d.shapes.subarray(3 * index, 3 * index + 3));
            if (d.boxes) pending.boxes.get(t)!.push(...d.boxes.subarray(4 * index, 4 * index + 4));
          }
          if (pending.ids.length === this.options.batchSize) {
            yield await this.emit(pending, transform);
            pending = this.newPending();
            if (this.closed) break;
            prefetch(w);
          }
        }
        for (const k of win.chunks.keys()) residency.release(k);
        windows.delete(w);
      }
      if (!this.closed && pending.ids.length > 0) {
        if (this.options.dropLast) this.position += pending.ids.length;
        else yield await this.emit(pending, transform);
      }
      await Promise.all(this.writes);
    } catch (e) {
      if (!stopped) throw e; // else close() aborted what it awaited
    } finally {
      const stopping = iteration.stop();
      await Promise.all(this.writes);
      transform?.close(); // here, not in stop(): a batch's GPU buffers may be in use until the loop resumes
      await stopping; // the loop ends with its workers gone (those still loading are let finish first: WorkerPool.close)
      this.dispatchEvent(new CustomEvent('end', { detail: this.stats() }));
    }
  }

  private resetStats(): void {
    const ds = this.view.dataset;
    const { bytes, retries, refetched } = ds.network;
    this.baseline = { bytes, retries, refetched, hits: ds.cache?.stats.hits ?? 0, misses: ds.cache?.stats.misses ?? 0 };
    [this.samples, this.chunksRead, this.firstBatchAt] = [0, 0, null];
  }

  private newPending(): Pending {
    const each = () => new Map(this.tensors.map((t) => [t, []]));
    return { ids: [], parts: each(), shapes: each(), boxes: each() };
  }

  private async emit(pending: Pending, transform: BatchTransform | undefined): Promise<Batch> {
    const stacked: Record<string, TypedArray | Uint8Array[]> = {};
    const images: Record<string, DecodedImages> = {};
    for (const t of this.tensors) {
      stacked[t] = stack(this.view.dataset.tensor(t).dtype, pending.parts.get(t)!);
      const [shapes, boxes] = [pending.shapes.get(t)!, pending.boxes.get(t)!];
      if (shapes.length > 0) images[t] = { shapes: Uint32Array.from(shapes), ...(boxes.length > 0 && { boxes: Uint32Array.from(boxes) }) };
    }
    const ids = Uint32Array.from(pending.ids);
    const tensors = transform ? await transform.apply(stacked, ids, images) : stacked;
    const listed = Object.entries(images).filter(([t]) => !this.options.transform?.[t]);
    this.position += pending.ids.length;
    this.samples += pending.ids.length;
    this.firstBatchAt ??= performance.now();
    this.dispatchEvent(new CustomEvent('progress', { detail: this.stats() }));
    return { ids, tensors, ...(listed.length > 0 && { shapes: Object.fromEntries(listed.map(([t, { shapes }]) => [t, shapes])) }) };
  }

  /** The dataset index of chunk `c`'s first sample of `tensor`. */
  private chunkStart(tensor: string, c: number): number {
    let starts = this.starts.get(tensor);
    if (!starts) this.starts.set(tensor, (starts = chunkStarts(this.view.dataset.tensor(tensor))));
    return starts[c];
  }

  /** GPU kernels when there is a device, their CPU references when there are only transforms. */
  private makeTransform(): BatchTransform | undefined {
    const { device, transform = {} } = this.options;
    const metas = Object.fromEntries(this.tensors.map((t) => [t, this.view.dataset.tensor(t)]));
    for (const name of Object.keys(transform)) {
      if (!this.tensors.includes(name)) throw new EdgelakeError('invalid-input', `a transform names tensor "${name}", which the loader does not load (${this.tensors.join(', ')})`);
    }
    const seed = this.order.shuffle?.seed ?? 0;
    if (device) return new GpuBatchTransform(device, metas, transform, this.order.epoch, seed);
    return Object.keys(transform).length > 0 ? new CpuBatchTransform(metas, transform, this.order.epoch, seed) : undefined;
  }

  /** A decode pool of `size` workers of the platform's kind (openDataset's entry point chose it), else this thread. */
  private createPool(size: number): DecodePool {
    const create = this.view.dataset.createPool;
    return size > 0 && create ? create(size) : inlinePool();
  }

  /**
   * Reads one chunk through the dataset's chain (cache, metrics, remote) and decodes it. With
   * workers that can open the dataset's root, the remote step of a miss runs in a worker, which
   * decodes what it read, so network I/O stays off the training thread. Fetched bytes enter the
   * cache behind the batches: a batch never waits for a disk write.
   */
  private async load(key: string, pool: DecodePool, fetched: (key: string) => void, route: 'first' | 'here' | 'pool', signal: AbortSignal): Promise<DecodedSamples> {
    const [tensor, c] = splitKey(key);
    const ds = this.view.dataset;
    const meta = ds.tensor(tensor);
    const ref = meta.chunks[c];
    const path = chunkPath(ref.hash);
    const t = this.options.transform?.[tensor];
    // The workers choose each image's box, so a JPEG decodes at the scale its box allows; with a
    // device they stop after entropy decoding and the transform reconstructs there.
    const images = t?.fit && {
      crop: { ...fitCrop(t.fit, t.seed ?? this.order.shuffle?.seed ?? 0, this.order.epoch), firstId: this.chunkStart(tensor, c) },
      ...(this.options.device && jpegOnDevice(meta, t.fit) ? { coefficients: true } : {}),
    };
    // A view that skips most of a chunk decodes only its samples, and reads only them when they are far apart.
    const wanted = wantedInChunk(this.view.ids, this.chunkStart(tensor, c), ref.samples);
    const task = { ref, tensor: meta, limits: ds.limits, where: { dataset: ds.name, version: ds.version, tensor, chunk: String(c) }, ...(images && { images }), ...(wanted && { wanted }) };
    const decoder = route === 'pool' ? pool : this.here;
    const ranged = wanted && (await readWantedSamples(ds, tensor, c, wanted, signal));
    if (ranged) {
      fetched(key);
      const decoded = await decoder.decode({ ...task, stored: ranged, ranged: true });
      signal.throwIfAborted();
      this.chunksRead++;
      return decoded;
    }
    // A linked tensor's files are read here, through the dataset's one sidecar and cache; workers decode them.
    const remote = route === 'pool' && pool.fetch && pool.size > 0 && !meta.linked ? ds.workerRemote(pool.size) : undefined;
    let decodedThere: DecodedSamples | undefined;
    const via = remote && (async (_path: string, options: ReadOptions) => {
      const { stored, retries, ...samples } = await pool.fetch!({ ...task, fetch: { ...remote, path } });
      for (const r of retries) options.onRetry?.(new EdgelakeError(r.code, r.message)); // the worker's faults, to the chain's metrics
      decodedThere = samples;
      return stored;
    });
    let write: Promise<void> | undefined;
    const stored = await ds.source.read(path, { maxBytes: ref.bytes, signal, via, writeBehind: (w, bytes) => (write = this.behind(w, bytes)) });
    fetched(key);
    // The chain verified the bytes (on the wire, or as the cache read them).
    const files = meta.linked ? await ds.linkedFiles(tensor, c, stored, signal, wanted) : undefined;
    const decoded = decodedThere ?? (await decoder.decode({ ...task, stored, ...files, verified: true }));
    // While more than a quarter of prefetchBytes is on its way to a disk slower than the link,
    // the load (and with it prefetching, which stays within the budget) waits for the disk.
    if (write && this.writingBytes > (this.options.prefetchBytes ?? DEFAULT_PREFETCH_BYTES) / 4) await write;
    signal.throwIfAborted();
    this.chunksRead++;
    return decoded;
  }

  /**
   * Tracks a cache write behind the batches. A chunk that cannot be stored (a full disk) was
   * still read: the cache counts it and warns (ChunkCache), and the epoch goes on, the chunk uncached.
   */
  private behind(write: Promise<void>, bytes: number): Promise<void> {
    this.writingBytes += bytes;
    const done: Promise<void> = write.catch(() => {}).finally(() => {
      this.writes.delete(done);
      this.writingBytes -= bytes;
    });
    this.writes.add(done);
    return done;
  }

  /** Decoded size of a chunk, for the memory budget, before it is loaded. */
  private estimate(key: string): number {
    const [tensor, c] = splitKey(key);
    const meta = this.view.dataset.tensor(tensor);
    const ref = meta.chunks[c];
    // A view that takes a few samples of the chunk holds only those, decoded (uncompressed samples stay in their chunk's body).
    const few = meta.sampleCompression !== 'none' || meta.linked ? wantedInChunk(this.view.ids, this.chunkStart(tensor, c), ref.samples) : undefined;
    const samples = few?.length ?? ref.samples;
    const fixed = fixedSampleBytes({ ...meta, sampleCompression: meta.sampleCompression === 'deflate' ? 'none' : meta.sampleCompression });
    if (fixed !== undefined) return fixed * samples;
    const shape = meta.shape;
    if (meta.sampleCompression !== 'none' && shape.every((d) => d !== null)) return (shape as number[]).reduce((a, d) => a * d, samples);
    // A linked chunk stores URLs, not the files: count each sample as a 640x480 photo, decoded.
    if (meta.linked) return samples * 640 * 480 * 3;
    return Math.ceil((ref.bytes * 4 * samples) / ref.samples);
  }

  private checkResume(state: LoaderState): number {
    const ds = this.view.dataset;
    const problem = state.format !== 'edgelake-loader/1' ? `format ${state.format}`
      : state.version !== ds.version ? `version ${state.version.slice(0, 12)}, but the dataset is at ${ds.version.slice(0, 12)}`
      : state.view !== fingerprint(this.view.ids) ? 'another view (different samples)'
      : !(Number.isInteger(state.position) && state.position >= 0 && state.position <= this.order.length) ? `position ${state.position}`
      : undefined;
    if (problem) throw new EdgelakeError('invalid-input', `dataset ${ds.name}: cannot resume from a loader state for ${problem}`);
    return state.position;
  }
}

/** Refuses options the loader would otherwise truncate or ignore, naming the option (the order checks the shuffle and epoch). */
function checkOptions({ batchSize, prefetchBytes, workers, transform = {} }: LoaderOptions): void {
  const refuse = (what: string, value: unknown) => new EdgelakeError('invalid-input', `${what}, got ${shown(value)}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw refuse('batchSize must be a positive integer', batchSize);
  if (prefetchBytes !== undefined && !(typeof prefetchBytes === 'number' && prefetchBytes >= 0)) throw refuse('prefetchBytes must be a number of bytes >= 0', prefetchBytes);
  if (workers !== undefined && !(Number.isInteger(workers) && workers >= 0)) throw refuse('workers must be a whole number >= 0', workers);
  for (const [name, t] of Object.entries(transform)) if (t.seed !== undefined) checkU32(`transform.${name}.seed`, t.seed);
}

interface Window {
  samples: Uint32Array;
  /** Decoded size of each chunk the window reads. */
  sizes: Map<string, number>;
  /** The chunks acquired so far: all of them once the window is read. */
  chunks: Map<string, Promise<DecodedSamples>>;
}

function splitKey(key: string): [string, number] {
  const slash = key.lastIndexOf('/');
  return [key.slice(0, slash), Number(key.slice(slash + 1))];
}

/** FNV-1a over the ids, as hex: tells two views apart in a saved state. */
function fingerprint(ids: Uint32Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < ids.length; i++) h = Math.imul(h ^ ids[i], 0x01000193) >>> 0;
  return `${ids.length}:${h.toString(16)}`;
}
