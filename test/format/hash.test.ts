import { createHash } from 'node:crypto';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { sha256HexWebCrypto } from '../../src/format/hash.js';
import { sha256HexNode } from '../../src/format/hash.node.js';
import { crc32 } from '../../src/format/index.js';

const random = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(Math.random() * 256));

describe.each([
  ['WebCrypto', sha256HexWebCrypto],
  ['node:crypto', sha256HexNode],
])('SHA-256 by %s', (_, sha256) => {
  it('matches the FIPS 180-2 example and node:crypto on random inputs, views included', async () => {
    expect(await sha256(new TextEncoder().encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    for (const n of [0, 1, 63, 64, 65, 100_000]) {
      const bytes = random(n + 7).subarray(3, 3 + n);
      expect(await sha256(bytes)).toBe(createHash('sha256').update(bytes).digest('hex'));
    }
  });
});

describe('crc32', () => {
  it('matches zlib on random inputs and sub-ranges', () => {
    for (const n of [0, 1, 7, 8, 9, 1000, 65_537]) {
      const bytes = random(n);
      expect(crc32(bytes)).toBe(zlibCrc32(bytes));
      expect(crc32(bytes, 1, Math.max(1, n - 3))).toBe(zlibCrc32(bytes.subarray(1, Math.max(1, n - 3))));
    }
  });
});
