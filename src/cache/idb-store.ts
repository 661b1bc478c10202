import { entries as idbEntries, get as idbGet, promisifyRequest, set as idbSet, type UseStore } from 'idb-keyval';
import { EdgelakeError, isEdgelakeError } from '../errors.js';
import { indexedDbFactory, isQuotaError, openIndexedDb } from './idb-open.js';
import { checkHash, putAfterRoom, sumUsage, type ChunkStore, type Room, type StoreEntry } from './store.js';

/** The part of `navigator.storage` the store uses; injectable for tests. */
export interface StorageLike {
  estimate?(): Promise<{ usage?: number; quota?: number }>;
  persist?(): Promise<boolean>;
}

export interface IdbStoreOptions {
  /** Defaults to `globalThis.indexedDB`; tests pass fake-indexeddb's factory. */
  indexedDB?: IDBFactory;
  /** Defaults to `navigator.storage`; null skips quota checks and persist(). */
  storage?: StorageLike | null;
}

interface IndexRecord {
  bytes: number;
  lastUsed: number;
}

const VERSION = 1;
const CHUNKS = 'chunks';
const INDEX = 'index';
const NOTES = 'notes';
// LRU needs order between reads, not a write transaction for every read of a hot chunk.
const TOUCH_EVERY_MS = 10;
// Tries of a write the quota refuses, each after evicting the chunk's size more (a delete frees quota at once).
const QUOTA_TRIES = 4;

/**
 * A ChunkStore in one IndexedDB database with three object stores: `chunks` (hash -> bytes),
 * `index` (hash -> size and last use, so listing never loads bytes) and `notes`. A chunk and its
 * index record are written and deleted in one transaction, so neither exists without the other,
 * in this tab or any other sharing the origin.
 */
export class IdbChunkStore implements ChunkStore {
  readonly location: string;
  /** What `navigator.storage.persist()` answered on open; undefined where it is unavailable. */
  persisted: boolean | undefined;
  private connection: Promise<IDBDatabase> | undefined;
  private closed = false;
  private readonly pending = { bytes: 0 };
  /** The bytes of chunks the browser's quota lets this store hold, learned when it refused a write; undefined until then. */
  private capacity: number | undefined;

  private constructor(
    readonly name: string,
    private readonly factory: IDBFactory,
    private readonly storage: StorageLike | undefined,
  ) {
    this.location = `IndexedDB "${name}"`;
  }

  static async open(name = 'edgelake-cache', options: IdbStoreOptions = {}): Promise<IdbChunkStore> {
    const factory = indexedDbFactory(name, options.indexedDB);
    const storage = options.storage === null ? undefined : (options.storage ?? (globalThis as { navigator?: { storage?: StorageLike } }).navigator?.storage);
    const store = new IdbChunkStore(name, factory, storage);
    await store.db(); // surface a failing open here, not on first use
    // Asked once: best-effort persistence keeps the browser from evicting the cache under pressure.
    store.persisted = storage?.persist ? await storage.persist().catch(() => false) : undefined;
    return store;
  }

  async get(hash: string, options?: { touch?: boolean }): Promise<Uint8Array | undefined> {
    checkHash(hash, this.location);
    const db = await this.db();
    const tx = db.transaction([CHUNKS, INDEX], 'readonly');
    const [value, record] = await Promise.all([
      promisifyRequest<ArrayBuffer | undefined>(tx.objectStore(CHUNKS).get(hash)),
      promisifyRequest<IndexRecord | undefined>(tx.objectStore(INDEX).get(hash)),
    ]);
    if (value === undefined) return undefined; // never stored, or evicted by another tab: a miss
    if (options?.touch !== false && (!record || Date.now() - record.lastUsed >= TOUCH_EVERY_MS)) this.touch(db, hash);
    return new Uint8Array(value); // structured clone already gave this call its own copy
  }

  async put(hash: string, bytes: Uint8Array): Promise<void> {
    checkHash(hash, this.location);
    await this.checkQuota(hash, bytes.length);
    // Store exactly these bytes as a plain ArrayBuffer: cloning a view would clone its whole buffer.
    const copy = bytes.slice().buffer;
    const record: IndexRecord = { bytes: bytes.length, lastUsed: Date.now() };
    try {
      await this.write([CHUNKS, INDEX], (tx) => {
        tx.objectStore(INDEX).put(record, hash);
        tx.objectStore(CHUNKS).put(copy, hash);
      });
    } catch (e) {
      if (!isQuotaError(e)) throw e;
      throw new EdgelakeError('storage-full', `${this.location}: the browser's storage quota has no room for chunk ${hash} (${bytes.length} bytes); nothing stored before was lost`, { cause: e });
    }
  }

  /** Tabs sharing the origin take turns (a Web Lock, where there is one): each lists after the last one's write landed. */
  putWithin(hash: string, bytes: Uint8Array, makeRoom: (room: Room) => Promise<boolean>): Promise<boolean> {
    const write = () => this.putFitting(hash, bytes, makeRoom);
    const locks = (globalThis as { navigator?: { locks?: WebLocks } }).navigator?.locks;
    return locks ? locks.request(`edgelake-cache:${this.name}`, write) : write();
  }

