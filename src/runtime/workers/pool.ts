import { transfer, type Remote } from 'comlink';
import { EdgelakeError, isEdgelakeError, type ErrorCode } from '../../errors.js';
import { decodeSamples, transferables, type DecodedSamples, type DecodeTask } from '../decode.js';

/** Where chunks are decoded: on this thread (inlinePool) or on N workers. */
export interface DecodePool {
  /** Number of workers; 0 when decoding runs on the calling thread. */
  readonly size: number;
  decode(task: DecodeTask): Promise<DecodedSamples>;
  /** Stops the workers; decodes still running reject. */
  close(): Promise<void>;
}

/**
 * What a decode worker answers. Errors travel as data, not as comlink throws: comlink keeps only
 * name/message/stack of an Error, and replacing its 'throw' handler would change error transport
 * for every other comlink user in the realm (it is one global map, needed on both sides).
 */
export type DecodeOutcome = { ok: true; value: DecodedSamples } | { ok: false; code: ErrorCode; message: string };

/** The API a decode worker exposes over comlink. */
export interface DecodeApi {
  decode(task: DecodeTask): Promise<DecodeOutcome>;
}

/**
 * `decodeSamples`, one chunk at a time in the order asked. Decoding awaits (hashing), and
 * interleaved decodes would all finish late together: the chunk the loader needs next would
 * wait for every chunk prefetched after it.
 */
function serialDecoder(): (task: DecodeTask) => Promise<DecodedSamples> {
  let queue: Promise<unknown> = Promise.resolve();
  return (task) => {
    const run = queue.then(() => decodeSamples(task));
    queue = run.catch(() => {});
    return run;
  };
}

const decodeInOrder = serialDecoder();

/** The worker side: decodes and transfers the result's buffers back; other errors throw as usual. */
export const decodeApi: DecodeApi = {
  async decode(task) {
    try {
      const value = await decodeInOrder(task);
      return transfer({ ok: true, value } as DecodeOutcome, transferables(value));
    } catch (e) {
      if (isEdgelakeError(e)) return { ok: false, code: e.code, message: e.message };
      throw e;
    }
  },
};

/** Decodes on the calling thread, in the order asked: no workers, nothing transferred. */
export function inlinePool(): DecodePool {
  return { size: 0, decode: serialDecoder(), close: async () => {} };
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

  constructor(workers: PoolWorker[]) {
    this.size = workers.length;
    this.slots = workers.map((worker, i) => {
      const slot: Slot = { worker, running: new Set() };
      worker.onError?.((e) => this.fail(slot, new Error(`decode worker ${i} failed: ${e.message}`, { cause: e })));
      worker.busy?.(false);
      return slot;
    });
  }

  async decode(task: DecodeTask): Promise<DecodedSamples> {
    if (this.closed) throw new Error('the decode pool is closed');
    const slot = this.pick();
    if (!slot) throw new Error(`every decode worker has failed (${this.slots[0]?.dead?.message ?? 'no workers'})`);
    const outcome = await this.run(slot, task);
    if (!outcome.ok) throw new EdgelakeError(outcome.code, outcome.message);
    return outcome.value;
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

  private run(slot: Slot, task: DecodeTask): Promise<DecodeOutcome> {
    const stored = ownBuffer(task.stored);
    // Only what decoding reads: a tensor's full chunk list would be cloned for every task.
    const message: DecodeTask = { ...task, stored, tensor: { ...task.tensor, chunks: [] } };
    const moved = stored.buffer instanceof ArrayBuffer ? [stored.buffer] : [];
    return new Promise<DecodeOutcome>((resolve, reject) => {
      if (slot.running.size === 0) slot.worker.busy?.(true);
      slot.running.add(reject);
      const done = () => {
        slot.running.delete(reject);
        if (slot.running.size === 0 && !slot.dead) slot.worker.busy?.(false);
      };
      slot.worker.remote.decode(transfer(message, moved)).then(
        (o) => (done(), resolve(o)),
        (e: unknown) => (done(), reject(e)),
      );
    });
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
