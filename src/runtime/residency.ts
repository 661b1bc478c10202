/**
 * Decoded chunks held in memory while the loader needs them. Each (tensor, chunk) is loaded once
 * while in use, however many windows ask for it; released chunks stay in a small LRU (up to
 * `keepBytes`) so a chunk shared by many windows, like a label chunk, is not decoded again.
 */
export class Residency<T> {
  private readonly entries = new Map<string, { value: Promise<T>; users: number; bytes: number }>();
  private readonly idle = new Map<string, number>(); // released entries in LRU order -> bytes
  private idleBytes = 0;
  private usedBytes = 0;

  constructor(
    private readonly load: (key: string) => Promise<T>,
    private readonly keepBytes: number,
  ) {}

  /** Bytes of every entry held, in use or idle. */
  get bytes(): number {
    return this.usedBytes + this.idleBytes;
  }

  acquire(key: string, bytes: number): Promise<T> {
    let entry = this.entries.get(key);
    if (entry) {
      if (entry.users === 0) this.takeFromIdle(key, entry.bytes);
      entry.users++;
      return entry.value;
    }
    const value = this.load(key);
    entry = { value, users: 1, bytes };
    this.entries.set(key, entry);
    this.usedBytes += bytes;
    // A failed load is forgotten, so a later acquire retries it.
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.forget(key);
    });
    return value;
  }

  release(key: string): void {
    const entry = this.entries.get(key);
    if (!entry || entry.users === 0) return;
    if (--entry.users > 0) return;
    this.usedBytes -= entry.bytes;
    this.idle.set(key, entry.bytes);
    this.idleBytes += entry.bytes;
    for (const [k, b] of this.idle) {
      if (this.idleBytes <= this.keepBytes) break;
      this.idle.delete(k);
      this.idleBytes -= b;
      this.entries.delete(k);
    }
  }

  clear(): void {
    this.entries.clear();
    this.idle.clear();
    this.idleBytes = 0;
    this.usedBytes = 0;
  }

  private takeFromIdle(key: string, bytes: number): void {
    this.idle.delete(key);
    this.idleBytes -= bytes;
    this.usedBytes += bytes;
  }

  private forget(key: string): void {
    const entry = this.entries.get(key)!;
    if (entry.users > 0) {
      this.usedBytes -= entry.bytes;
    } else {
      this.idle.delete(key);
      this.idleBytes -= entry.bytes;
    }
    this.entries.delete(key);
  }
}
