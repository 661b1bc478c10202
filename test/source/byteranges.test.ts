// A multipart/byteranges answer read by its parts' Content-Range, never by searching the payload.
import { describe, expect, it } from 'vitest';
import { byterangeParts, gatherRanges, rangeRequests } from '../../src/source/byteranges.js';

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

  it('asks ranges in as few requests as keep each Range header within its limit, in order', () => {
    const ranges = Array.from({ length: 1000 }, (_, i) => ({ offset: 1_000_000 + 7000 * i, length: 784 }));
    const requests = rangeRequests(ranges);
    expect(requests.length).toBe(4); // "1000000-1000783," is 16 characters: 255 of them fill 4,096
    for (const { range } of requests) expect(range.length).toBeLessThanOrEqual(4096);
    expect(requests.flatMap((r) => r.ranges)).toEqual(ranges);
    expect(requests.map((r) => r.range).join(',').replaceAll('bytes=', '')).toBe(ranges.map((r) => `${r.offset}-${r.offset + r.length - 1}`).join(','));
    expect(rangeRequests([{ offset: 0, length: 5 }, { offset: 9, length: 1 }])).toEqual([{ range: 'bytes=0-4,9-9', ranges: [{ offset: 0, length: 5 }, { offset: 9, length: 1 }] }]);
  });

  it('names what is wrong with a damaged body', () => {
    expect(() => byterangeParts(bytes('nothing'), 'XY')).toThrow(/no part boundary "XY"/);
    expect(() => byterangeParts(bytes('--XY\r\nContent-Range: bytes 0-9/10\r\n\r\nabc'), 'XY')).toThrow(/part 1 \(bytes 0-9\) is cut short/);
    expect(() => byterangeParts(bytes('--XY\r\nContent-Type: a/b\r\n\r\nabc\r\n--XY--'), 'XY')).toThrow(/part 1 has no Content-Range/);
    expect(() => byterangeParts(bytes('--XY\r\nContent-Range: bytes 0-2/10\r\n\r\nabc'), 'XY')).toThrow(/part 1 is not followed by a boundary/);
  });
});