  /**
   * putAfterRoom that stays an LRU under a full quota: when the quota refuses the write, what this
   * store holds then becomes the capacity makeRoom fits, so the next try evicts the chunk's size
   * more. The capacity lasts while the store is open. A chunk larger than all it holds is refused.
   */
  private async putFitting(hash: string, bytes: Uint8Array, makeRoom: (room: Room) => Promise<boolean>): Promise<boolean> {
    for (let tries = 1; ; tries++) {
      try {
        return await putAfterRoom(this, this.pending, hash, bytes, (room) => makeRoom({ ...room, capacity: this.capacity }));
      } catch (e) {
        if (!isEdgelakeError(e, 'storage-full') || tries === QUOTA_TRIES) throw e;
        const held = (await this.usage()).bytes;
        if (held < bytes.length) {
          throw new EdgelakeError('storage-full', `${this.location}: the browser's storage quota has no room for chunk ${hash} (${bytes.length} bytes), more than all this cache holds (${held} bytes) to evict; nothing stored before was lost`, { cause: e });
        }
        this.capacity = held;
      }
    }
  }

  async has(hash: string): Promise<boolean> {
    checkHash(hash, this.location);
    return (await idbGet<IndexRecord>(hash, this.use(INDEX))) !== undefined;
  }

  async delete(hash: string): Promise<boolean> {
    checkHash(hash, this.location);
    let found = false;
    await this.write([CHUNKS, INDEX], (tx) => {
      tx.objectStore(INDEX).getKey(hash).onsuccess = (e) => (found = (e.target as IDBRequest).result !== undefined);
      tx.objectStore(CHUNKS).delete(hash);
      tx.objectStore(INDEX).delete(hash);
    });
    return found;
  }

  async entries(): Promise<StoreEntry[]> {
    const rows = await idbEntries<string, IndexRecord>(this.use(INDEX));
    return rows.map(([hash, r]) => ({ hash, bytes: r.bytes, lastUsed: r.lastUsed }));
  }

  async usage(): Promise<{ entries: number; bytes: number }> {
    return sumUsage(await this.entries());
  }

  async getNote(name: string): Promise<Uint8Array | undefined> {
    const value = await idbGet<ArrayBuffer>(name, this.use(NOTES));
    return value === undefined ? undefined : new Uint8Array(value);
  }

  async putNote(name: string, bytes: Uint8Array): Promise<void> {
    try {
      await idbSet(name, bytes.slice().buffer, this.use(NOTES));
    } catch (e) {
      if (!isQuotaError(e)) throw e;
      throw new EdgelakeError('storage-full', `${this.location}: the browser's storage quota has no room for note "${name}"`, { cause: e });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const connection = this.connection;
    this.connection = undefined;
    // close() waits for pending transactions (a touch in flight), so nothing is cut short.
    (await connection?.catch(() => undefined))?.close();
  }

  // idb-keyval's createStore reads the global indexedDB and holds one object store per
  // database, so this small UseStore over our own connection is what lets the factory be
  // injected and a chunk share a transaction with its index record.
  private use(storeName: string): UseStore {
    return (mode, callback) => this.db().then((db) => callback(db.transaction(storeName, mode).objectStore(storeName)));
  }

  private async write(stores: string[], fill: (tx: IDBTransaction) => void): Promise<void> {
    const tx = (await this.db()).transaction(stores, 'readwrite');
    const done = promisifyRequest(tx);
    try {
      fill(tx);
    } catch (e) {
      tx.abort(); // a request that threw must not leave the others to commit alone
      done.catch(() => {});
      throw e;
    }
    await done;
  }

  // Fire and forget: a reader never waits for, or fails because of, the LRU bookkeeping.
  private touch(db: IDBDatabase, hash: string): void {
    try {
      const index = db.transaction(INDEX, 'readwrite').objectStore(INDEX);
      const request = index.get(hash);
      request.onsuccess = () => {
        const record = request.result as IndexRecord | undefined;
        if (record) index.put({ bytes: record.bytes, lastUsed: Date.now() }, hash); // never revive a deleted entry
      };
      promisifyRequest(index.transaction).catch(() => {});
    } catch {
      // The connection closed under us (close(), or another tab upgrading): skip this touch.
    }
  }

  private async checkQuota(hash: string, size: number): Promise<void> {
    const estimate = this.storage?.estimate ? await this.storage.estimate().catch(() => undefined) : undefined;
    const { usage, quota } = estimate ?? {};
    if (typeof usage === 'number' && typeof quota === 'number' && usage + size > quota) {
      throw new EdgelakeError('storage-full', `${this.location}: no room for chunk ${hash} (${size} bytes): the origin uses ${usage} of its ${quota}-byte quota; nothing stored before was lost`);
    }
  }

  private db(): Promise<IDBDatabase> {
    if (this.closed) return Promise.reject(new Error(`${this.location} is closed`));
    if (!this.connection) {
      const connection = openIndexedDb(this.factory, this.name, VERSION, (db) => {
        for (const s of [CHUNKS, INDEX, NOTES]) if (!db.objectStoreNames.contains(s)) db.createObjectStore(s);
      });
      this.connection = connection;
      connection.then(
        (db) => {
          // Let another tab upgrade the schema; the next call here reconnects.
          db.onversionchange = () => this.forget(connection, db);
          db.onclose = () => this.forget(connection, db);
        },
        () => this.forget(connection),
      );
    }
    return this.connection;
  }

  private forget(connection: Promise<IDBDatabase>, db?: IDBDatabase): void {
    db?.close();
    if (this.connection === connection) this.connection = undefined;
  }
}

/** The part of `navigator.locks` the store uses. */
interface WebLocks {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}
