import { checkHash, putAfterRoom, sumUsage, type ChunkStore, type Room, type StoreEntry } from './store.js';

/**
 * A ChunkStore in a Map, for tests and for runs that must not touch the disk. It copies on put
 * and on get, so neither the caller nor the store can change the other's bytes.
 */
export class MemoryChunkStore implements ChunkStore {
  readonly location = 'memory';
  private readonly chunks = new Map<string, { bytes: Uint8Array; lastUsed: number }>();
  private readonly notes = new Map<string, Uint8Array>();
  private clock = 0;
  private readonly pending = { bytes: 0 };

  /** Date.now(), nudged forward so two uses within one millisecond still order exactly (LRU). */
  private tick(): number {
    // 0.001 ms steps stay representable near 2^41 ms and keep the clock within 1 ms of the wall.
    this.clock = Math.max(Date.now(), this.clock + 0.001);
    return this.clock;
  }

  async get(hash: string, options?: { touch?: boolean }): Promise<Uint8Array | undefined> {
    checkHash(hash, this.location);
    const entry = this.chunks.get(hash);
    if (!entry) return undefined;
    if (options?.touch !== false) entry.lastUsed = this.tick();
    return entry.bytes.slice();
  }

  async put(hash: string, bytes: Uint8Array): Promise<void> {
    checkHash(hash, this.location);
    this.chunks.set(hash, { bytes: bytes.slice(), lastUsed: this.tick() });
  }

  putWithin(hash: string, bytes: Uint8Array, makeRoom: (room: Room) => Promise<boolean>): Promise<boolean> {
    return putAfterRoom(this, this.pending, hash, bytes, makeRoom);
  }

  async has(hash: string): Promise<boolean> {
    checkHash(hash, this.location);
    return this.chunks.has(hash);
  }

  async delete(hash: string): Promise<boolean> {
    checkHash(hash, this.location);
    return this.chunks.delete(hash);
  }

  async entries(): Promise<StoreEntry[]> {
    return [...this.chunks].map(([hash, e]) => ({ hash, bytes: e.bytes.length, lastUsed: e.lastUsed }));
  }

  async usage(): Promise<{ entries: number; bytes: number }> {
    return sumUsage(await this.entries());
  }

  async getNote(name: string): Promise<Uint8Array | undefined> {
    return this.notes.get(name)?.slice();
  }

  async putNote(name: string, bytes: Uint8Array): Promise<void> {
    this.notes.set(name, bytes.slice());
  }

  /** Nothing to release; the contents stay, so a "reopen" in tests can hand back the same store. */
  async close(): Promise<void> {}
}
