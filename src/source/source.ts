import type { EdgelakeError } from '../errors.js';

/**
 * A Source reads the files of one dataset root: a local folder, an http(s):// prefix or an
 * s3://bucket/prefix. Paths are relative to the root and use '/'. Wrappers (retry, concurrency
 * limits, verification, metrics, a cache) are Sources around a Source; a dataset composes them
 * into one chain (src/runtime/dataset/chain.ts).
 */
export interface Source {
  /** Where the root is, for error messages: no trailing '/' (a file is `${location}/${path}`). Never contains credentials. */
  readonly location: string;
  /** The whole file. Fails with code 'not-found' when it does not exist. */
  read(path: string, options?: ReadOptions): Promise<Uint8Array>;
  /** `length` bytes from `offset`. Fails if the file is shorter than `offset + length`. */
  readRange(path: string, offset: number, length: number, options?: ReadOptions): Promise<Uint8Array>;
  /**
   * Several ranges of one file, their bytes concatenated in the order given, in one request where
   * the transport can (HTTP multipart/byteranges); absent where it cannot. Fails with code
   * 'unsupported' when the storage turns out to serve one range a request (ask each range alone).
   */
  readRanges?(path: string, ranges: readonly ByteRange[], options?: ReadOptions): Promise<Uint8Array>;
}

/** `length` bytes of a file from `offset`. */
export interface ByteRange {
  offset: number;
  length: number;
}

export interface ReadOptions {
  signal?: AbortSignal;
  /** Refuse (code 'limit') a file larger than this instead of reading it. */
  maxBytes?: number;
  /**
   * For a reader that must not wait on storage (a loader feeding a training loop): a cache in the
   * chain decides a miss from what it has listed, returns the fetched bytes before they are stored,
   * and hands the write to this function. Without it, a read returns once the bytes are stored.
   */
  writeBehind?: (write: Promise<void>, bytes: number) => void;
  /**
   * This read's remote step, run elsewhere: a decode worker reading the same root through the same
   * remote chain. The layers above the remote (metrics, cache) see it as any other read.
   */
  via?: (path: string, options: ReadOptions) => Promise<Uint8Array>;
  /**
   * Checks the bytes that arrived, as a verify layer in the chain runs it (a range's crc32, a
   * chunk header's hash): bytes that fail it were damaged in transit and a retry layer above
   * fetches them again.
   */
  check?: (bytes: Uint8Array) => unknown;
  /** Told of every retry below (a transient fault: unreachable, or bytes damaged in transit); metrics count them. */
  onRetry?: (reason: EdgelakeError) => void;
  /**
   * Reads the file only if it is no longer the one this validator (from onValidator) named: an
   * unchanged file fails the read with code 'not-modified' and no bytes move (HTTP If-None-Match;
   * a local file's identity, size and mtime). Whole-file reads only.
   */
  ifChanged?: string;
  /** Told the validator of the bytes a whole-file read returns, when the transport has one (an ETag; a local file's identity, size and mtime). */
  onValidator?: (validator: string) => void;
}
