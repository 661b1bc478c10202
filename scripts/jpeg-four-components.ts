/**
 * Four-component JPEGs (CMYK, YCCK) from two files cjpeg makes, which cannot make them itself: a
 * frame of the first file's three components and the second file's one (a gray JPEG of the same
 * size), each component's scans copied as they are. JPEG lets a frame's components be coded in
 * separate scans, so the result is a valid file whose samples are exactly those of its parts:
 * a test knows what any decoder must make of it from djpeg's decodes of the parts.
 */

/** A marker segment: its marker byte and its bytes from 0xFF on (a scan's entropy-coded data included). */
interface Segment {
  marker: number;
  bytes: Uint8Array;
}

const SOI = Uint8Array.of(0xff, 0xd8);
const EOI = Uint8Array.of(0xff, 0xd9);
const DQT = 0xdb;
const DHT = 0xc4;
const SOS = 0xda;
const isFrame = (m: number) => m === 0xc0 || m === 0xc1 || m === 0xc2;

/**
 * `three`'s components then `one`'s as a fourth (id 4, sampled as the first's largest factors so
 * that it is full size, its quantization table renumbered 0 -> 2), both of the same frame type.
 * `adobeTransform` writes an Adobe APP14 marker (0: CMYK, 2: YCCK); without it, none (CMYK to libjpeg).
 */
export function fourComponentJpeg(three: Uint8Array, one: Uint8Array, adobeTransform?: number): Uint8Array {
  const a = splitAtFrame(three, 3, 'the three-component file');
  const k = splitAtFrame(one, 1, 'the one-component file');
  if (a.frame.marker !== k.frame.marker) throw new Error(`the files have different frame types (${hex(a.frame.marker)}, ${hex(k.frame.marker)})`);
  const [frameA, frameK] = [a.frame.bytes, k.frame.bytes];
  if (frameA.subarray(4, 9).some((b, i) => b !== frameK[4 + i])) throw new Error('the files differ in precision or size');
  const factors = [0, 1, 2].map((c) => frameA[11 + 3 * c]);
  const largest = (Math.max(...factors.map((f) => f >> 4)) << 4) | Math.max(...factors.map((f) => f & 15));
  const frame = segment(a.frame.marker, [...frameA.subarray(4, 9), 4, ...frameA.subarray(10, 19), 4, largest, frameK[12] + 2]);
  const adobe = adobeTransform === undefined ? [] : [segment(0xee, [...new TextEncoder().encode('Adobe'), 0, 100, 0, 0, 0, 0, adobeTransform])];
  const parts = [
    SOI, ...adobe,
    ...a.before.filter((s) => s.marker === DQT || s.marker === DHT).map((s) => s.bytes),
    ...k.before.filter((s) => s.marker === DQT).map((s) => renumberQuant(s.bytes)),
    frame,
    ...a.after.map((s) => s.bytes),
    // Its Huffman tables after the first file's scans: they may reuse the ids those scans read.
    ...k.before.filter((s) => s.marker === DHT).map((s) => s.bytes),
    ...k.after.map((s) => (s.marker === SOS ? renameScanComponent(s.bytes, frameK[10], 4) : s.bytes)),
    EOI,
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
}

/** The segments before a file's frame header, the header, and those after it (tables and scans; no EOI). */
function splitAtFrame(b: Uint8Array, components: number, what: string): { before: Segment[]; frame: Segment; after: Segment[] } {
  const all = segments(b, what);
  const at = all.findIndex((s) => isFrame(s.marker));
  if (at < 0) throw new Error(`${what} has no baseline, extended or progressive frame`);
  if (all.some((s) => s.marker === 0xdd)) throw new Error(`${what} has a restart interval, which would apply to the other file's scans too`);
  if (all[at].bytes[9] !== components) throw new Error(`${what} has ${all[at].bytes[9]} components, not ${components}`);
  return { before: all.slice(0, at), frame: all[at], after: all.slice(at + 1) };
}

function segments(b: Uint8Array, what: string): Segment[] {
  if (b[0] !== 0xff || b[1] !== 0xd8) throw new Error(`${what} is not a JPEG`);
  const out: Segment[] = [];
  for (let p = 2; ; ) {
    if (b[p] !== 0xff || p + 2 > b.length) throw new Error(`${what}: no marker at byte ${p}`);
    const marker = b[p + 1];
    if (marker === 0xd9) return out;
    if (p + 4 > b.length) throw new Error(`${what}: cut short at byte ${p}`);
    let end = p + 2 + ((b[p + 2] << 8) | b[p + 3]);
    // A scan's data runs to the next marker that is neither a stuffed 0xFF00 nor a restart marker.
    if (marker === SOS) while (end + 1 < b.length && !(b[end] === 0xff && b[end + 1] !== 0 && (b[end + 1] < 0xd0 || b[end + 1] > 0xd7))) end++;
    out.push({ marker, bytes: b.subarray(p, end) });
    p = end;
  }
}

function segment(marker: number, payload: number[]): Uint8Array {
  return Uint8Array.of(0xff, marker, (payload.length + 2) >> 8, (payload.length + 2) & 255, ...payload);
}

/** A DQT segment with each table's id raised by 2. */
function renumberQuant(s: Uint8Array): Uint8Array {
  const out = Uint8Array.from(s); // a copy (a Buffer's slice is a view)
  for (let p = 4; p < out.length; p += 1 + (out[p] >> 4 ? 128 : 64)) out[p] += 2;
  return out;
}

/** A scan header's component `from` named `to`. */
function renameScanComponent(s: Uint8Array, from: number, to: number): Uint8Array {
  const out = Uint8Array.from(s); // a copy (a Buffer's slice is a view)
  for (let i = 0; i < out[4]; i++) if (out[5 + 2 * i] === from) out[5 + 2 * i] = to;
  return out;
}

const hex = (m: number) => `0x${m.toString(16)}`;
