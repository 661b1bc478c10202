import { EdgelakeError } from '../errors.js';
import { SHA256_HEX } from '../format/hash.js';

/** One stored chunk in a store's index. */
export interface StoreEntry {
  hash: string;
  bytes: number;
  /** When it was last read or written, in ms since 1970; survives restarts (LRU order). */
  lastUsed: number;
}

/** What a writer sees before its write lands (ChunkStore.putWithin). */
export interface Room {
  /** Every stored entry, listed after the write was announced. */
  entries: StoreEntry[];
  /**
   * Bytes of the writes announced and not yet listed among `entries`, in any process or tab
   * sharing the store, this one included (at least: a write that lands meanwhile may count twice).
   */
  pending: number;
  /**
   * The most bytes of chunks the store can hold, when it has learned of a limit of its own (a
   * browser quota that refused a write); the writer fits within it as within its budget.
   */
  capacity?: number;
}

/**
 * A persistent store of immutable blobs keyed by their SHA-256 (FORMAT.md's chunk names), plus a
 * few small mutable notes (the last edgelake.json seen, for offline use). Stores only store:
 * budgets, pinning and verification live in ChunkCache, which wraps any store.
 */
export interface ChunkStore {
  /** Where it is, for messages: a folder, an IndexedDB name, "memory". */
  readonly location: string;
  /** The stored bytes, unverified, or undefined; marks the entry used unless `touch` is false. */
  get(hash: string, options?: { touch?: boolean }): Promise<Uint8Array | undefined>;
  /**
   * Stores atomically: a reader (in any process or tab) sees all the bytes or none. Fails with
   * code 'storage-full' when there is no room, losing nothing that was stored before.
   */
  put(hash: string, bytes: Uint8Array): Promise<void>;
  /**
   * put, for a writer that keeps the store within a budget (ChunkCache): the write is announced
   * first (with its size, to every process or tab sharing the store), then `makeRoom` sees the
   * entries and the writes in flight and evicts what it must; the write lands only if it answers
   * true. A writer that lists after another announced counts it, so writers that all come through
   * here never hold more together than `makeRoom` allows. Resolves to whether it was stored.
   */
  putWithin(hash: string, bytes: Uint8Array, makeRoom: (room: Room) => Promise<boolean>): Promise<boolean>;
  has(hash: string): Promise<boolean>;
  /** Removes an entry; whether it was there (removing one that is not is not an error: another process may have evicted it). */
  delete(hash: string): Promise<boolean>;
  /** Every entry with its size and last use. */
  entries(): Promise<StoreEntry[]>;
  usage(): Promise<{ entries: number; bytes: number }>;
  /** A small mutable note by name (not counted in usage), or undefined. */
  getNote(name: string): Promise<Uint8Array | undefined>;
  putNote(name: string, bytes: Uint8Array): Promise<void>;
  /** Releases handles; the store is not used afterwards. */
  close(): Promise<void>;
}

/** Stores call this on every key: only 64 lowercase hex characters, so no key can name a path. */
export function checkHash(hash: string, location: string): void {
  if (!SHA256_HEX.test(hash)) {
    throw new EdgelakeError('invalid-input', `${location}: "${hash.slice(0, 80)}" is not a chunk hash (64 lowercase hex characters)`);
  }
}

export function sumUsage(entries: StoreEntry[]): { entries: number; bytes: number } {
  return { entries: entries.length, bytes: entries.reduce((a, e) => a + e.bytes, 0) };
}

/**
 * putWithin for a store whose writes land whole in one step (memory, IndexedDB): a write counts
 * in `pending` from before the listing until it has landed. `pending` is the store's own counter,
 * so it covers the writers of one process or tab; a store shared wider serializes this (IndexedDB
 * takes a Web Lock).
 */
export async function putAfterRoom(
  store: ChunkStore, pending: { bytes: number }, hash: string, bytes: Uint8Array, makeRoom: (room: Room) => Promise<boolean>,
): Promise<boolean> {
  checkHash(hash, store.location);
  pending.bytes += bytes.length;
  try {
    if (!(await makeRoom({ entries: await store.entries(), pending: pending.bytes }))) return false;
    await store.put(hash, bytes);
    return true;
  } finally {
    pending.bytes -= bytes.length;
  }
}
