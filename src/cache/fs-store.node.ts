import { createHash, randomBytes } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { EdgelakeError } from '../errors.js';
import { SHA256_HEX } from '../format/hash.js';
import { checkHash, sumUsage, type ChunkStore, type Room, type StoreEntry } from './store.js';

/** A get() touches an entry's mtime at most this often per process: a syscall per read is too many. */
const TOUCH_EVERY_MS = 1000;
/** A temp file this old is abandoned even when its pid looks alive (a reused pid, a writer in another namespace). */
const STALE_TEMP_MS = 60 * 60 * 1000;
const SHARD = /^[0-9a-f]{2}$/;
/** <pid>@<namespace>-<random>-<size>.tmp: a write in progress, and the bytes it will hold (older versions wrote neither namespace nor size). */
const TEMP = /^(\d+)(?:@([0-9a-f]+))?-[0-9a-f]+(?:-(\d+))?\.tmp$/;
/** Makes a folder a cache: chunks/<h0h1>/<sha256> is a dataset's layout too, and a cache deletes what lies there. */
const MARKER = 'edgelake-cache.json';
const SUBFOLDERS = ['chunks', 'notes', 'tmp'];
/**
 * Where this process's pid means something: its pid namespace (container) on this host. Two
 * containers sharing the folder see each other's pids as dead. Hashed: short and filesystem-safe.
 */
const PID_NAMESPACE = createHash('sha256').update(`${hostname()}\n${linuxPidNamespace()}`).digest('hex').slice(0, 12);

const errno = (e: unknown) => (e as NodeJS.ErrnoException).code;
const isMissing = (e: unknown) => errno(e) === 'ENOENT';

/**
 * A ChunkStore in a folder, shared safely by any number of processes:
 *
 *   <dir>/edgelake-cache.json   marks the folder as a cache: open() adopts no other folder that holds files
 *   <dir>/chunks/ab/<hash>   one file per chunk, whole or absent (temp file, fsync, rename)
 *   <dir>/notes/<sha256(name)>
 *   <dir>/tmp/<pid>@<namespace>-<random>-<size>.tmp   writes in progress, with the bytes they will hold
 *
 * The filesystem is the index: size from stat, last use from mtime (get() touches it). No index
 * file can be torn by a crash or go stale while another process evicts.
 *
 * A budget across processes (putWithin): a write creates its temp file, named with its size,
 * before anything else, then lists the temp files, then the chunks. Whoever lists after that
 * moment counts the write, so of two writers at least the later one makes room for both; a
 * temp file that turns into a chunk while it is listed counts twice, never not at all. With every
 * writer coming through putWithin, chunks plus temp files never pass what makeRoom allows (a
 * ChunkCache: its budget), at any moment, however many processes write; temp files of notes (a
 * few hundred bytes) come on top. Space of an evicted chunk that a reader still holds open
 * returns when the reader closes it. No lock: a writer that dies leaves a temp file of a dead pid,
 * which the next listing removes; one of another pid namespace (a container sharing the folder)
 * cannot be judged by its pid, and goes once it is an hour old.
 */
export class FsChunkStore implements ChunkStore {
  private readonly touched = new Map<string, number>();
  /** The chunks of the last listing, by hash. */
  private known = new Map<string, StoreEntry>();
  private closed = false;

  private constructor(readonly location: string) {}

  /**
   * Opens the store in `dir`, creating it if `dir` is missing or empty, and removes temp files
   * that crashed writers left. Refuses a dataset's folder, and any other folder that holds files
   * but is not a cache: clear() and eviction would delete what lies under its chunks/.
   */
  static async open(dir: string): Promise<FsChunkStore> {
    await claimFolder(dir);
    for (const sub of SUBFOLDERS) {
      await mkdir(join(dir, sub), { recursive: true }).catch((e) => {
        throw errno(e) === 'EEXIST' || errno(e) === 'ENOTDIR' ? damaged(join(dir, sub), 'is a file, not a folder', dir, e) : e;
      });
    }
    const store = new FsChunkStore(dir);
    await store.pendingWrites();
    return store;
  }

  private chunkPath(hash: string): string {
    return join(this.location, 'chunks', hash.slice(0, 2), hash);
  }

  /** The file that holds note `name` (for messages that name it). */
  notePath(name: string): string {
    return join(this.location, 'notes', createHash('sha256').update(name).digest('hex'));
  }

  async get(hash: string, options?: { touch?: boolean }): Promise<Uint8Array | undefined> {
    checkHash(hash, this.location);
    const path = this.chunkPath(hash);
    // Once open, an eviction elsewhere only unlinks the name: this read still sees every byte.
    const bytes = await readOrUndefined(path, this.location);
    if (bytes && options?.touch !== false) await this.touch(hash, path);
    return bytes;
  }

