import { mkdir, open, readFile, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { EdgelakeError } from '../../../errors.js';
import { crc32 } from '../../../format/hash.js';
import { checkLabelBatch, copyBatch, holdLabels, newLabels, type LabelBatch, type LabelStore } from './store.js';

/**
 * Labels in one append-only file, a record per `teach`:
 *
 *   u32 MAGIC, u32 count, count x u32 id, count x i32 label, u32 crc32 of the record before it
 *
 * (little-endian; a correction's MAGIC is CORRECTION_MAGIC). `append` resolves after fsync, so an
 * acknowledged batch survives a crash. A crash mid-write leaves at most a torn last record, never
 * acknowledged: open() cuts it off. A batch a full disk cannot take whole is refused
 * (storage-full) and cut off at once. A damaged record that is not such a tear (whole records
 * after it, say) is damage, not a crash: open() refuses (integrity) and changes nothing.
 * One learner writes a file at a time: open() takes `<path>.lock` until close(), and takes over
 * one left by a process on this host that is no longer running.
 */
export class FsLabelStore implements LabelStore {
  private constructor(
    readonly location: string,
    private readonly lock: string,
    private handle: FileHandle | undefined,
    private batches: LabelBatch[],
    /** Where the last acknowledged record ends: the file's length between appends. */
    private end: number,
    /** Each sample's label: a batch giving one another is refused. */
    private readonly held = batches.reduce(holdLabels, new Map<number, number>()),
  ) {}

  static async open(path: string): Promise<FsLabelStore> {
    await mkdir(dirname(path), { recursive: true });
    const lock = await takeLock(path);
    let handle: FileHandle | undefined;
    try {
      const existed = await readFile(path).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? undefined : Promise.reject(e)));
      handle = await open(path, 'a+');
      const { batches, end } = existed ? readRecords(existed, path) : { batches: [], end: 0 };
      if (existed && end < existed.length) {
        await handle.truncate(end);
        await handle.sync();
      }
      if (!existed) await syncFolder(dirname(path)); // the new file's name survives a power cut too
      return new FsLabelStore(path, lock, handle, batches, end);
    } catch (e) {
      await handle?.close();
      await releaseLock(lock);
      throw e;
    }
  }

  async load(): Promise<LabelBatch[]> {
    return this.batches.map(copyBatch);
  }

  async append(batch: LabelBatch): Promise<void> {
    checkLabelBatch(batch, this.location);
    if (!this.handle) throw new EdgelakeError('invalid-input', `label store ${this.location}: closed`);
    const news = newLabels(this.held, batch, this.location);
    if (!news) return;
    const record = encodeRecord(news);
    try {
      // On a full disk write(2) can take part of a record and return without an error: the rest would never come.
      const { bytesWritten } = await this.handle.write(record);
      if (bytesWritten < record.length) throw this.notStored(batch, `the disk took ${bytesWritten} of its ${record.length} bytes`);
      await this.handle.sync();
    } catch (e) {
      await this.cutBack();
      const code = (e as NodeJS.ErrnoException).code;
      throw code === 'ENOSPC' || code === 'EDQUOT' ? this.notStored(batch, `the disk is full or over quota (${code})`, e) : e;
    }
    this.end += record.length;
    this.batches.push(news);
    holdLabels(this.held, news);
  }

  private notStored(batch: LabelBatch, why: string, cause?: unknown): EdgelakeError {
    const kept = this.batches.reduce((a, b) => a + b.ids.length, 0);
    return new EdgelakeError('storage-full', `label store ${this.location}: ${why}; this batch of ${batch.ids.length} labels was not stored, the ${kept} before it are kept`, { cause });
  }

  /** Cuts a batch that was not acknowledged off the file, so the next record follows the last one that was. */
  private async cutBack(): Promise<void> {
    try {
      await this.handle!.truncate(this.end);
    } catch {
      // Left in the file, a torn record would stand between two whole ones; open() cuts it off, as after a crash.
      await this.close();
    }
  }

  async close(): Promise<void> {
    if (!this.handle) return;
    const handle = this.handle;
    this.handle = undefined;
    try {
      await handle.close();
    } finally {
      await releaseLock(this.lock);
    }
  }
}

const MAGIC = 0x314c4245; // 'EBL1'
const CORRECTION_MAGIC = 0x31434245; // 'EBC1': a batch of corrections; older versions refuse the file rather than take them as first labels

function encodeRecord({ ids, labels, corrects }: LabelBatch): Uint8Array {
  const n = ids.length;
  const bytes = new Uint8Array(12 + 8 * n);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, corrects ? CORRECTION_MAGIC : MAGIC, true);
  view.setUint32(4, n, true);
  for (let i = 0; i < n; i++) {
    view.setUint32(8 + 4 * i, ids[i], true);
    view.setInt32(8 + 4 * n + 4 * i, labels[i], true);
  }
  view.setUint32(8 + 8 * n, crc32(bytes, 0, 8 + 8 * n), true);
  return bytes;
}

