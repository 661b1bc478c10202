import { nextMarker } from './bits.js';
import { adobeTransform, exifOrientation, isJfif } from './exif.js';
import { type HuffmanTable, huffmanTableFor } from './huffman.js';
import { type Frame, layoutFrame } from './layout.js';
import { hex, problem } from './problem.js';
import { NATURAL_ORDER } from './zigzag.js';

/** What the marker segments have declared so far; tables may change between scans. */
export interface Headers {
  frame: Frame | undefined;
  /** Quantization tables 0..3, natural order. */
  quant: (Uint16Array | undefined)[];
  dc: (HuffmanTable | undefined)[];
  ac: (HuffmanTable | undefined)[];
  /** MCUs between restart markers, 0 for none. */
  restartInterval: number;
  jfif: boolean;
  /** The Adobe APP14 transform flag, -1 without one. */
  adobeTransform: number;
  /** EXIF orientation, 0 until an APP1 says. */
  orientation: number;
}

/** A scan header (SOS): which components, with which tables, which coefficients and bits. */
export interface ScanHeader {
  /** Indexes into the frame's components, in scan order. */
  components: number[];
  dc: number[];
  ac: number[];
  /** Spectral selection, start and end (zigzag indexes), and successive approximation bits. */
  ss: number;
  se: number;
  ah: number;
  al: number;
}

export const newHeaders = (): Headers => ({
  frame: undefined,
  quant: [undefined, undefined, undefined, undefined],
  dc: [undefined, undefined, undefined, undefined],
  ac: [undefined, undefined, undefined, undefined],
  restartInterval: 0,
  jfif: false,
  adobeTransform: -1,
  orientation: 0,
});

const UNSUPPORTED_FRAME: Record<number, string> = {
  0xc3: 'lossless',
  0xc5: 'hierarchical',
  0xc6: 'hierarchical',
  0xc7: 'hierarchical',
  0xc9: 'arithmetic-coded',
  0xca: 'arithmetic-coded',
  0xcb: 'arithmetic-coded lossless',
  0xcd: 'arithmetic-coded hierarchical',
  0xce: 'arithmetic-coded hierarchical',
  0xcf: 'arithmetic-coded hierarchical',
  0xde: 'hierarchical', // DHP
  0xdf: 'hierarchical', // EXP
};

const NAMES: Record<number, string> = { 0xc4: 'DHT', 0xdb: 'DQT', 0xdd: 'DRI', 0xda: 'SOS', 0xfe: 'COM' };
const segmentName = (m: number) =>
  NAMES[m] ?? (m >= 0xe0 && m <= 0xef ? `APP${m - 0xe0}` : m >= 0xc0 && m <= 0xcf ? `SOF${m - 0xc0}` : `marker ${hex(m)}`);

/**
 * Reads marker segments from `pos` (just past SOI, or where a scan's data ended) into `h`, up to
 * the next scan header, whose scan and the position of its entropy-coded data it returns; or
 * undefined at EOI. Bytes that end before EOI are an error: libjpeg would fill the rest with gray
 * and warn, but a half-gray photo is a wrong training sample (PIL, too, refuses a truncated file).
 */
export function readSegments(b: Uint8Array, pos: number, h: Headers, maxPixels: number): { scan: ScanHeader; pos: number } | undefined {
  const truncated = (what: string) => problem(`file ends ${what}, before the end-of-image marker (truncated)`);
  for (;;) {
    pos = nextMarker(b, pos);
    if (pos + 2 > b.length) return truncated(h.frame ? `at byte ${b.length}` : 'before the frame header');
    const m = b[pos + 1];
    pos += 2;
    if (m === 0xd9) return undefined; // EOI
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd7)) continue; // TEM, RSTn: no segment; libjpeg ignores them here
    if (m === 0xd8) problem('a second SOI marker');
    if (m === 0xdc) problem('a DNL marker (the height given after the first scan) is not supported');
    if (pos + 2 > b.length) return truncated(`inside the ${segmentName(m)} segment`);
    const length = (b[pos] << 8) | b[pos + 1];
    const start = pos + 2;
    const end = pos + length;
    if (length < 2) problem(`${segmentName(m)} segment at byte ${pos - 2} has length ${length}`);
    if (end > b.length) return truncated(`inside the ${segmentName(m)} segment`);
    pos = end;
    if (m === 0xc0 || m === 0xc1 || m === 0xc2) {
      if (h.frame) problem(`a second frame header (${segmentName(m)})`);
      h.frame = readFrame(b, start, end, m === 0xc2, maxPixels);
    } else if (UNSUPPORTED_FRAME[m]) {
      problem(`${UNSUPPORTED_FRAME[m]} JPEG (${segmentName(m)}) is not supported, only baseline and progressive Huffman`);
    } else if (m === 0xda) {
      if (!h.frame) problem('a scan (SOS) before the frame header (SOF)');
      return { scan: readScan(b, start, end, h.frame), pos: end };
    } else if (m === 0xc4) {
      readHuffmanTables(b, start, end, h);
    } else if (m === 0xdb) {
      readQuantTables(b, start, end, h);
    } else if (m === 0xdd) {
      if (length !== 4) problem(`DRI segment has length ${length}, not 4`);
      h.restartInterval = (b[start] << 8) | b[start + 1];
    } else if (m === 0xe0) {
      h.jfif ||= isJfif(b, start, end);
    } else if (m === 0xe1) {
      if (h.orientation === 0) h.orientation = exifOrientation(b, start, end);
    } else if (m === 0xee) {
      if (h.adobeTransform < 0) h.adobeTransform = adobeTransform(b, start, end);
    } else if (!((m >= 0xe0 && m <= 0xef) || m === 0xfe || m === 0xcc)) {
      problem(`unknown marker ${hex(m)} at byte ${start - 4}`); // APPn, COM and DAC (arithmetic only) are skipped
    }
  }
}

