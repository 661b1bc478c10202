import { constants, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { EdgelakeError } from '../errors.js';
import { checkRange, checkRelativePath } from './path.js';
import type { ReadOptions, Source } from './source.js';

/** Reads the files of a dataset in a local folder. */
export class FileSource implements Source {
  readonly location: string;

  constructor(root: string) {
    this.location = resolve(root);
  }

  async read(path: string, options: ReadOptions = {}): Promise<Uint8Array> {
    const where = this.#where(path);
    return this.#withFile(path, options.signal, async (file, stats) => {
      const { size } = stats;
      if (options.ifChanged !== undefined && options.ifChanged === validatorOf(stats)) {
        throw new EdgelakeError('not-modified', `${where} has not changed (${options.ifChanged})`);
      }
      if (options.maxBytes !== undefined && size > options.maxBytes) {
        throw new EdgelakeError('limit', `${where} is ${size} bytes, over the limit of ${options.maxBytes}`);
      }
      const bytes = await readFully(file, 0, size, options.signal);
      // A file that shrank while we read it is as wrong as a short range.
      if (bytes.length < size) throw shortFile(where, bytes.length, size);
      if (options.onValidator) {
        // Bytes of a file rewritten while we read them may mix two versions: read again (a transient fault).
        const after = validatorOf(await file.stat());
        if (after !== validatorOf(stats)) throw new EdgelakeError('unreachable', `${where} changed while it was read`);
        options.onValidator(after);
      }
      return bytes;
    });
  }

  async readRange(path: string, offset: number, length: number, options: ReadOptions = {}): Promise<Uint8Array> {
    const where = `${this.#where(path)} [${offset}, ${offset + length})`;
    checkRange(offset, length, where);
    if (options.maxBytes !== undefined && length > options.maxBytes) {
      throw new EdgelakeError('limit', `${where} is ${length} bytes, over the limit of ${options.maxBytes}`);
    }
    return this.#withFile(path, options.signal, async (file) => {
      const bytes = await readFully(file, offset, length, options.signal);
      if (bytes.length < length) throw shortFile(where, (await file.stat()).size, offset + length);
      return bytes;
    });
  }

  #where(path: string): string {
    checkRelativePath(path, this.location);
    return join(this.location, path);
  }

  /** Opens a regular file and hands it to `use` with its stats; anything else is refused, by name. */
  async #withFile<T>(path: string, signal: AbortSignal | undefined, use: (file: FileHandle, stats: Stats) => Promise<T>): Promise<T> {
    const full = this.#where(path);
    const inside = relative(this.location, full);
    if (inside === '' || inside.startsWith(`..${sep}`) || inside === '..' || isAbsolute(inside)) {
      throw new EdgelakeError('invalid-input', `${this.location}: refusing path ${JSON.stringify(path)} outside the root`);
    }
    signal?.throwIfAborted();
    let file: FileHandle;
    try {
      // Non-blocking, so a FIFO opens at once (to be refused below) instead of waiting for a writer forever.
      file = await open(full, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
    } catch (e) {
      throw fsError(e, full);
    }
    try {
      const stats = await file.stat();
      if (!stats.isFile()) throw new EdgelakeError('source', `${full} is ${kindOf(stats)}, not a regular file`);
      return await use(file, stats);
    } catch (e) {
      if (signal?.aborted || e instanceof EdgelakeError) throw e;
      throw fsError(e, full);
    } finally {
      await file.close();
    }
  }
}

/** A file's identity, size and last changes: ctime too, as a copy that keeps the mtime (cp -p, rsync -t) still sets it. */
function validatorOf(s: Stats): string {
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
}

/** Up to `length` bytes from `offset`; fewer only at the end of the file. */
async function readFully(file: FileHandle, offset: number, length: number, signal?: AbortSignal) {
  const bytes = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    signal?.throwIfAborted();
    const { bytesRead } = await file.read(bytes, done, length - done, offset + done);
    if (bytesRead === 0) return bytes.subarray(0, done);
    done += bytesRead;
  }
  return bytes;
}

function kindOf(s: Stats): string {
  if (s.isDirectory()) return 'a directory';
  if (s.isFIFO()) return 'a FIFO (named pipe)';
  if (s.isSocket()) return 'a socket';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  return 'of an unknown kind';
}

function shortFile(where: string, size: number, needed: number): EdgelakeError {
  return new EdgelakeError('source', `${where}: file is ${size} bytes, the read needs ${needed}`);
}

function fsError(e: unknown, full: string): EdgelakeError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new EdgelakeError('not-found', `${full} does not exist`, { cause: e });
  }
  if (code === 'ENXIO') return new EdgelakeError('source', `${full} is a socket or device, not a regular file (ENXIO)`, { cause: e });
  return new EdgelakeError('source', `${full}: ${code ?? String(e)}`, { cause: e });
}
