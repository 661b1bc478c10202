import { mkdir, open, readFile, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { EdgelakeError } from '../errors.js';
import { sameBytes, type Sink } from './sink.js';

/** A lock held longer than this was left by a writer that died: it is taken over. */
const STALE_LOCK_MS = 30_000;
const LOCK_WAIT_MS = 10_000;

/**
 * Writes a dataset into a local folder. Each file goes to a temporary name, is flushed and
 * renamed into place, so a reader (or a crash) never sees a partial file.
 */
export class FolderSink implements Sink {
  constructor(readonly root: string) {}

  async write(path: string, bytes: Uint8Array): Promise<void> {
    const target = join(this.root, path);
    await mkdir(dirname(target), { recursive: true });
    const tmp = `${target}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    const file = await open(tmp, 'w');
    let written = false;
    try {
      await file.writeFile(bytes);
      await file.sync();
      written = true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOSPC' && code !== 'EDQUOT') throw e;
      throw new EdgelakeError('storage-full', `${target}: cannot write ${bytes.length} bytes: the disk is full or over quota (${code}); every file written before is as it was`, { cause: e });
    } finally {
      await file.close();
      if (!written) await unlink(tmp).catch(() => {}); // a dataset folder keeps no half-written file
    }
    await rename(tmp, target);
  }

  /**
   * Compare-and-swap under a lock file (<file>.lock, created exclusively): every swap on the
   * folder, from any process, reads, compares and renames into place while it holds the lock.
   */
  async swap(path: string, expected: Uint8Array | undefined, next: Uint8Array): Promise<boolean> {
    const target = join(this.root, path);
    await mkdir(dirname(target), { recursive: true });
    const lock = await takeLock(`${target}.lock`);
    try {
      if (!sameBytes(await this.read(path), expected)) return false;
      await this.write(path, next);
      return true;
    } finally {
      await lock.close();
      await unlink(`${target}.lock`).catch(() => {});
    }
  }

  async read(path: string): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await readFile(join(this.root, path)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }
}

async function takeLock(path: string): Promise<FileHandle> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (let wait = 2; ; wait = Math.min(wait * 2, 100)) {
    try {
      return await open(path, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const held = await stat(path).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (held > STALE_LOCK_MS) await unlink(path).catch(() => {});
      else if (Date.now() > deadline) throw new EdgelakeError('conflict', `${path}: another writer has held the lock for ${Math.round(held / 1000)} s; try again`);
      else await new Promise((r) => setTimeout(r, wait));
    }
  }
}
