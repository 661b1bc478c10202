/**
 * Decoded chunks held in memory while the loader needs them. Each (tensor, chunk) is loaded once
 * while in use, however many windows ask for it; released chunks stay in a small LRU (up to
 * `keepBytes`, and only while everything held fits `budgetBytes`) so a chunk shared by many
 * windows, like a label chunk, is not decoded again.
 */
export class Residency<T> {
  private readonly entries = new Map<string, { value: Promise<T>; users: number; bytes: number }>();
  private readonly idle = new Map<string, number>(); // released entries in LRU order -> bytes
  private idleBytes = 0;
  private usedBytes = 0;

  constructor(
    private readonly load: (key: string) => Promise<T>,
    private readonly keepBytes: number,
    private readonly budgetBytes = Infinity,
  ) {}

  /** Bytes of every entry held, in use or idle. */
  get bytes(): number {
    return this.usedBytes + this.idleBytes;
  }

  /**
   * Whether acquiring `key` (`bytes` when not held yet) keeps what is in use, plus `heldElsewhere`
   * (memory the caller holds outside this residency), within the budget; idle entries make room.
   */
  fits(key: string, bytes: number, heldElsewhere = 0): boolean {
    const entry = this.entries.get(key);
    return this.usedBytes + heldElsewhere + (entry?.users ? 0 : entry?.bytes ?? bytes) <= this.budgetBytes;
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
    this.trimIdle();
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
    this.trimIdle();
  }

  clear(): void {
    this.entries.clear();
    this.idle.clear();
    this.idleBytes = 0;
    this.usedBytes = 0;
  }

  /** Drops the least recently released entries past `keepBytes` or past the budget. */
  private trimIdle(): void {
    for (const [k, b] of this.idle) {
      if (this.idleBytes <= this.keepBytes && this.usedBytes + this.idleBytes <= this.budgetBytes) break;
      this.idle.delete(k);
      this.idleBytes -= b;
      this.entries.delete(k);
    }
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
