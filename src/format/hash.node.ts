import { createHash } from 'node:crypto';
import type { Sha256 } from './hash.js';

/**
 * SHA-256 by node:crypto, in place: WebCrypto copies every input first, and for a loader that
 * verifies each 8 MiB chunk that copy is most of its garbage (about 5 ms a chunk with SHA-NI).
 */
export const sha256HexNode: Sha256 = async (bytes) => createHash('sha256').update(bytes).digest('hex');
