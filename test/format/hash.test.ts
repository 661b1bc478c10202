import { createHash } from 'node:crypto';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32Js, sha256HexWebCrypto } from '../../src/format/hash.js';
import { crc32Node, sha256HexNode } from '../../src/format/hash.node.js';
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

describe.each([
  ['JavaScript', crc32Js],
  ['the platform (zlib under Node)', crc32],
])('crc32 by %s', (_, crc) => {
  it('matches zlib on random inputs and sub-ranges', () => {
    for (const n of [0, 1, 7, 8, 9, 1000, 65_537]) {
      const bytes = random(n);
      expect(crc(bytes)).toBe(zlibCrc32(bytes));
      expect(crc(bytes, 1, Math.max(1, n - 3))).toBe(zlibCrc32(bytes.subarray(1, Math.max(1, n - 3))));
    }
  });
});

it('zlib\'s crc32, which the Node entry installs, is there (Node 20.15 and later) and agrees', async () => {
  await import('../../src/node.js');
  const bytes = random(1000);
  expect(crc32Node).toBeTypeOf('function'); // Node 20.15 and later
  expect(crc32Node!(bytes)).toBe(crc32Js(bytes));
});
