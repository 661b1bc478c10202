import { EdgelakeError, isEdgelakeError } from '../errors.js';
import { sha256Hex } from '../format/hash.js';
import type { ChunkStore } from './store.js';

export interface ChunkCacheOptions {
  /** Most bytes of chunks the store keeps; it passes this by at most the chunk being added. */
  budgetBytes: number;
}

export interface CacheStats {
  hits: number;
  misses: number;
  bytesFromCache: number;
  bytesFetched: number;
  evictions: number;
  bytesEvicted: number;
  /** Entries found damaged (wrong size or hash) on read: dropped and fetched again. */
  damaged: number;
  /** Chunks served without being stored, because pinned chunks left no room in the budget. */
  notStored: number;
}

export interface GetOptions {
  /** Where the chunk comes from when it is not cached (or damaged). Without it, a miss is an error. */
  fetch?: () => Promise<Uint8Array>;
  /** What `fetch` gives was already checked against the hash (by a decode worker that fetched it): not hashed again. */
  verified?: boolean;
  /** Names the dataset, tensor or file in errors. */
  where?: string;
  /**
   * Store behind the caller: a miss is decided from the listing (no read of the store, which
   * would wait for this thread's event loop), the fetched bytes come back before they are
   * stored, and the write goes to this function. Gets of the chunk meanwhile share the bytes.
   */
  writeBehind?: (write: Promise<void>, bytes: number) => void;
}

export interface VerifyReport {
  entries: number;
  bytes: number;
  corrupt: number;
  /** Hashes of the corrupt entries, which verify removed. */
  removed: string[];
}

interface IndexEntry {
  bytes: number;
  lastUsed: number;
}

/**
 * A byte budget, LRU eviction, pinning and integrity around any ChunkStore. Every chunk is
 * checked against its SHA-256 name when it enters (here, or by the worker that fetched it) and
 * whenever it is read; a damaged entry is dropped and fetched again, never served. Concurrent
 * gets of one chunk share one fetch.
 */
export class ChunkCache {
  readonly stats: CacheStats = { hits: 0, misses: 0, bytesFromCache: 0, bytesFetched: 0, evictions: 0, bytesEvicted: 0, damaged: 0, notStored: 0 };
  readonly budgetBytes: number;
  private index: Promise<Map<string, IndexEntry>> | undefined;
  private readonly inflight = new Map<string, Promise<Uint8Array>>();
  /** Chunks fetched and verified whose write behind the caller has not ended yet. */
  private readonly writing = new Map<string, Uint8Array>();
  private readonly pins = new Map<string, number>();
  private clock = 0;

  constructor(readonly store: ChunkStore, options: ChunkCacheOptions) {
    if (!(options.budgetBytes >= 0)) throw new EdgelakeError('invalid-input', `cache budget must be a number of bytes, got ${options.budgetBytes}`);
    this.budgetBytes = options.budgetBytes;
  }

  /** The verified bytes of chunk `hash`: from the store, else from `fetch` (then stored). */
  get(hash: string, options: GetOptions = {}): Promise<Uint8Array> {
    const written = this.writing.get(hash);
    if (written) {
      this.stats.hits++;
      this.stats.bytesFromCache += written.length;
      return Promise.resolve(written);
    }
    let pending = this.inflight.get(hash);
    if (!pending) {
      pending = this.load(hash, options).finally(() => this.inflight.delete(hash));
      this.inflight.set(hash, pending);
    }
    return pending;
  }

  /** The verified bytes if cached, else undefined; never fetches. */
  async peek(hash: string): Promise<Uint8Array | undefined> {
    return this.readVerified(hash);
  }

  /**
   * Whether chunk `hash` was in the store when this cache last listed it, or entered through it
   * since: a hint that needs no read of the store (another process may have added it meanwhile).
   */
  async listed(hash: string): Promise<boolean> {
    return (await this.loadIndex()).has(hash);
  }

  /** Keeps chunks from eviction until the returned function is called (pins nest). */
  pin(hashes: Iterable<string>): () => void {
    const list = [...hashes];
    for (const h of list) this.pins.set(h, (this.pins.get(h) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const h of list) {
        const n = (this.pins.get(h) ?? 1) - 1;
        if (n === 0) this.pins.delete(h);
        else this.pins.set(h, n);
      }
    };
  }

  async usage(): Promise<{ entries: number; bytes: number }> {
    return this.store.usage();
  }

