import { constants as bufferConstants } from 'node:buffer';
import { inflateRawSync } from 'node:zlib';
import { EdgelakeError } from '../errors.js';
import type { BoundedInflate } from './inflate.js';

/**
 * BoundedInflate by Node's native zlib: several times fflate's speed, one pass over every chunk
 * a loader reads. `maxOutputLength` stops a bomb as soon as the output passes the bound.
 */
export const inflateBoundedNode: BoundedInflate = (data, maxBytes, what) => {
  let out: Buffer;
  try {
    out = inflateRawSync(data, { maxOutputLength: Math.max(1, Math.min(maxBytes, bufferConstants.MAX_LENGTH)) });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') throw new EdgelakeError('limit', `${what}: inflates to more than ${maxBytes} bytes (the limit)`, { cause: e });
    if (code === 'Z_BUF_ERROR') throw new EdgelakeError('invalid-chunk', `${what}: DEFLATE stream is truncated`, { cause: e });
    throw new EdgelakeError('invalid-chunk', `${what}: corrupt DEFLATE stream (${(e as Error).message})`, { cause: e });
  }
  // maxOutputLength 1 stands for a bound of 0: only an empty output fits it.
  if (out.length > maxBytes) throw new EdgelakeError('limit', `${what}: inflates to more than ${maxBytes} bytes (the limit)`);
  // A plain Uint8Array over the bytes: Buffer's slice() shares memory, and callers copy with slice().
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
};
