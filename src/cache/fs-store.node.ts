import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, stat, unlink, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { EdgelakeError } from '../errors.js';
import { SHA256_HEX } from '../format/hash.js';
import { checkHash, sumUsage, type ChunkStore, type StoreEntry } from './store.js';

/** A get() touches an entry's mtime at most this often per process: a syscall per read is too many. */
const TOUCH_EVERY_MS = 1000;
/** A temp file this old is abandoned even when its pid looks alive (pid reuse, another host). */
const STALE_TEMP_MS = 60 * 60 * 1000;
const SHARD = /^[0-9a-f]{2}$/;
const TEMP = /^(\d+)-[0-9a-f]+\.tmp$/;

const errno = (e: unknown) => (e as NodeJS.ErrnoException).code;
const isMissing = (e: unknown) => errno(e) === 'ENOENT';

/**
 * A ChunkStore in a folder, shared safely by any number of processes:
 *
 *   <dir>/chunks/ab/<hash>   one file per chunk, whole or absent (temp file, fsync, rename)
 *   <dir>/notes/<sha256(name)>
 *   <dir>/tmp/<pid>-<random>.tmp   writes in progress
 *
 * The filesystem is the index: size from stat, last use from mtime (get() touches it). No index
 * file can be torn by a crash or go stale while another process evicts.
 */
export class FsChunkStore implements ChunkStore {
  private readonly touched = new Map<string, number>();
  private closed = false;

  private constructor(readonly location: string) {}

  /** Opens (creating if needed) the store in `dir`, and removes temp files that crashed writers left. */
  static async open(dir: string): Promise<FsChunkStore> {
    const store = new FsChunkStore(dir);
    for (const sub of ['chunks', 'notes', 'tmp']) await mkdir(join(dir, sub), { recursive: true });
    await store.removeStaleTemps();
    return store;
  }

  private chunkPath(hash: string): string {
    return join(this.location, 'chunks', hash.slice(0, 2), hash);
  }

  private notePath(name: string): string {
    return join(this.location, 'notes', createHash('sha256').update(name).digest('hex'));
  }

  async get(hash: string, options?: { touch?: boolean }): Promise<Uint8Array | undefined> {
    checkHash(hash, this.location);
    const path = this.chunkPath(hash);
    // Once open, an eviction elsewhere only unlinks the name: this read still sees every byte.
    const bytes = await readOrUndefined(path);
    if (bytes && options?.touch !== false) await this.touch(hash, path);
    return bytes;
  }

  private async touch(hash: string, path: string): Promise<void> {
    const now = Date.now();
    if (now - (this.touched.get(hash) ?? -Infinity) < TOUCH_EVERY_MS) return;
    if (this.touched.size >= 10_000) this.touched.clear(); // bounded memory; costs a few extra touches
    this.touched.set(hash, now);
    // Best effort: evicted since (ENOENT) or a read-only or another user's folder still serves reads.
    await utimes(path, new Date(now), new Date(now)).catch(() => {});
  }

  async put(hash: string, bytes: Uint8Array): Promise<void> {
    checkHash(hash, this.location);
    await this.writeAtomically(this.chunkPath(hash), bytes, `chunk ${hash}`, false);
  }

  async has(hash: string): Promise<boolean> {
    checkHash(hash, this.location);
    return stat(this.chunkPath(hash)).then(
      () => true,
      (e) => (isMissing(e) ? false : Promise.reject(e)),
    );
  }

  async delete(hash: string): Promise<void> {
    checkHash(hash, this.location);
    this.touched.delete(hash);
    await unlink(this.chunkPath(hash)).catch((e) => {
      if (!isMissing(e)) throw e;
    });
  }

  async entries(): Promise<StoreEntry[]> {
    const root = join(this.location, 'chunks');
    const list: StoreEntry[] = [];
    for (const shard of (await readdir(root)).filter((s) => SHARD.test(s))) {
      const names = await readdir(join(root, shard)).catch((e) => (isMissing(e) ? [] : Promise.reject(e)));
      const found = await Promise.all(
        names
          .filter((n) => SHA256_HEX.test(n) && n.startsWith(shard))
          .map((hash) =>
            stat(join(root, shard, hash)).then(
              (s): StoreEntry => ({ hash, bytes: s.size, lastUsed: s.mtimeMs }),
              (e) => (isMissing(e) ? undefined : Promise.reject(e)), // evicted while we listed
            ),
          ),
      );
      for (const e of found) if (e) list.push(e);
    }
    return list;
  }

  async usage(): Promise<{ entries: number; bytes: number }> {
    return sumUsage(await this.entries());
  }

  async getNote(name: string): Promise<Uint8Array | undefined> {
    return readOrUndefined(this.notePath(name));
  }

  async putNote(name: string, bytes: Uint8Array): Promise<void> {
    await this.writeAtomically(this.notePath(name), bytes, `note "${name}"`, true);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.touched.clear();
  }

  /**
   * temp file, write, fsync, rename: a reader or a crash sees the old file or the new one. The
   * folder is fsynced only for notes: a chunk whose rename a power cut loses is just a cache miss.
   */
  private async writeAtomically(target: string, bytes: Uint8Array, what: string, syncDir: boolean): Promise<void> {
    const tmp = join(this.location, 'tmp', `${process.pid}-${randomBytes(8).toString('hex')}.tmp`);
    try {
      const file = await open(tmp, 'wx');
      try {
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
      if (syncDir) await syncFolder(dirname(target));
    } catch (e) {
      await unlink(tmp).catch(() => {});
      if (errno(e) === 'ENOSPC' || errno(e) === 'EDQUOT') {
        throw new EdgelakeError(
          'storage-full',
          `${this.location}: cannot store ${what} (${bytes.length} bytes): the disk is full or over quota (${errno(e)}); nothing cached before was lost`,
          { cause: e },
        );
      }
      throw e;
    }
  }

  /** Temp files of dead processes (SIGKILL, power cut) or older than an hour. */
  private async removeStaleTemps(): Promise<void> {
    const dir = join(this.location, 'tmp');
    for (const name of await readdir(dir)) {
      const pid = Number(TEMP.exec(name)?.[1] ?? NaN);
      const path = join(dir, name);
      const old = await stat(path).then((s) => Date.now() - s.mtimeMs > STALE_TEMP_MS, () => false);
      if (old || !isAlive(pid)) await unlink(path).catch(() => {});
    }
  }
}

async function readOrUndefined(path: string): Promise<Uint8Array | undefined> {
  try {
    const b = await readFile(path);
    // A plain Uint8Array over the Buffer's own memory; copy only if it sits in a shared pool.
    return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? new Uint8Array(b.buffer, 0, b.byteLength) : new Uint8Array(b);
  } catch (e) {
    if (isMissing(e)) return undefined;
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
