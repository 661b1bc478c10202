import { EdgelakeError } from '../errors.js';
import { sha256Hex } from './hash.js';

const NAMED = /^(?:chunks\/[0-9a-f]{2}\/([0-9a-f]{64})|versions\/([0-9a-f]{64})\.json)$/;

/** The SHA-256 that a content-addressed path (a chunk, a version manifest) names; undefined for other files. */
export function contentHash(path: string): string | undefined {
  const m = NAMED.exec(path);
  return m ? m[1] ?? m[2] : undefined;
}

/** Refuses (code 'integrity') a chunk or version manifest whose bytes do not hash to its name; other files pass. */
export async function verifyContentAddress(path: string, bytes: Uint8Array, location: string): Promise<void> {
  const hash = contentHash(path);
  if (hash !== undefined && (await sha256Hex(bytes)) !== hash) {
    throw new EdgelakeError('integrity', `${location}/${path}: the bytes do not match the SHA-256 their name carries`);
  }
}
