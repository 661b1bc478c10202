import { EdgelakeError, isEdgelakeError } from '../errors.js';
import { TypedEventTarget } from '../events.js';
import { sha256Hex } from '../format/hash.js';
import type { ChunkStore, Room } from './store.js';

export interface ChunkCacheOptions {
  /** Most bytes of chunks (and chunk writes in progress) the store holds at any moment, whoever writes; see ChunkCache. */
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
  /** Chunks served without being stored: pinned chunks left no room, the chunk is larger than the budget, or the store could not write it. */
  notStored: number;
  /** Writes the store refused (a full disk, a quota, a read-only folder), chunks and notes: what they held was served, not stored. */
  writeFailures: number;
}

export interface GetOptions {
  /** Where the chunk comes from when it is not cached (or damaged). Without it, a miss is an error. */
  fetch?: () => Promise<Uint8Array>;
  /** What `fetch` gives was already checked against the hash (by a decode worker that fetched it): not hashed again. */
  verified?: boolean;
  /** Names the dataset, tensor or file in errors. */
  where?: string;
  /** The caller's abort signal, which `fetch` honours: when it aborts a fetch other gets share, those gets fetch again. */
  signal?: AbortSignal;
  /**
   * Store behind the caller: a miss is decided from the listing (no read of the store, which
   * would wait for this thread's event loop), the fetched bytes come back before they are
   * stored, and the write goes to this function. Gets of the chunk meanwhile share the bytes.
   * The write never rejects: a chunk the store cannot take stays uncached (stats, a 'warning').
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

/** Tries of a write that other processes' writes in flight keep out, pausing up to 1, 2, 4 ... 100 ms between them (about a second in all). */
const RETRIES = 16;

interface IndexEntry {
  bytes: number;
  lastUsed: number;
}

/** What `addEventListener` hands each of ChunkCache's events. */
export interface ChunkCacheEvents {
  /** The first refused write (a full disk, a quota), once per cache. */
  warning: CustomEvent<EdgelakeError>;
}

/**
 * A byte budget, LRU eviction, pinning and integrity around any ChunkStore. Every chunk is
 * checked against its SHA-256 name when it enters (here, or by the worker that fetched it) and
 * whenever it is read; a damaged entry is dropped and fetched again, never served. Concurrent
 * gets of one chunk share one fetch, run with the first get's options; when its signal aborts
 * it, the other gets still waiting (their own signals live) fetch again with their own.
 *
 * The budget bounds the store, not this cache: every write goes through ChunkStore.putWithin,
 * which announces it before listing what the store holds (other processes' chunks and writes in
 * flight included), and this cache evicts least recently used unpinned chunks until all of it,
 * the new chunk included, fits before the write lands. So at every moment the store holds at
 * most `budgetBytes` of chunks and chunk writes, however many processes write into it (each with
 * its own budget: the largest of them), plus its few small notes. A chunk larger than the budget,
 * or one that pinned chunks leave no room for, is served without being stored (`stats.notStored`).
 * A store that learns it holds less than the budget (a browser quota: Room.capacity) is kept
 * within that instead, by the same LRU eviction.
 *
 * A cache that cannot write (a full disk) keeps serving what it holds and serves the rest
 * uncached: `stats.writeFailures` counts the refused writes, and the first one is dispatched as a
 * `warning` event (a CustomEvent whose detail is an EdgelakeError), once per cache.
 */
export class ChunkCache extends TypedEventTarget<ChunkCacheEvents> {
  readonly stats: CacheStats = { hits: 0, misses: 0, bytesFromCache: 0, bytesFetched: 0, evictions: 0, bytesEvicted: 0, damaged: 0, notStored: 0, writeFailures: 0 };
  readonly budgetBytes: number;
  private index: Promise<Map<string, IndexEntry>> | undefined;
  /** Fetches in progress, each with the signal of the caller whose options it runs with. */
  private readonly inflight = new Map<string, { bytes: Promise<Uint8Array>; signal?: AbortSignal }>();
  /** Chunks fetched and verified whose write behind the caller has not ended yet. */
  private readonly writing = new Map<string, Uint8Array>();
  private readonly pins = new Map<string, number>();
  private clock = 0;
  private warned = false;
  /** Bytes of this cache's own writes to the store in flight, and the writes waiting for them (admit). */
  private storingBytes = 0;
  private readonly storeQueue: (() => void)[] = [];

  constructor(readonly store: ChunkStore, options: ChunkCacheOptions) {
    super();
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
      pending = { bytes: this.load(hash, options).finally(() => this.inflight.delete(hash)), signal: options.signal };
      this.inflight.set(hash, pending);
    }
    const { bytes, signal } = pending;
    return bytes.catch((e: unknown) => {
      // The fetch ran with the first caller's options: whatever its abort tore down (its `via` too) fails that caller only.
      if (signal?.aborted && !options.signal?.aborted) return this.get(hash, options);
      throw e;
    });
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

