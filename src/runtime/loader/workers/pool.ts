import { transfer, type Remote } from 'comlink';
import { EdgelakeError, isEdgelakeError, type ErrorCode } from '../../../errors.js';
import type { Source } from '../../../source/source.js';
import { decodeSamples, transferables, type DecodedSamples, type DecodeTask } from '../../dataset/decode.js';

/** A dataset root a worker can open itself: a root string and structured-cloneable source options. */
export interface RemoteRoot {
  root: string;
  /** OpenSourceOptions without functions; `concurrency` caps this worker's reads of the root. */
  options: Record<string, unknown>;
}

/** A chunk for a worker to fetch, verify against its hash and decode, so network I/O stays off the calling thread. */
export type FetchTask = Omit<DecodeTask, 'stored' | 'verified'> & { fetch: RemoteRoot & { path: string } };

/** Decoded samples and the stored bytes the worker fetched (the caller caches them). */
export type FetchedSamples = DecodedSamples & { stored: Uint8Array };

/** Opens a Source for a root string: the platform's opener (folders and URLs in Node, URLs in browsers). */
export type SourceOpener = (root: string, options: Record<string, unknown>) => Source;

/** Where chunks are decoded: on this thread (inlinePool) or on N workers, which can also fetch them. */
export interface DecodePool {
  /** Number of workers; 0 when decoding runs on the calling thread. */
  readonly size: number;
  decode(task: DecodeTask): Promise<DecodedSamples>;
  /** Fetches and decodes in a worker; only pools of workers with a source opener (size > 0). */
  fetch?(task: FetchTask): Promise<FetchedSamples>;
  /** Resolves once every worker has loaded and answered (at once for a pool of none); rejects if one failed to. */
  ready?(): Promise<void>;
  /** Stops the workers; decodes still running reject. */
  close(): Promise<void>;
}

/**
 * What a decode worker answers. Errors travel as data, not as comlink throws: comlink keeps only
 * name/message/stack of an Error, and replacing its 'throw' handler would change error transport
 * for every other comlink user in the realm (it is one global map, needed on both sides).
 */
export type DecodeOutcome<T = DecodedSamples> = { ok: true; value: T } | { ok: false; code: ErrorCode; message: string };

/** The API a decode worker exposes over comlink. */
export interface DecodeApi {
  /** Answers once the worker's modules have loaded. */
  ready(): Promise<DecodeOutcome<true>>;
  decode(task: DecodeTask): Promise<DecodeOutcome>;
  fetch(task: FetchTask): Promise<DecodeOutcome<FetchedSamples>>;
}

/**
 * Runs work one piece at a time in the order asked. Decoding awaits (hashing), and interleaved
 * decodes would all finish late together: the chunk the loader needs next would wait for every
 * chunk prefetched after it.
 */
function inOrder(): <T>(work: () => Promise<T>) => Promise<T> {
  let queue: Promise<unknown> = Promise.resolve();
  return (work) => {
    const run = queue.then(work);
    queue = run.catch(() => {});
    return run;
  };
}

/**
 * Errors the caller can act on travel as data (see DecodeOutcome); others throw as usual.
 * `stored` is the chunk's buffer, which this worker holds whole: samples that are views into it
 * (an uncompressed chunk) move with it rather than being copied, and `always` sends it back even
 * when they are not (a fetch, whose caller caches it).
 */
async function outcome<T extends DecodedSamples>(work: () => Promise<T>, stored: (value: T) => Uint8Array, always = false): Promise<DecodeOutcome<T>> {
  try {
    const value = await work();
    const buffer = stored(value).buffer as ArrayBuffer;
    const moved = transferables(value, [buffer]);
    return transfer({ ok: true, value } as DecodeOutcome<T>, always && !moved.includes(buffer) ? [...moved, buffer] : moved);
  } catch (e) {
    if (isEdgelakeError(e)) return { ok: false, code: e.code, message: e.message };
    throw e;
  }
}

/**
 * The worker side: decodes, or fetches (through one Source per root, opened by `open`, whose
 * concurrency cap keeps the link busy whatever the calling thread is doing) and then decodes;
 * decodes run in the order asked, fetches as soon as the cap allows.
 */
export function createDecodeApi(open?: SourceOpener): DecodeApi {
  const serial = inOrder();
  const sources = new Map<string, Source>();
  const sourceFor = ({ root, options }: RemoteRoot) => {
    const key = `${root}\n${JSON.stringify(options)}`;
    let source = sources.get(key);
    if (!source) sources.set(key, (source = open!(root, options)));
    return source;
  };
  return {
    ready: async () => ({ ok: true, value: true }),
    decode: (task) => outcome(() => serial(() => decodeSamples(task)), () => task.stored),
    fetch: (task) => outcome(async () => {
      if (!open) throw new EdgelakeError('invalid-input', 'this decode worker cannot fetch: it has no source opener');
      const reading = sourceFor(task.fetch).read(task.fetch.path, { maxBytes: task.ref.bytes });
      reading.catch(() => {}); // awaited in turn below
      return serial(async () => {
        const stored = ownBuffer(await reading);
        // A macrotask first, so the slot this read freed sends its next request before decoding holds the thread.
        await new Promise((resolve) => setTimeout(resolve, 0));
        return { ...(await decodeSamples({ ...task, stored, verified: false })), stored };
      });
    }, (value) => value.stored, true),
  };
}