/** Every whole record, and where the last one ends (a torn record after it is cut off). */
function readRecords(bytes: Uint8Array, path: string): { batches: LabelBatch[]; end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const batches: LabelBatch[] = [];
  let at = 0;
  while (at < bytes.length) {
    const end = wholeRecordEnd(bytes, view, at);
    if (end === undefined) {
      if (isTorn(bytes, view, at)) return { batches, end: at };
      const why = nextWholeRecord(bytes, view, at) === undefined ? 'it is not a write a crash cut short' : 'more follow';
      throw new EdgelakeError('integrity', `label store ${path}: the record at byte ${at} is damaged and ${why}; refusing to open it (nothing was changed)`);
    }
    const n = (end - at - 12) / 8;
    const ids = new Uint32Array(n);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      ids[i] = view.getUint32(at + 8 + 4 * i, true);
      labels[i] = view.getInt32(at + 8 + 4 * n + 4 * i, true);
    }
    batches.push(view.getUint32(at, true) === CORRECTION_MAGIC ? { ids, labels, corrects: true } : { ids, labels });
    at = end;
  }
  return { batches, end: at };
}

function isMagic(word: number): boolean {
  return word === MAGIC || word === CORRECTION_MAGIC;
}

/** Where the whole record at `at` ends: its magic, a count that fits the file and its crc32 all hold; else undefined. */
function wholeRecordEnd(bytes: Uint8Array, view: DataView, at: number): number | undefined {
  if (at + 12 > bytes.length || !isMagic(view.getUint32(at, true))) return undefined;
  const end = at + 12 + 8 * view.getUint32(at + 4, true);
  return end <= bytes.length && view.getUint32(end - 4, true) === crc32(bytes, at, end - 4) ? end : undefined;
}

/** Where the first whole record after `at` starts (records lie at multiples of 4), if any does. */
function nextWholeRecord(bytes: Uint8Array, view: DataView, at: number): number | undefined {
  for (let next = at + 4; next + 12 <= bytes.length; next += 4) if (wholeRecordEnd(bytes, view, next) !== undefined) return next;
  return undefined;
}

/**
 * A crash tears only the last write, so a bad record at `at` is torn when it is the last thing in
 * the file and no whole record follows: too short for any record, unwritten (zeros), or a good
 * header whose record runs to or past the end of the file, or is followed only by zeros. A flipped
 * bit in a header can point past the end too: the whole records after it tell damage from a tear.
 */
function isTorn(bytes: Uint8Array, view: DataView, at: number): boolean {
  const rest = bytes.subarray(at);
  if (rest.length < 12 || rest.every((b) => b === 0)) return true;
  if (!isMagic(view.getUint32(at, true))) return false;
  const end = at + 12 + 8 * view.getUint32(at + 4, true);
  return bytes.subarray(Math.min(end, bytes.length)).every((b) => b === 0) && nextWholeRecord(bytes, view, at) === undefined;
}

/** Lock files this process holds or is taking: so a lock naming our own pid is an earlier process's (a restarted container reuses pids). */
const held = new Set<string>();

/** Creates `<path>.lock` holding our pid and host, taking over one whose process is gone; returns the lock's path. */
async function takeLock(path: string): Promise<string> {
  const file = resolve(`${path}.lock`);
  if (held.has(file)) throw lockConflict(path, file, `${process.pid} ${hostname()}`);
  held.add(file);
  try {
    for (;;) {
      const found = await createOrRead(file, `${process.pid} ${hostname()}`);
      if (found === undefined) return file;
      const [pid, host] = found.split(' ');
      const holder = Number(pid);
      const gone = host === hostname() && holder > 0 && (holder === process.pid || !isRunning(holder));
      if (!gone) throw lockConflict(path, file, found);
      // Removed only if still the dead owner's: another process may have taken it over since we read it.
      if ((await readFile(file, 'utf8').catch(() => undefined)) === found) await rm(file, { force: true });
    }
  } catch (e) {
    held.delete(file);
    throw e;
  }
}

/** Creates the lock file with `owner` in it; or, when one exists, returns its owner. */
async function createOrRead(file: string, owner: string): Promise<string | undefined> {
  for (;;) {
    try {
      await writeFile(file, owner, { flag: 'wx' });
      return undefined;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const found = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? undefined : Promise.reject(e)));
    if (found !== undefined) return found; // undefined: released while we looked, so create it again
  }
}

function lockConflict(path: string, file: string, owner: string): EdgelakeError {
  const [pid, host] = owner.split(' ');
  const who = Number(pid) > 0 ? `process ${pid} on ${host}` : 'another process (its lock names no pid yet)';
  return new EdgelakeError('conflict', `label store ${path}: ${who} has it open (lock ${file}); one learner writes a file at a time. If that process is not a learner, delete the lock`);
}

async function releaseLock(file: string): Promise<void> {
  if (held.delete(file)) await rm(file, { force: true });
}

/** Signal 0 checks a pid without touching the process: ESRCH means none; EPERM means one we may not signal, so running. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
