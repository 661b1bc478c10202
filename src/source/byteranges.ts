import type { ByteRange } from './source.js';

/** One part of a 206 response: the file's bytes from `start`, and the file's size when the server said it. */
export interface RangePart {
  start: number;
  bytes: Uint8Array;
  size?: number;
}

/**
 * The parts of a multipart/byteranges body (RFC 9110, 14.6): each a Content-Range header and
 * exactly that many bytes, so the payload is never searched for the boundary. Throws a message
 * naming what is wrong when the body does not follow the format.
 */
export function byterangeParts(body: Uint8Array, boundary: string): RangePart[] {
  const delimiter = new TextEncoder().encode(`--${boundary}`);
  const parts: RangePart[] = [];
  let at = indexOf(body, delimiter, 0);
  if (at < 0) throw new Error(`no part boundary "${boundary}" in the body`);
  for (;;) {
    at += delimiter.length;
    if (body[at] === 0x2d && body[at + 1] === 0x2d) return parts; // "--": the closing boundary
    const headersEnd = indexOf(body, CRLF2, at);
    if (headersEnd < 0 || headersEnd - at > MAX_PART_HEADERS) throw new Error(`part ${parts.length + 1} has no end to its headers`);
    const headers = LATIN1.decode(body.subarray(at, headersEnd));
    const range = /^content-range:[ \t]*bytes[ \t]+(\d+)-(\d+)\/(\d+|\*)[ \t\r]*$/im.exec(headers);
    if (!range) throw new Error(`part ${parts.length + 1} has no Content-Range bytes a-b/size`);
    const start = Number(range[1]);
    const dataStart = headersEnd + CRLF2.length;
    const dataEnd = dataStart + Number(range[2]) + 1 - start;
    if (dataEnd > body.length || dataEnd < dataStart) throw new Error(`part ${parts.length + 1} (bytes ${range[1]}-${range[2]}) is cut short`);
    parts.push({ start, bytes: body.subarray(dataStart, dataEnd), ...(range[3] !== '*' && { size: Number(range[3]) }) });
    at = indexOf(body, delimiter, dataEnd);
    if (at < 0) throw new Error(`part ${parts.length} is not followed by a boundary`);
  }
}

/**
 * The longest Range header value sent: nginx answers a header line over 8 KiB with 400 Bad
 * Request, Apache one over 8,190 bytes, and a signed request carries more headers beside it.
 */
export const MAX_RANGE_HEADER_CHARS = 4096;

/** One request's Range header value and the ranges it asks. */
export interface RangeRequest {
  range: string;
  ranges: ByteRange[];
}

/** Requests for non-empty `ranges`, in order, as few as keep each Range header within `maxChars`. */
export function rangeRequests(ranges: readonly ByteRange[], maxChars = MAX_RANGE_HEADER_CHARS): RangeRequest[] {
  const requests: RangeRequest[] = [];
  for (const r of ranges) {
    const spec = `${r.offset}-${r.offset + r.length - 1}`;
    const last = requests.at(-1);
    if (last && last.range.length + 1 + spec.length <= maxChars) {
      last.range += `,${spec}`;
      last.ranges.push(r);
    } else requests.push({ range: `bytes=${spec}`, ranges: [r] });
  }
  return requests;
}

/**
 * The requested ranges' bytes, concatenated in request order, from the parts a server sent (it
 * may merge or reorder them); undefined when a range is in no part.
 */
export function gatherRanges(parts: readonly RangePart[], ranges: readonly ByteRange[]): Uint8Array | undefined {
  const out = new Uint8Array(ranges.reduce((a, r) => a + r.length, 0));
  let at = 0;
  let k = 0; // parts mostly come in the order asked: the last part used and the one after it are tried first
  for (const { offset, length } of ranges) {
    const holds = (i: number) => i >= 0 && i < parts.length && parts[i].start <= offset && offset + length <= parts[i].start + parts[i].bytes.length;
    k = holds(k) ? k : holds(k + 1) ? k + 1 : parts.findIndex((_, i) => holds(i));
    if (k < 0 && length > 0) return undefined;
    if (k >= 0) out.set(parts[k].bytes.subarray(offset - parts[k].start, offset - parts[k].start + length), at);
    at += length;
  }
  return out;
}

const CRLF2 = new Uint8Array([13, 10, 13, 10]);
const LATIN1 = new TextDecoder('latin1');
/** A part's headers are a Content-Type and a Content-Range: a few hundred bytes, not a payload. */
const MAX_PART_HEADERS = 4096;

function indexOf(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  for (let i = haystack.indexOf(needle[0], from); i >= 0 && i + needle.length <= haystack.length; i = haystack.indexOf(needle[0], i + 1)) {
    let k = 1;
    while (k < needle.length && haystack[i + k] === needle[k]) k++;
    if (k === needle.length) return i;
  }
  return -1;
}