/** Decodes on the calling thread, in the order asked: no workers, nothing transferred. */
export function inlinePool(): DecodePool {
  const serial = inOrder();
  return { size: 0, decode: (task) => serial(() => decodeSamples(task)), ready: async () => {}, close: async () => {} };
}

/** One worker as the platform adapter hands it over. */
export interface PoolWorker {
  remote: Remote<DecodeApi>;
  terminate(): unknown;
  /** Registers the listener for a worker that died or failed to load (comlink calls would hang). */
  onError?(listener: (e: Error) => void): void;
  /** Told when the worker goes from idle to busy and back (Node: ref while busy, unref when idle). */
  busy?(busy: boolean): void;
}

interface Slot {
  worker: PoolWorker;
  running: Set<(e: Error) => void>;
  dead?: Error;
}

/** Schedules each task on the least busy worker; the task's stored buffer moves into the worker. */
export class WorkerPool implements DecodePool {
  readonly size: number;
  private readonly slots: Slot[];
  private closed = false;
  private next = 0;
  private loaded?: Promise<void>;

  constructor(workers: PoolWorker[]) {
    this.size = workers.length;
    this.slots = workers.map((worker, i) => {
      const slot: Slot = { worker, running: new Set() };
      worker.onError?.((e) => this.fail(slot, new Error(`decode worker ${i} failed: ${e.message}`, { cause: e })));
      worker.busy?.(false);
      return slot;
    });
  }

  decode(task: DecodeTask): Promise<DecodedSamples> {
    const stored = ownBuffer(task.stored);
    const moved = stored.buffer instanceof ArrayBuffer ? [stored.buffer] : [];
    // Only what decoding reads: a tensor's full chunk list would be cloned for every task.
    return this.run((remote) => remote.decode(transfer({ ...task, stored, tensor: { ...task.tensor, chunks: [] } }, moved)));
  }

  fetch(task: FetchTask): Promise<FetchedSamples> {
    return this.run((remote) => remote.fetch({ ...task, tensor: { ...task.tensor, chunks: [] } }));
  }

  ready(): Promise<void> {
    this.loaded ??= Promise.all(this.slots.map((slot) => this.runOn(slot, (remote) => remote.ready()))).then(() => {});
    return this.loaded;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const closed = new Error('the decode pool was closed');
    await Promise.all(this.slots.map(async (s) => {
      this.fail(s, closed);
      await s.worker.terminate();
    }));
  }

  /** The live worker with the fewest tasks; ties rotate so idle workers share the load. */
  private pick(): Slot | undefined {
    let best: Slot | undefined;
    for (let k = 0; k < this.slots.length; k++) {
      const s = this.slots[(this.next + k) % this.slots.length];
      if (!s.dead && (!best || s.running.size < best.running.size)) best = s;
    }
    this.next = (this.next + 1) % Math.max(1, this.slots.length);
    return best;
  }

  /** Runs a call on the least busy live worker; an outcome that failed throws its EdgelakeError here. */
  private async run<T>(call: (remote: Remote<DecodeApi>) => Promise<DecodeOutcome<T>>): Promise<T> {
    if (this.closed) throw new Error('the decode pool is closed');
    const slot = this.pick();
    if (!slot) throw new Error(`every decode worker has failed (${this.slots[0]?.dead?.message ?? 'no workers'})`);
    return this.runOn(slot, call);
  }

  private async runOn<T>(slot: Slot, call: (remote: Remote<DecodeApi>) => Promise<DecodeOutcome<T>>): Promise<T> {
    if (slot.dead) throw slot.dead;
    const outcome = await new Promise<DecodeOutcome<T>>((resolve, reject) => {
      if (slot.running.size === 0) slot.worker.busy?.(true);
      slot.running.add(reject);
      const done = () => {
        slot.running.delete(reject);
        if (slot.running.size === 0 && !slot.dead) slot.worker.busy?.(false);
      };
      call(slot.worker.remote).then(
        (o) => (done(), resolve(o)),
        (e: unknown) => (done(), reject(e)),
      );
    });
    if (!outcome.ok) throw new EdgelakeError(outcome.code, outcome.message);
    return outcome.value;
  }

  /** Marks a worker dead and rejects what it was running: its comlink replies will never come. */
  private fail(slot: Slot, e: Error): void {
    slot.dead ??= e;
    for (const reject of slot.running) reject(e);
    slot.running.clear();
    slot.worker.busy?.(false);
  }
}

/** The bytes in a buffer of their own (a view into a pooled or larger buffer is copied), so transfer moves only them. */
function ownBuffer(a: Uint8Array): Uint8Array {
  return a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : a.slice();
}
