import { gzipSync } from 'fflate';
import { EdgelakeError } from '../errors.js';
import { gunzipBounded } from './inflate.js';
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
    return JSON.parse(new TextDecoder().decode(gunzipBounded(bytes, DEFAULT_LIMITS.maxManifestBytes * 4, 'the file')));
  } catch (e) {
    throw new EdgelakeError('invalid-manifest', `${where}: not a gzipped JSON index (${(e as Error).message}); run edgelake index again`, { cause: e });
  }
}
