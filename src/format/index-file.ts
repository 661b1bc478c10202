import { gzipSync } from 'fflate';
import { EdgelakeError } from '../errors.js';
import { inflateBounded } from './inflate.js';
import { DEFAULT_LIMITS } from './limits.js';

/*
 * The index `edgelake index` writes beside data read in place (WebDataset shards, Parquet files):
 * gzipped JSON, so `zcat` shows it.
 */

export function encodeIndexFile(index: object): Uint8Array {
  return gzipSync(new TextEncoder().encode(JSON.stringify(index)), { level: 9 });
}

/** The JSON an index file holds, inflated within the manifest limit (a bomb is refused as one). */
export function decodeIndexFile(bytes: Uint8Array, where: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(inflateBounded(gzipBody(bytes), DEFAULT_LIMITS.maxManifestBytes * 4, where)));
  } catch (e) {
    throw new EdgelakeError('invalid-manifest', `${where}: not a gzipped JSON index (${(e as Error).message}); run edgelake index again`, { cause: e });
  }
}

/** The DEFLATE stream inside a gzip file (RFC 1952), past its optional header fields. */
function gzipBody(b: Uint8Array): Uint8Array {
  if (b.length < 18 || b[0] !== 0x1f || b[1] !== 0x8b || b[2] !== 8) throw new Error('not gzip');
  const flags = b[3];
  let at = 10;
  if (flags & 4) at += 2 + (b[at] | (b[at + 1] << 8)); // FEXTRA
  if (flags & 8) at = b.indexOf(0, at) + 1; // FNAME
  if (flags & 16) at = b.indexOf(0, at) + 1; // FCOMMENT
  if (flags & 2) at += 2; // FHCRC
  if (at <= 0 || at > b.length - 8) throw new Error('a truncated gzip header');
  return b.subarray(at, b.length - 8);
}
