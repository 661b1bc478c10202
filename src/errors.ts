/**
 * Every error edgelake throws on purpose is an EdgelakeError with a stable `code`, and a
 * message that names the dataset, file, tensor or sample involved.
 */
export type ErrorCode =
  | 'invalid-manifest' // a manifest or refs file breaks a rule of FORMAT.md
  | 'invalid-chunk' // a chunk body is malformed or truncated
  | 'integrity' // bytes do not match their SHA-256 or crc32
  | 'limit' // a declared or inflated size is beyond the configured limits
  | 'not-found' // the source has no such file
  | 'unreachable' // the source could not be reached (network, timeouts, 5xx after retries)
  | 'source' // the source answered with an error that retrying will not fix
  | 'invalid-input' // a builder or CLI argument is wrong
  | 'storage-full' // the disk or the browser's quota has no room; nothing already stored is lost
  | 'conflict' // another writer got there first: the dataset moved on since it was read (a commit would lose its version), it holds the label store, or it gave a sample another label
  | 'gpu-unavailable' // no WebGPU adapter, and the caller required one
  | 'worker-lost' // a decode worker exited or stopped answering (it closed itself, ran out of memory or crashed); it was replaced
  | 'not-modified' // a read asked for a file only if it changed (ReadOptions.ifChanged), and it had not
  | 'unsupported'; // the storage cannot serve a read of this kind (several ranges in one request), or cannot be used here at all (IndexedDB in a sandboxed frame)

export class EdgelakeError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EdgelakeError';
    this.code = code;
  }
}

export function isEdgelakeError(e: unknown, code?: ErrorCode): e is EdgelakeError {
  return e instanceof EdgelakeError && (code === undefined || e.code === code);
}