  /** Rehashes every entry; removes (and reports) the ones that do not match their name. */
  async verify(onProgress?: (done: number, total: number) => void): Promise<VerifyReport> {
    const entries = await this.store.entries();
    const report: VerifyReport = { entries: 0, bytes: 0, corrupt: 0, removed: [] };
    for (const [i, e] of entries.entries()) {
      const bytes = await this.store.get(e.hash, { touch: false }); // verifying is not using
      if (bytes !== undefined) {
        if ((await sha256Hex(bytes)) === e.hash) {
          report.entries++;
          report.bytes += bytes.length;
        } else {
          report.corrupt++;
          report.removed.push(e.hash);
          await this.store.delete(e.hash);
        }
      }
      onProgress?.(i + 1, entries.length);
    }
    this.index = undefined;
    return report;
  }

  /** Removes every unpinned entry. */
  async clear(): Promise<number> {
    let removed = 0;
    for (const e of await this.store.entries()) {
      if (this.pins.has(e.hash)) continue;
      await this.store.delete(e.hash);
      removed++;
    }
    this.index = undefined;
    return removed;
  }

  private async load(hash: string, { fetch, where, verified, writeBehind }: GetOptions): Promise<Uint8Array> {
    const cached = writeBehind && !(await this.listed(hash)) ? undefined : await this.readVerified(hash);
    if (cached) {
      this.stats.hits++;
      this.stats.bytesFromCache += cached.length;
      return cached;
    }
    const what = where ?? `chunk ${hash}`;
    if (!fetch) throw new EdgelakeError('not-found', `${what} is not cached in ${this.store.location}`);
    this.stats.misses++;
    let bytes: Uint8Array;
    try {
      bytes = await fetch();
    } catch (e) {
      if (isEdgelakeError(e, 'unreachable')) {
        throw new EdgelakeError('unreachable', `${what} is not cached in ${this.store.location} and the remote is unreachable: ${e.message}`, { cause: e });
      }
      throw e;
    }
    if (!verified && (await sha256Hex(bytes)) !== hash) {
      throw new EdgelakeError('integrity', `${what}: fetched bytes do not match the SHA-256 name ${hash}; not cached`);
    }
    this.stats.bytesFetched += bytes.length;
    if (!writeBehind) {
      await this.admit(hash, bytes);
      return bytes;
    }
    this.writing.set(hash, bytes);
    const write = this.admit(hash, bytes).finally(() => this.writing.delete(hash));
    writeBehind(write, bytes.length);
    return bytes;
  }

  private async readVerified(hash: string): Promise<Uint8Array | undefined> {
    const bytes = await this.store.get(hash);
    if (bytes === undefined) return undefined;
    if ((await sha256Hex(bytes)) !== hash) {
      this.stats.damaged++;
      await this.store.delete(hash);
      (await this.loadIndex()).delete(hash);
      return undefined;
    }
    const index = await this.loadIndex();
    index.set(hash, { bytes: bytes.length, lastUsed: this.tick() });
    return bytes;
  }

  /** Stores a fetched chunk, evicting least recently used unpinned entries to stay in budget. */
  private async admit(hash: string, bytes: Uint8Array): Promise<void> {
    if (!(await this.makeRoom(hash, bytes.length))) {
      this.stats.notStored++;
      return;
    }
    // A full disk or quota fails here with 'storage-full'; the store keeps everything it had.
    await this.store.put(hash, bytes);
    (await this.loadIndex()).set(hash, { bytes: bytes.length, lastUsed: this.tick() });
  }

  /** Evicts until `size` more bytes fit; false if pins prevent it. */
  private async makeRoom(hash: string, size: number): Promise<boolean> {
    if (size > this.budgetBytes) return false;
    let index = await this.loadIndex();
    if (used(index) + size <= this.budgetBytes) return true;
    // Other processes share the store: refresh before evicting, so the budget is global.
    this.index = undefined;
    index = await this.loadIndex();
    const victims = [...index].filter(([h]) => h !== hash && !this.pins.has(h)).sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    let total = used(index);
    for (const [victim, entry] of victims) {
      if (total + size <= this.budgetBytes) break;
      await this.store.delete(victim);
      index.delete(victim);
      total -= entry.bytes;
      this.stats.evictions++;
      this.stats.bytesEvicted += entry.bytes;
    }
    return total + size <= this.budgetBytes;
  }

  /** Date.now(), nudged so uses within one millisecond still order exactly. */
  private tick(): number {
    this.clock = Math.max(Date.now(), this.clock + 0.001);
    return this.clock;
  }

  private loadIndex(): Promise<Map<string, IndexEntry>> {
    this.index ??= this.store.entries().then((list) => new Map(list.map((e) => [e.hash, { bytes: e.bytes, lastUsed: e.lastUsed }])));
    return this.index;
  }
}

function used(index: Map<string, IndexEntry>): number {
  let total = 0;
  for (const e of index.values()) total += e.bytes;
  return total;
}