function readFrame(b: Uint8Array, start: number, end: number, progressive: boolean, maxPixels: number): Frame {
  if (end - start < 6) problem('frame header (SOF) too short');
  const precision = b[start];
  const height = (b[start + 1] << 8) | b[start + 2];
  const width = (b[start + 3] << 8) | b[start + 4];
  const n = b[start + 5];
  if (precision !== 8) problem(`${precision}-bit JPEG samples are not supported (only 8-bit)`);
  if (n !== 1 && n !== 3 && n !== 4) problem(`${n} colour components (expected 1, 3 or 4)`);
  if (end - start !== 6 + 3 * n) problem(`frame header (SOF) has length ${end - start + 2}, not ${8 + 3 * n} for ${n} components`);
  if (height === 0) problem(`frame height 0 (a height given later by DNL is not supported)`);
  if (width === 0) problem(`frame width 0`);
  const sampling: { id: number; h: number; v: number; quantId: number }[] = [];
  for (let i = 0; i < n; i++) {
    const p = start + 6 + 3 * i;
    const id = b[p];
    const h = b[p + 1] >> 4;
    const v = b[p + 1] & 15;
    const quantId = b[p + 2];
    if (h < 1 || h > 4 || v < 1 || v > 4) problem(`component ${id} has sampling factors ${h}x${v} (each must be 1..4)`);
    if (quantId > 3) problem(`component ${id} uses quantization table ${quantId} (tables are 0..3)`);
    if (sampling.some((c) => c.id === id)) problem(`component id ${id} appears twice in the frame header`);
    sampling.push({ id, h, v, quantId });
  }
  return layoutFrame(progressive, width, height, sampling, maxPixels);
}

function readScan(b: Uint8Array, start: number, end: number, frame: Frame): ScanHeader {
  const n = b[start];
  if (n < 1 || n > frame.components.length) problem(`scan (SOS) of ${n} components in a frame of ${frame.components.length}`);
  if (end - start !== 4 + 2 * n) problem(`scan header (SOS) has length ${end - start + 2}, not ${6 + 2 * n} for ${n} components`);
  const scan: ScanHeader = { components: [], dc: [], ac: [], ss: b[end - 3], se: b[end - 2], ah: b[end - 1] >> 4, al: b[end - 1] & 15 };
  for (let i = 0; i < n; i++) {
    const id = b[start + 1 + 2 * i];
    const tables = b[start + 2 + 2 * i];
    const c = frame.components.findIndex((x) => x.id === id);
    if (c < 0) problem(`scan (SOS) names component ${id}, which the frame does not have (${frame.components.map((x) => x.id).join(', ')})`);
    if (scan.components.includes(c)) problem(`scan (SOS) names component ${id} twice`);
    if (tables >> 4 > 3 || (tables & 15) > 3) problem(`component ${id} uses Huffman tables ${tables >> 4} and ${tables & 15} (tables are 0..3)`);
    scan.components.push(c);
    scan.dc.push(tables >> 4);
    scan.ac.push(tables & 15);
  }
  if (n > 1) {
    const blocks = scan.components.reduce((sum, c) => sum + frame.components[c].h * frame.components[c].v, 0);
    if (blocks > 10) problem(`an interleaved scan of ${blocks} blocks per MCU (at most 10)`);
  }
  return scan;
}

function readQuantTables(b: Uint8Array, start: number, end: number, h: Headers): void {
  for (let p = start; p < end; ) {
    const precision = b[p] >> 4;
    const id = b[p] & 15;
    if (id > 3) problem(`DQT defines quantization table ${id} (tables are 0..3)`);
    if (precision > 1) problem(`DQT table ${id} has precision ${precision} (0: 8-bit, 1: 16-bit)`);
    const size = precision === 0 ? 64 : 128;
    if (p + 1 + size > end) problem(`DQT segment too short for table ${id}`);
    const table = new Uint16Array(64);
    for (let k = 0; k < 64; k++) {
      table[NATURAL_ORDER[k]] = precision === 0 ? b[p + 1 + k] : (b[p + 1 + 2 * k] << 8) | b[p + 2 + 2 * k];
    }
    h.quant[id] = table;
    p += 1 + size;
  }
}

function readHuffmanTables(b: Uint8Array, start: number, end: number, h: Headers): void {
  for (let p = start; p < end; ) {
    const kind = b[p] >> 4;
    const id = b[p] & 15;
    if (kind > 1 || id > 3) problem(`DHT defines table class ${kind} id ${id} (class 0 DC or 1 AC, ids 0..3)`);
    const what = `${kind === 0 ? 'DC' : 'AC'} Huffman table ${id}`;
    if (p + 17 > end) problem(`DHT segment too short for ${what}`);
    const counts = b.subarray(p + 1, p + 17);
    const total = counts.reduce((sum, c) => sum + c, 0);
    if (total > 256) problem(`${what} has ${total} symbols (at most 256)`);
    if (p + 17 + total > end) problem(`DHT segment too short for the ${total} symbols of ${what}`);
    const table = huffmanTableFor(counts, b.subarray(p + 17, p + 17 + total), what);
    (kind === 0 ? h.dc : h.ac)[id] = table;
    p += 17 + total;
  }
}
