import { EdgelakeError } from '../errors.js';
import { SHA256_HEX } from '../format/hash.js';

/** One stored chunk in a store's index. */
export interface StoreEntry {
  hash: string;
  bytes: number;
  /** When it was last read or written, in ms since 1970; survives restarts (LRU order). */
  lastUsed: number;
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
  has(hash: string): Promise<boolean>;
  /** Removes an entry; removing one that is not there is not an error. */
  delete(hash: string): Promise<void>;
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
