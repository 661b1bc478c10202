import { createHash } from 'node:crypto';
import * as zlib from 'node:zlib';
import type { Crc32, Sha256 } from './hash.js';

/**
 * SHA-256 by node:crypto, in place: WebCrypto copies every input first, and for a loader that
 * verifies each 8 MiB chunk that copy is most of its garbage (about 5 ms a chunk with SHA-NI).
 */
export const sha256HexNode: Sha256 = async (bytes) => createHash('sha256').update(bytes).digest('hex');

/** zlib's crc32 (Node 20.15 and later; undefined before): native, about 6x the JavaScript one on the per-sample checks. */
export const crc32Node: Crc32 | undefined = (zlib as { crc32?: (bytes: Uint8Array) => number }).crc32;