  private async touch(hash: string, path: string): Promise<void> {
    const now = Date.now();
    if (now - (this.touched.get(hash) ?? -Infinity) < TOUCH_EVERY_MS) return;
    if (this.touched.size >= 10_000) this.touched.clear(); // bounded memory; costs a few extra touches
    this.touched.set(hash, now);
    const entry = this.known.get(hash);
    if (entry) this.known.set(hash, { ...entry, lastUsed: now });
    // Best effort: evicted since (ENOENT) or a read-only or another user's folder still serves reads.
    await utimes(path, new Date(now), new Date(now)).catch(() => {});
  }

  async put(hash: string, bytes: Uint8Array): Promise<void> {
    checkHash(hash, this.location);
    await this.writeAtomically(this.chunkPath(hash), bytes, `chunk ${hash}`);
  }

  async putWithin(hash: string, bytes: Uint8Array, makeRoom: (room: Room) => Promise<boolean>): Promise<boolean> {
    checkHash(hash, this.location);
    return this.writeAtomically(this.chunkPath(hash), bytes, `chunk ${hash}`, { makeRoom });
  }

  async has(hash: string): Promise<boolean> {
    checkHash(hash, this.location);
    return stat(this.chunkPath(hash)).then(
      () => true,
      (e) => (isMissing(e) ? false : Promise.reject(e)),
    );
  }

  async delete(hash: string): Promise<boolean> {
    checkHash(hash, this.location);
    this.touched.delete(hash);
    this.known.delete(hash);
    const path = this.chunkPath(hash);
    return unlink(path).then(() => true, (e) => {
      if (errno(e) === 'EISDIR') throw damaged(path, 'is a folder, not a chunk file', this.location, e);
      if (isMissing(e)) return false;
      throw e;
    });
  }

  async entries(): Promise<StoreEntry[]> {
    return this.list(true);
  }

  /**
   * Every chunk, by a readdir of each shard. `fresh` stats every file; otherwise only the names
   * the last listing lacked, since a chunk file never changes once in place: a readdir per shard is
   * what a write's listing costs, not a stat per chunk (the last use of a known entry is then this
   * process's, or older than another process's read).
   */
  private async list(fresh: boolean): Promise<StoreEntry[]> {
    const root = join(this.location, 'chunks');
    const shards = (await readdir(root)).filter((s) => SHARD.test(s));
    const found = await Promise.all(shards.map(async (shard) => {
      const names = await readdir(join(root, shard)).catch((e) => (isMissing(e) ? [] : Promise.reject(e)));
      return Promise.all(
        names
          .filter((n) => SHA256_HEX.test(n) && n.startsWith(shard))
          .map((hash) =>
            (!fresh && this.known.get(hash)) ||
            stat(join(root, shard, hash)).then(
              (s): StoreEntry => ({ hash, bytes: s.size, lastUsed: s.mtimeMs }),
              (e) => (isMissing(e) ? undefined : Promise.reject(e)), // evicted while we listed
            ),
          ),
      );
    }));
    const list = found.flat().filter((e): e is StoreEntry => e !== undefined);
    this.known = new Map(list.map((e) => [e.hash, e]));
    return list;
  }

  async usage(): Promise<{ entries: number; bytes: number }> {
    return sumUsage(await this.entries());
  }

  async getNote(name: string): Promise<Uint8Array | undefined> {
    return readOrUndefined(this.notePath(name), this.location);
  }

  async putNote(name: string, bytes: Uint8Array): Promise<void> {
    await this.writeAtomically(this.notePath(name), bytes, `note "${name}"`, { syncDir: true });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.touched.clear();
    this.known.clear();
  }

