import { Inflate, deflateSync } from 'fflate';
import { EdgelakeError } from '../errors.js';

const MAX_STEP = 64 << 10;
const MIN_STEP = 16 << 10;
/**
 * fflate inflates a whole pushed step before calling back, and DEFLATE expands at most 1032:1, so
 * a step is sized to the remaining budget; below 16 KiB, fflate's per-push copying costs too much.
 */
const stepFor = (budget: number): number => Math.max(MIN_STEP, Math.min(MAX_STEP, Math.ceil(budget / 1032)));

/**
 * Raw DEFLATE (RFC 1951) inflate that never produces more than `maxBytes`, or throws an
 * EdgelakeError naming `what`: 'limit' past the bound, 'invalid-chunk' for a corrupt or
 * truncated stream.
 */
export type BoundedInflate = (data: Uint8Array, maxBytes: number, what: string) => Uint8Array;

let platformInflate: BoundedInflate = inflateBoundedJs;

/** Installs the platform's inflate (the Node entry and Node workers install native zlib's). */
export function useInflate(inflate: BoundedInflate): void {
  platformInflate = inflate;
}

/** Raw DEFLATE inflate within `maxBytes` (see BoundedInflate), by the platform's inflate. */
export function inflateBounded(data: Uint8Array, maxBytes: number, what: string): Uint8Array {
  return platformInflate(data, maxBytes, what);
}

/** A gzip member's (RFC 1952) contents within `maxBytes`, as inflateBounded; 'invalid-chunk' for a header that is not gzip's. */
export function gunzipBounded(data: Uint8Array, maxBytes: number, what: string): Uint8Array {
  return inflateBounded(gzipBody(data, what), maxBytes, what);
}

/** The DEFLATE stream inside a gzip member, past its optional header fields. */
function gzipBody(b: Uint8Array, what: string): Uint8Array {
  const fail = (why: string) => new EdgelakeError('invalid-chunk', `${what}: ${why}`);
  if (b.length < 18 || b[0] !== 0x1f || b[1] !== 0x8b || b[2] !== 8) throw fail('not gzip');
  const flags = b[3];
  let at = 10;
  if (flags & 4) at += 2 + (b[at] | (b[at + 1] << 8)); // FEXTRA
  if (flags & 8) at = b.indexOf(0, at) + 1; // FNAME
  if (flags & 16) at = b.indexOf(0, at) + 1; // FCOMMENT
  if (flags & 2) at += 2; // FHCRC
  if (at <= 0 || at > b.length - 8) throw fail('a truncated gzip header');
  return b.subarray(at, b.length - 8);
}

/**
 * BoundedInflate in JavaScript (fflate), for every platform: input is fed in steps no larger
 * than the remaining budget can need, and inflation stops as soon as the output passes the
 * bound, so a bomb costs about `maxBytes` + max(`maxBytes`, 17 MiB) of memory at most, and the
 * time to make it.
 */
export function inflateBoundedJs(data: Uint8Array, maxBytes: number, what: string): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  let done = false;
  const inflater = new Inflate((chunk, final) => {
    total += chunk.length;
    if (total > maxBytes) {
      throw new EdgelakeError('limit', `${what}: inflates to more than ${maxBytes} bytes (the limit)`);
    }
    parts.push(chunk);
    if (final) done = true;
  });
  try {
    for (let i = 0; i < data.length && !done;) {
      const end = Math.min(i + stepFor(maxBytes - total), data.length);
      inflater.push(data.subarray(i, end), end === data.length);
      i = end;
    }
  } catch (e) {
    if (e instanceof EdgelakeError) throw e;
    throw new EdgelakeError('invalid-chunk', `${what}: corrupt DEFLATE stream (${(e as Error).message})`, { cause: e });
  }
  if (!done) throw new EdgelakeError('invalid-chunk', `${what}: DEFLATE stream is truncated`);
  return concatBytes(parts, total);
}

/** Raw DEFLATE; fflate's output is deterministic for a level, so rebuilds give the same hashes. */
export function deflate(data: Uint8Array, level: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 = 6): Uint8Array {
  return deflateSync(data, { level });
}

/** The parts back to back in one array (`total` is their summed length). */
export function concatBytes(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