  /** Remembers a small note in the store (the last edgelake.json seen); one the store cannot write is a warning, not an error. */
  async putNote(name: string, bytes: Uint8Array): Promise<void> {
    await this.store.putNote(name, bytes).catch((e: unknown) => this.writeFailed(e));
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

  /** Evicts least recently used unpinned entries until the store is within the budget (a budget just lowered); how many it removed. */
  async trim(): Promise<number> {
    const entries = await this.store.entries();
    const victims = entries.filter((e) => !this.pins.has(e.hash)).sort((a, b) => a.lastUsed - b.lastUsed);
    const before = this.stats.evictions;
    await this.evict(victims, entries.reduce((a, e) => a + e.bytes, 0), this.budgetBytes, () => {});
    this.index = undefined;
    return this.stats.evictions - before;
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

  /**
   * Stores a fetched chunk within the budget; never fails (a chunk not stored was still served).
   * This cache's own writes in flight stay within a quarter of the budget (beyond one write), so
   * that a few processes' bursts fit side by side; when other processes' writes in flight are what
   * keeps one out (not pins), it steps back (its announcement withdrawn) and tries again after a
   * random pause, so that one of them gets through.
   */
  private async admit(hash: string, bytes: Uint8Array): Promise<void> {
    const size = bytes.length;
    if (size > this.budgetBytes) {
      this.stats.notStored++;
      return;
    }
    while (this.storingBytes > 0 && this.storingBytes + size > this.budgetBytes / 4) await new Promise<void>((r) => this.storeQueue.push(r));
    this.storingBytes += size;
    let stored = false;
    try {
      for (let attempt = 0; ; attempt++) {
        const blocked = { byWrites: false };
        const asked = this.tick(); // entries this cache stores or reads from now on may be missing from the listing
        stored = await this.store.putWithin(hash, bytes, (room) => this.makeRoom(hash, size, room, asked, blocked));
        if (stored || !blocked.byWrites || attempt === RETRIES) break;
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(2 ** attempt, 100)));
      }
    } catch (e) {
      this.writeFailed(e);
    } finally {
      this.storingBytes -= size;
      for (const wake of this.storeQueue.splice(0)) wake();
    }
    if (!stored) {
      this.stats.notStored++;
      return;
    }
    (await this.loadIndex()).set(hash, { bytes: size, lastUsed: this.tick() });
  }

  /**
   * Evicts least recently used unpinned entries until what the store holds and the writes in
   * flight (this one among them) fit the budget, or the store's capacity where that is less.
   * Evicts nothing when that cannot work: false, with `blocked.byWrites` when it would fit
   * without the others' writes in flight. The listing
   * replaces this cache's index, keeping the later of its own and the store's last use of each
   * entry, and the entries this cache stored or read since `asked` (the listing may predate them).
   */
  private async makeRoom(hash: string, size: number, { entries, pending, capacity }: Room, asked: number, blocked: { byWrites: boolean }): Promise<boolean> {
    const limit = Math.min(this.budgetBytes, capacity ?? Infinity);
    const known = this.index ? await this.index : new Map<string, IndexEntry>();
    const listed = new Map(entries.map((e) => [e.hash, { bytes: e.bytes, lastUsed: Math.max(e.lastUsed, known.get(e.hash)?.lastUsed ?? 0) }]));
    // What to count and evict comes from the listing alone; the index also keeps what entered since.
    const victims = [...listed].filter(([h]) => h !== hash && !this.pins.has(h)).sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    const total = used(listed) + pending;
    const index = new Map(listed);
    for (const [h, e] of known) if (e.lastUsed >= asked && !index.has(h)) index.set(h, e);
    this.index = Promise.resolve(index);
    const least = total - victims.reduce((a, [, e]) => a + e.bytes, 0);
    if (least > limit) {
      blocked.byWrites = least - (pending - size) <= limit;
      return false;
    }
    await this.evict(victims.map(([h, e]) => ({ hash: h, bytes: e.bytes })), total, limit, (h) => index.delete(h));
    return true;
  }

  /** Deletes `victims` in order until `total` bytes are within `limit`, counting each removal; `gone` hears of each. */
  private async evict(victims: { hash: string; bytes: number }[], total: number, limit: number, gone: (hash: string) => void): Promise<void> {
    for (const { hash, bytes } of victims) {
      if (total <= limit) break;
      // Another writer may have evicted it first (it listed the same victims): only a removal counts.
      const removed = await this.store.delete(hash);
      gone(hash);
      total -= bytes;
      if (!removed) continue;
      this.stats.evictions++;
      this.stats.bytesEvicted += bytes;
    }
  }

  /** Counts a write the store refused, and warns about the first one. */
  private writeFailed(e: unknown): void {
    this.stats.writeFailures++;
    if (this.warned) return;
    this.warned = true;
    const message = `${e instanceof Error ? e.message : String(e)}; reading on without caching what ${this.store.location} cannot store (cache.stats.writeFailures counts it; warned once)`;
    this.dispatchEvent(new CustomEvent('warning', { detail: new EdgelakeError(isEdgelakeError(e) ? e.code : 'storage-full', message, { cause: e }) }));
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
