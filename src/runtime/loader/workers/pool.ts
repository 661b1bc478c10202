import { transfer, type Remote } from 'comlink';
import { EdgelakeError, isEdgelakeError, type ErrorCode } from '../../../errors.js';
import { describeWhere } from '../../../format/limits.js';
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
