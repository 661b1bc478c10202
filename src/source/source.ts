/**
 * A Source reads the files of one dataset root: a local folder, an http(s):// prefix or an
 * s3://bucket/prefix. Paths are relative to the root and use '/'. Wrappers (retry, concurrency
 * limits, metrics) are Sources around a Source.
 */
export interface Source {
  /** Where the root is, for error messages. Never contains credentials. */
  readonly location: string;
  /** The whole file. Fails with code 'not-found' when it does not exist. */
  read(path: string, options?: ReadOptions): Promise<Uint8Array>;
  /** `length` bytes from `offset`. Fails if the file is shorter than `offset + length`. */
  readRange(path: string, offset: number, length: number, options?: ReadOptions): Promise<Uint8Array>;
}

export interface ReadOptions {
  signal?: AbortSignal;
  /** Refuse (code 'limit') a file larger than this instead of reading it. */
  maxBytes?: number;
}
