import { transfer, type Remote } from 'comlink';
import { EdgelakeError, isEdgelakeError, type ErrorCode } from '../../../errors.js';
import { describeWhere, type Where } from '../../../format/limits.js';
import type { Source } from '../../../source/source.js';
import { remoteChain, type RemoteRoot } from '../../dataset/chain.js';
import { decodeSamples, transferables, type DecodedSamples, type DecodeTask } from '../../dataset/decode.js';
import type { DecodePool, FetchedSamples, FetchTask } from '../../dataset/decode-pool.js';

export type { DecodePool, FetchedSamples, FetchTask } from '../../dataset/decode-pool.js';

/** Opens the bare transport of a root string: the platform's (folders and URLs in Node, URLs in browsers). */
export type TransportOpener = (root: string, options: RemoteRoot['options']) => Source;

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
 * The worker side: decodes, or reads through its own remote chain (remoteChain over the
 * transport `open` gives, one per root: its concurrency cap keeps the link busy whatever the
 * calling thread is doing) and then decodes; decodes run in the order asked, reads as soon as
 * the cap allows.
 */
export function createDecodeApi(open?: TransportOpener): DecodeApi {
  const serial = inOrder();
  const sources = new Map<string, Source>();
  const sourceFor = ({ root, options }: RemoteRoot) => {
    const key = `${root}\n${JSON.stringify(options)}`;
    let source = sources.get(key);
    if (!source) sources.set(key, (source = remoteChain(open!(root, options), options)));
    return source;
  };
  return {
    ready: async () => ({ ok: true, value: true }),
    decode: (task) => outcome(() => serial(() => decodeSamples(task)), () => task.stored),
    fetch: (task) => outcome(async () => {
      if (!open) throw new EdgelakeError('invalid-input', 'this decode worker cannot fetch: it has no transport opener');
      const retries: FetchedSamples['retries'] = [];
      const onRetry = (e: EdgelakeError) => void retries.push({ code: e.code, message: e.message });
      const reading = sourceFor(task.fetch).read(task.fetch.path, { maxBytes: task.ref.bytes, onRetry }).catch((e: unknown) => {
        throw isEdgelakeError(e) ? new EdgelakeError(e.code, `${describeWhere(task.where)}: ${e.message}`, { cause: e }) : e;
      });
      reading.catch(() => {}); // awaited in turn below
      return serial(async () => {
        const stored = ownBuffer(await reading);
        // A macrotask first, so the slot this read freed sends its next request before decoding holds the thread.
        await new Promise((resolve) => setTimeout(resolve, 0));
        // The remote chain verified the bytes against their name.
        return { ...(await decodeSamples({ ...task, stored, verified: true })), stored, retries };
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

/** How a WorkerPool watches its workers and replaces those it lost. */
export interface WorkerPoolOptions {
  /**
   * A busy worker silent this long is pinged; silent twice as long (the ping unanswered), it is
   * lost: a Web Worker that closed itself, ran out of memory or crashed fires no event. Default 15 s.
   */
  silenceMs?: number;
  /** A fresh worker for slot `i`, to replace one lost after it had answered; without it the pool shrinks. */
  respawn?: (i: number) => PoolWorker;
}

const DEFAULT_SILENCE_MS = 15_000;
/** How long close() waits for a worker still loading (from TypeScript sources behind tsx, loading takes seconds). */
const CLOSE_WAIT_MS = 5_000;

interface Slot {
  index: number;
  worker: PoolWorker;
  running: Set<(e: Error) => void>;
  dead?: Error;
  /** Whether it has loaded (answered): one lost before that could not load, and a fresh one would not either. */
  answered: boolean;
  /** Date.now() of its last reply, and of the watchdog's last tick. */
  heard: number;
  ticked: number;
  watchdog?: ReturnType<typeof setInterval>;
}

/**
 * Schedules each task on the least busy worker; the task's stored buffer moves into the worker.
 * A worker that dies or goes silent fails what it ran (a fetch is retried once on another worker)
 * and is replaced, so a lost worker never hangs the loader.
 */
export class WorkerPool implements DecodePool {
  readonly size: number;
  private readonly slots: Slot[];
  private readonly silenceMs: number;
  private closed = false;
  private closing?: Promise<void>;
  private next = 0;
  private loaded?: Promise<void>;

  constructor(workers: PoolWorker[], private readonly options: WorkerPoolOptions = {}) {
    this.size = workers.length;
    this.silenceMs = options.silenceMs ?? DEFAULT_SILENCE_MS;
    this.slots = workers.map((worker, i) => this.slot(i, worker));
  }

  decode(task: DecodeTask): Promise<DecodedSamples> {
    const stored = ownBuffer(task.stored);
    const moved = stored.buffer instanceof ArrayBuffer ? [stored.buffer] : [];
    // Only what decoding reads: a tensor's full chunk list would be cloned for every task.
    // Not retried: its bytes moved into the worker that was lost.
    return this.run(task.where, false, (remote) => remote.decode(transfer({ ...task, stored, tensor: { ...task.tensor, chunks: [] } }, moved)));
  }

  fetch(task: FetchTask): Promise<FetchedSamples> {
    return this.run(task.where, true, (remote) => remote.fetch({ ...task, tensor: { ...task.tensor, chunks: [] } }));
  }

  ready(): Promise<void> {
    this.loaded ??= Promise.all(this.slots.map((slot) => this.runOn(slot, (remote) => remote.ready()))).then(() => {});
    return this.loaded;
  }

  /** Rejects what runs and terminates the workers; a second call answers when the first is done. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    const closed = new Error('the decode pool was closed');
    this.closing = Promise.all(this.slots.map(async (s) => {
      const loading = !s.answered && !s.dead;
      this.fail(s, closed);
      // Node leaves open the module files a worker terminated mid-load was reading: let it load first.
      if (loading) await settledWithin(s.worker.remote.ready(), CLOSE_WAIT_MS);
      await s.worker.terminate();
    })).then(() => {});
    return this.closing;
  }

  private slot(index: number, worker: PoolWorker): Slot {
    const slot: Slot = { index, worker, running: new Set(), answered: false, heard: 0, ticked: 0 };
    worker.onError?.((e) => this.lose(slot, e.message, e));
    worker.busy?.(false);
    // Its first reply says it has loaded: from then on, silence while busy counts against it.
    worker.remote.ready().then(() => this.heard(slot), () => {});
    return slot;
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

  /** Runs a call on the least busy live worker, once more on another if `retry` and its worker was lost. */
  private async run<T>(where: Where, retry: boolean, call: (remote: Remote<DecodeApi>) => Promise<DecodeOutcome<T>>): Promise<T> {
    let lost: Error | undefined;
    for (;;) {
      if (this.closed) throw new Error('the decode pool is closed');
      const slot = this.pick();
      if (!slot) throw new EdgelakeError('worker-lost', `${describeWhere(where)}: every decode worker has failed (${(lost ?? this.slots[0]?.dead)?.message ?? 'no workers'})`);
      try {
        return await this.runOn(slot, call);
      } catch (e) {
        const dead = slot.dead;
        if (!dead || e !== dead || this.closed) throw e;
        if (retry && !lost) {
          lost = dead;
          continue;
        }
        const why = lost ? ` (retried after ${lost.message})` : retry ? '' : '; its bytes had moved into that worker, so the task was not retried';
        throw new EdgelakeError('worker-lost', `${describeWhere(where)}: ${dead.message}${why}`, { cause: dead });
      }
    }
  }

  /** Runs a call on this worker; an outcome that failed throws its EdgelakeError here. */
  private async runOn<T>(slot: Slot, call: (remote: Remote<DecodeApi>) => Promise<DecodeOutcome<T>>): Promise<T> {
    if (slot.dead) throw slot.dead;
    const outcome = await new Promise<DecodeOutcome<T>>((resolve, reject) => {
      if (slot.running.size === 0) this.setBusy(slot, true);
      slot.running.add(reject);
      const done = () => {
        slot.running.delete(reject);
        if (slot.dead) return;
        this.heard(slot);
        if (slot.running.size === 0) this.setBusy(slot, false);
      };
      call(slot.worker.remote).then(
        (o) => (done(), resolve(o)),
        (e: unknown) => (done(), reject(e)),
      );
    });
    if (!outcome.ok) throw new EdgelakeError(outcome.code, outcome.message);
    return outcome.value;
  }

  private heard(slot: Slot): void {
    slot.heard = Date.now();
    if (slot.answered) return;
    slot.answered = true;
    this.watch(slot, slot.running.size > 0);
  }

  /** Busy: the worker is kept alive (Node) and watched; idle: neither. */
  private setBusy(slot: Slot, busy: boolean): void {
    slot.worker.busy?.(busy);
    this.watch(slot, busy);
  }

  /**
   * Arms the watchdog, at no cost per call, of a busy worker that has loaded (loading can take
   * long, and a script that fails to load fires 'error'); disarms it otherwise.
   */
  private watch(slot: Slot, on: boolean): void {
    clearInterval(slot.watchdog);
    slot.watchdog = undefined;
    if (!on || !slot.answered) return;
    slot.heard = slot.ticked = Date.now();
    slot.watchdog = setInterval(() => this.tick(slot), this.silenceMs / 2);
  }

  /** A watchdog tick: pings a busy worker silent for silenceMs; one silent for twice that is lost. */
  private tick(slot: Slot): void {
    const now = Date.now();
    // A late tick means this thread was blocked, its replies perhaps queued behind: not the worker's silence.
    if (now - slot.ticked > this.silenceMs) slot.heard = now;
    slot.ticked = now;
    const quiet = now - slot.heard;
    if (quiet >= 2 * this.silenceMs) this.lose(slot, `sent no reply for ${(quiet / 1000).toFixed(1)} s, not even to a ping (it closed itself, ran out of memory or crashed)`);
    else if (quiet >= this.silenceMs) slot.worker.remote.ready().then(() => this.heard(slot), () => {});
  }

  /** A worker that died or went silent: its calls reject (their replies will never come), and a fresh one takes its place. */
  private lose(slot: Slot, reason: string, cause?: Error): void {
    if (slot.dead) return;
    this.fail(slot, new EdgelakeError('worker-lost', `decode worker ${slot.index} failed: ${reason}`, { cause }));
    Promise.resolve().then(() => slot.worker.terminate()).catch(() => {});
    const { respawn } = this.options;
    if (slot.answered && respawn && !this.closed) this.slots[slot.index] = this.slot(slot.index, respawn(slot.index));
  }

  /** Marks a worker dead and rejects what it was running. */
  private fail(slot: Slot, e: Error): void {
    slot.dead ??= e;
    for (const reject of slot.running) reject(e);
    slot.running.clear();
    this.setBusy(slot, false);
  }
}

/** Resolves once `p` settles, or after `ms`. */
function settledWithin(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  return Promise.race([p.then(() => {}, () => {}), late]).finally(() => clearTimeout(timer));
}

/** The bytes in a buffer of their own (a view into a pooled or larger buffer is copied), so transfer moves only them. */
function ownBuffer(a: Uint8Array): Uint8Array {
  return a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : a.slice();
}
