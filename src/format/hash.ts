/** SHA-256 (names of chunks and versions) and crc32 (per-sample payload checks), as FORMAT.md says. */

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]];
  return s;
}

/** SHA-256 of some bytes as 64 lowercase hex characters. */
export type Sha256 = (bytes: Uint8Array) => Promise<string>;

/** By WebCrypto, on every platform (it hashes a copy of the input, off the calling thread). */
export const sha256HexWebCrypto: Sha256 = async (bytes) => {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return toHex(new Uint8Array(digest));
};

let platformSha256: Sha256 = sha256HexWebCrypto;

/** Installs the platform's SHA-256 (the Node entry and Node workers install node:crypto's). */
export function useSha256(sha256: Sha256): void {
  platformSha256 = sha256;
}

/** SHA-256 of `bytes` as 64 lowercase hex characters, by the platform's SHA-256. */
export function sha256Hex(bytes: Uint8Array): Promise<string> {
  return platformSha256(bytes);
}

export const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Slicing-by-8 tables: T[0] is the classic byte table, T[k][n] the crc of byte n followed by k
 * zero bytes, so eight bytes fold in per step (about 4x the byte-at-a-time loop; every sample
 * of every chunk is checked).
 */
const CRC_TABLES = (() => {
  const t = Array.from({ length: 8 }, () => new Uint32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[0][n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) for (let k = 1; k < 8; k++) t[k][n] = t[0][t[k - 1][n] & 0xff] ^ (t[k - 1][n] >>> 8);
  return t;
})();

/** crc32 (IEEE 802.3) of a whole buffer. */
export type Crc32 = (bytes: Uint8Array) => number;

let platformCrc32: Crc32 | undefined;

/** Installs the platform's crc32 (the Node entry and Node workers install zlib's, about 6x this one). */
export function useCrc32(crc: Crc32): void {
  platformCrc32 = crc;
}

/** crc32 (IEEE 802.3, as zlib and PNG compute it) of bytes[start, end), by the platform's crc32 when it has one. */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return platformCrc32 ? platformCrc32(bytes.subarray(start, end)) : crc32Js(bytes, start, end);
}

/** crc32 in JavaScript, on every platform. */
export function crc32Js(bytes: Uint8Array, start = 0, end = bytes.length): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = CRC_TABLES;
  let c = 0xffffffff;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const a = (c ^ (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24))) >>> 0;
    c = t7[a & 0xff] ^ t6[(a >>> 8) & 0xff] ^ t5[(a >>> 16) & 0xff] ^ t4[a >>> 24]
      ^ t3[bytes[i + 4]] ^ t2[bytes[i + 5]] ^ t1[bytes[i + 6]] ^ t0[bytes[i + 7]];
  }
  for (; i < end; i++) c = t0[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
