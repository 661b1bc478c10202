import { crc32 as zlibCrc32, deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { inflateBoundedJs } from '../../src/format/inflate.js';
import { inflateBoundedNode } from '../../src/format/inflate.node.js';
import { type BoundedInflate, crc32, deflate } from '../../src/format/index.js';

/** Seeded bytes that compress somewhat (runs and noise), as image rows do. */
function sample(seed: number, n: number): Uint8Array {
  let s = seed >>> 0;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
  return Uint8Array.from({ length: n }, (_, i) => (i % 97 < 40 ? 0 : next() >>> 24));
}

const inflaters: [string, BoundedInflate][] = [['fflate (every platform)', inflateBoundedJs], ['native zlib (Node)', inflateBoundedNode]];

describe.each(inflaters)('bounded inflate: %s', (_, inflate) => {
  it('gives back exactly what was deflated, by fflate or by zlib, at any size up to the bound', () => {
    for (const [seed, n] of [[1, 0], [2, 1], [3, 784], [4, 100_000], [5, 1 << 20]]) {
      const raw = sample(seed, n);
      for (const packed of [deflate(raw), new Uint8Array(deflateRawSync(raw, { level: 1 }))]) {
        expect(Buffer.compare(inflate(packed, n, 'x'), raw), `${n} bytes`).toBe(0);
      }
    }
  });

  it('refuses to produce more than the bound, and names what it was inflating', () => {
    const packed = deflate(new Uint8Array(16 << 20)); // 16 MiB of zeros, about 16 KiB stored
    expect(() => inflate(packed, 1000, 'chunk 7')).toThrow(expect.objectContaining({ code: 'limit', message: 'chunk 7: inflates to more than 1000 bytes (the limit)' }));
    expect(() => inflate(deflate(new Uint8Array(1)), 0, 'chunk 8')).toThrow(expect.objectContaining({ code: 'limit' }));
  });

  it('says invalid-chunk for a corrupt stream and for a truncated one', () => {
    const packed = deflate(sample(9, 10_000));
    expect(() => inflate(Uint8Array.of(0xff, 1, 2, 3), 100, 'c')).toThrow(expect.objectContaining({ code: 'invalid-chunk', message: expect.stringMatching(/^c: corrupt DEFLATE stream/) }));
    expect(() => inflate(packed.subarray(0, packed.length >> 1), 1 << 20, 'c')).toThrow(expect.objectContaining({ code: 'invalid-chunk', message: expect.stringMatching(/^c: (corrupt DEFLATE stream|DEFLATE stream is truncated)/) }));
  });

  it("returns a plain Uint8Array whose slice() is a copy (a Node Buffer's is not)", () => {
    const out = inflate(deflate(sample(1, 100)), 100, 'x');
    expect(Object.getPrototypeOf(out)).toBe(Uint8Array.prototype);
    const copy = out.slice(0, 10);
    copy[0] ^= 0xff;
    expect(copy[0]).not.toBe(out[0]);
  });
});

describe('crc32', () => {
  it('agrees with zlib at every length and offset around the 8-byte steps', () => {
    const bytes = sample(11, 4096).map((b, i) => b ^ i);
    for (let start = 0; start < 9; start++) {
      for (const n of [0, 1, 7, 8, 9, 15, 16, 17, 784, 4000]) {
        expect(crc32(bytes, start, start + n), `[${start}, ${start + n})`).toBe(zlibCrc32(bytes.subarray(start, start + n)));
      }
    }
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926); // the CRC-32 check value
  });
});
