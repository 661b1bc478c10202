/** Where a builder writes a dataset's files; paths are relative to the dataset root. */
export interface Sink {
  /** Writes a whole file; writing an immutable path that exists with the same bytes is a no-op. */
  write(path: string, bytes: Uint8Array): Promise<void>;
  /** The bytes of a file already written, or undefined (builders read refs to append versions). */
  read(path: string): Promise<Uint8Array | undefined>;
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
}