  /**
   * temp file, write, fsync, rename: a reader or a crash sees the old file or the new one. The
   * folder is fsynced only for notes: a chunk whose rename a power cut loses is just a cache miss.
   * With `makeRoom`, the temp file announces the write before the listing it is given (see the
   * class comment), and the write lands only if it answers true.
   */
  private async writeAtomically(
    target: string, bytes: Uint8Array, what: string, { syncDir = false, makeRoom }: { syncDir?: boolean; makeRoom?: (room: Room) => Promise<boolean> } = {},
  ): Promise<boolean> {
    const tmp = join(this.location, 'tmp', `${process.pid}@${PID_NAMESPACE}-${randomBytes(8).toString('hex')}-${bytes.length}.tmp`);
    let landed = false;
    try {
      const file = await open(tmp, 'wx');
      try {
        if (makeRoom && !(await makeRoom(await this.room()))) return false;
        await file.writeFile(bytes);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(tmp, target).catch(async (e) => {
        if (!isMissing(e)) throw e;
        await mkdir(dirname(target), { recursive: true }); // first entry of this shard
        await rename(tmp, target);
      });
      landed = true;
      if (syncDir) await syncFolder(dirname(target));
      return true;
    } catch (e) {
      if (errno(e) === 'ENOSPC' || errno(e) === 'EDQUOT') {
        throw new EdgelakeError(
          'storage-full',
          `${this.location}: cannot store ${what} (${bytes.length} bytes): the disk is full or over quota (${errno(e)}); nothing cached before was lost`,
          { cause: e },
        );
      }
      throw e;
    } finally {
      if (!landed) await unlink(tmp).catch(() => {});
    }
  }

  /** The writes in flight (temp files, listed first), then the entries. */
  private async room(): Promise<Room> {
    const pending = await this.pendingWrites();
    return { entries: await this.list(false), pending };
  }

  /** The bytes that writes in flight announce; removes the temp files of writes that will never land. */
  private async pendingWrites(): Promise<number> {
    const dir = join(this.location, 'tmp');
    let pending = 0;
    for (const name of await readdir(dir)) {
      const path = join(dir, name);
      const s = await stat(path).catch(() => undefined);
      if (!s) continue; // landed (then the chunk listing that follows counts it) or removed meanwhile
      const [, pid, namespace, size] = TEMP.exec(name) ?? [];
      // An old temp file is abandoned whoever wrote it: a write takes seconds, and a pid may be reused.
      const dead = pid !== undefined && (namespace ?? PID_NAMESPACE) === PID_NAMESPACE && !isAlive(Number(pid));
      if (dead || Date.now() - s.mtimeMs > STALE_TEMP_MS) await unlink(path).catch(() => {});
      else pending += size !== undefined ? Number(size) : s.size;
    }
    return pending;
  }
}

/**
 * Makes `dir` a cache folder, or checks that it is one. A cache made before the marker existed
 * (chunks/ beside notes/ or tmp/, nothing else) is adopted, and marked.
 */
async function claimFolder(dir: string): Promise<void> {
  const names = await readdir(dir).catch((e): string[] => {
    if (isMissing(e)) return [];
    if (errno(e) === 'ENOTDIR') throw new EdgelakeError('invalid-input', `cache folder ${dir} is a file, or inside one: a cache needs a folder`, { cause: e });
    throw e;
  });
  if (names.includes(MARKER)) return;
  const dataset = names.filter((n) => n === 'edgelake.json' || n === 'versions');
  if (dataset.length) {
    throw new EdgelakeError('invalid-input', `${dir} holds a dataset (${dataset.join(', ')}), not a chunk cache: a cache evicts and clears the files under its chunks/, so give it a folder of its own`);
  }
  const earlier = names.includes('chunks') && names.some((n) => n === 'notes' || n === 'tmp') && names.every((n) => SUBFOLDERS.includes(n));
  if (names.length > 0 && !earlier) {
    const some = names.slice(0, 3).join(', ') + (names.length > 3 ? ', ...' : '');
    throw new EdgelakeError('invalid-input', `${dir} is not an edgelake chunk cache: it holds other files (${some}) and no ${MARKER}; give an empty or new folder`);
  }
  await mkdir(dir, { recursive: true });
  // An earlier cache is marked at best effort: a read-only shared one still serves reads.
  await writeFile(join(dir, MARKER), JSON.stringify({ edgelake: 'chunk cache', version: 1 }) + '\n').catch((e) => {
    if (!earlier) throw e;
  });
}

/** A cache file that a folder stands in for, or the reverse: named, with the way out. */
function damaged(path: string, what: string, location: string, cause: unknown): EdgelakeError {
  return new EdgelakeError('invalid-input', `the cache folder ${location} is damaged: ${path} ${what} (remove it to go on)`, { cause });
}

async function readOrUndefined(path: string, location: string): Promise<Uint8Array | undefined> {
  try {
    const b = await readFile(path);
    // A plain Uint8Array over the Buffer's own memory; copy only if it sits in a shared pool.
    return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? new Uint8Array(b.buffer, 0, b.byteLength) : new Uint8Array(b);
  } catch (e) {
    if (isMissing(e)) return undefined;
    if (errno(e) === 'EISDIR') throw damaged(path, 'is a folder, not a file', location, e);
    throw e;
  }
}

async function syncFolder(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errno(e) === 'EPERM'; // alive, but another user's
  }
}

/** The pid namespace's id on Linux ("pid:[4026531836]"); elsewhere the host name alone tells namespaces apart. */
function linuxPidNamespace(): string {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return '';
  }
}
