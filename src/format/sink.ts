/** Where a builder writes a dataset's files; paths are relative to the dataset root. */
export interface Sink {
  /** Writes a whole file; writing an immutable path that exists with the same bytes is a no-op. */
  write(path: string, bytes: Uint8Array): Promise<void>;
  /** The bytes of a file already written, or undefined (builders read refs to append versions). */
  read(path: string): Promise<Uint8Array | undefined>;
  /**
   * Compare-and-swap of a mutable file (edgelake.json): writes `next` only if the file still
   * holds `expected` (undefined: absent), atomically against every other swap; false otherwise.
   * Sinks without it cannot move refs safely beside other writers.
   */
  swap?(path: string, expected: Uint8Array | undefined, next: Uint8Array): Promise<boolean>;
  /**
   * Throws when `swap` would not be safe here (HttpSink: a server that ignores conditional PUT),
   * so that a commit is refused before it uploads anything rather than at its last step.
   */
  checkSwap?(): Promise<void>;
}

/** Equal bytes, or both absent. */
export function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.length === b.length && a.every((v, i) => v === b[i]);
}

/** A Sink in memory, for tests and for building small datasets to serve directly. */
export class MemorySink implements Sink {
  readonly files = new Map<string, Uint8Array>();
  async write(path: string, bytes: Uint8Array): Promise<void> {
    this.files.set(path, bytes.slice());
  }
  async read(path: string): Promise<Uint8Array | undefined> {
    return this.files.get(path);
  }
  async swap(path: string, expected: Uint8Array | undefined, next: Uint8Array): Promise<boolean> {
    if (!sameBytes(this.files.get(path), expected)) return false;
    this.files.set(path, next.slice());
    return true;
  }
}
