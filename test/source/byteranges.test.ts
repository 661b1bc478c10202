// A multipart/byteranges answer read by its parts' Content-Range, never by searching the payload.
import { describe, expect, it } from 'vitest';
import { byterangeParts, gatherRanges } from '../../src/source/byteranges.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (b: Uint8Array | undefined) => (b ? new TextDecoder().decode(b) : undefined);

describe('multipart/byteranges', () => {
  it('reads each part by its Content-Range, even a payload that looks like a boundary', () => {
    const body = bytes('\r\n--XY\r\ncontent-type: text/plain\r\nCONTENT-RANGE: bytes 4-13/100\r\n\r\n--XY\r\n--XY\r\n--XY\r\nContent-Range: bytes 90-91/*\r\nContent-Type: text/plain\r\n\r\nab\r\n--XY--\r\n');
    const parts = byterangeParts(body, 'XY');
    expect(parts.map((p) => [p.start, text(p.bytes), p.size])).toEqual([[4, '--XY\r\n--XY', 100], [90, 'ab', undefined]]);
  });

  it('gathers the ranges asked, in their order, from parts a server merged or reordered', () => {
    const parts = [{ start: 100, bytes: bytes('klmnop') }, { start: 0, bytes: bytes('abcdefghij') }];
    const got = gatherRanges(parts, [{ offset: 102, length: 3 }, { offset: 1, length: 2 }, { offset: 500, length: 0 }, { offset: 5, length: 5 }]);
    expect(text(got)).toBe('mnobcfghij');
    expect(gatherRanges(parts, [{ offset: 8, length: 4 }])).toBeUndefined(); // runs past its part
  });

  it('names what is wrong with a damaged body', () => {
    expect(() => byterangeParts(bytes('nothing'), 'XY')).toThrow(/no part boundary "XY"/);
    expect(() => byterangeParts(bytes('--XY\r\nContent-Range: bytes 0-9/10\r\n\r\nabc'), 'XY')).toThrow(/part 1 \(bytes 0-9\) is cut short/);
    expect(() => byterangeParts(bytes('--XY\r\nContent-Type: a/b\r\n\r\nabc\r\n--XY--'), 'XY')).toThrow(/part 1 has no Content-Range/);
    expect(() => byterangeParts(bytes('--XY\r\nContent-Range: bytes 0-2/10\r\n\r\nabc'), 'XY')).toThrow(/part 1 is not followed by a boundary/);
  });
});
