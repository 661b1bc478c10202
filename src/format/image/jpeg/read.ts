import { EdgelakeError } from '../../../errors.js';
import type { JpegCoefficients, JpegScale } from '../../../kernels/jpeg/coefficients.js';
import { jpegPlan } from '../../../kernels/jpeg/plan.js';
import { DEFAULT_MAX_PIXELS } from '../../limits.js';
import { packableCoefficients } from '../jpeg-packed.js';
import { decodeSequentialScan, SequentialScan } from './baseline.js';
import { BitReader } from './bits.js';
import { colorOfFour, colorOfThree } from './exif.js';
import { HuffmanTable } from './huffman.js';
import { STANDARD_TABLES } from './huffman-standard.js';
import { type Frame, layoutScan, type ScanLayout } from './layout.js';
import { type Headers, newHeaders, readSegments, type ScanHeader } from './markers.js';
import { JpegProblem, problem } from './problem.js';
import { decodeProgressiveScan } from './progressive.js';
import { checkData } from './restarts.js';

/**
 * Each scan walks every MCU it covers, even one with no data; without a bound, a small file of
 * many empty scans over a large frame would take hours. Real files have at most a few dozen
 * (libjpeg-turbo's fuzzers allow 500).
 */
export const MAX_SCANS = 1000;

/** What a JPEG scale may be chosen from: the frame's size as stored, and its EXIF orientation. */
export type JpegFrameSize = Pick<JpegCoefficients, 'width' | 'height' | 'orientation'>;

export interface ReadJpegOptions {
  /** Names the sample in error messages. */
  name?: string;
  /** Largest frame accepted, width x height; checked before the coefficients are allocated. */
  maxPixels?: number;
  /**
   * The scale the pixels will be reconstructed at (default 1), or a choice of it once the headers
   * are read. At 1/8 only DC coefficients matter: a progressive file's AC scans are skipped (their
   * coefficients stay zero), most of its entropy decoding.
   */
  scale?: JpegScale | ((frame: JpegFrameSize) => JpegScale);
}

/**
 * Entropy-decodes a baseline or progressive Huffman JPEG (8-bit, gray or three components) to
 * its quantized DCT coefficients. Anything wrong, a file cut short included, is an EdgelakeError
 * naming the sample, data damaged up to a marker too (see checkData).
 */
export function readJpegCoefficients(bytes: Uint8Array, options: ReadJpegOptions = {}): JpegCoefficients {
  const scaleFor = (frame: JpegFrameSize) => (typeof options.scale === 'function' ? options.scale(frame) : (options.scale ?? 1));
  return withSampleName(options.name ?? 'JPEG', 'the coefficients', () => read(bytes, options.maxPixels ?? DEFAULT_MAX_PIXELS, scaleFor));
}

/**
 * Runs a decode of sample `name`: a JpegProblem becomes an EdgelakeError whose message starts
 * with the name, an allocation that fails ('limit', no memory for `what`) too; nothing else escapes.
 */
export function withSampleName<T>(name: string, what: string, decode: () => T): T {
  try {
    return decode();
  } catch (e) {
    if (e instanceof JpegProblem) throw new EdgelakeError(e.code, `${name}: ${e.message}`);
    if (e instanceof EdgelakeError) throw e;
    const message = e instanceof Error ? e.message : String(e);
    if (e instanceof RangeError && /alloc|array length/i.test(message)) {
      throw new EdgelakeError('limit', `${name}: no memory for ${what} (${message})`, { cause: e });
    }
    throw new EdgelakeError('invalid-input', `${name}: not a decodable JPEG (${message})`, { cause: e });
  }
}

/** What the first scan allocates; later scans add to it. */
interface Image {
  coefficients: Int16Array;
  quantTables: Uint16Array;
  /** Per block of a progressive image, its highest nonzero coefficient so far (see progressive.ts). */
  last: Uint8Array;
  /** Whether each component's quantization table has been taken. */
  latched: boolean[];
  color: JpegCoefficients['color'];
  /** EXIF orientation as the headers before the first scan say: pixels may stream out from there. */
  orientation: number;
  /** A sequential frame's first scan codes every component: libjpeg then expects no other scan. */
  oneScan: boolean;
  /** Per component, whether reconstruction reads its DC coefficients alone (a 1x1 IDCT): its AC scans need no decoding. */
  dcOnly: boolean[];
}

function read(bytes: Uint8Array, maxPixels: number, scaleFor: (frame: JpegFrameSize) => JpegScale): JpegCoefficients {
  checkSoi(bytes);
  const h = newHeaders();
  let image: Image | undefined;
  let pos = 2;
  for (let scans = 0; ; scans++) {
    const next = readSegments(bytes, pos, h, maxPixels);
    if (!next) break;
    if (scans === MAX_SCANS) problem(`more than ${MAX_SCANS} scans`, 'limit');
    const frame = h.frame!;
    if (image?.oneScan) problem(SECOND_SCAN);
    image ??= startImage(frame, h, next.scan, scaleFor);
    const reader = new BitReader(bytes, next.pos);
    if (next.scan.ss > 0 && next.scan.components.every((c) => image!.dcOnly[c])) {
      reader.findMarker();
      pos = reader.pos;
      continue;
    }
    latchQuantTables(frame, next.scan, h, image.quantTables, image.latched);
    decodeScan(reader, frame, next.scan, h, image);
    checkData(reader);
    reader.findMarker();
    pos = reader.pos;
  }
  if (!image) problem(h.frame ? 'no scan before the end of the image' : 'no frame header before the end of the image');
  const frame = h.frame!;
  // A component no scan reached (a progressive file that never sends it) is all zeros; any table will do for it.
  frame.components.forEach((c, i) => {
    if (!image.latched[i]) image.quantTables.set(h.quant[c.quantId] ?? new Uint16Array(64), i * 64);
  });
  return {
    width: frame.width,
    height: frame.height,
    maxH: frame.maxH,
    maxV: frame.maxV,
    color: image.color,
    components: frame.components.map(({ h: ch, v, blocksWide, blocksHigh, firstBlock }) => ({ h: ch, v, blocksWide, blocksHigh, firstBlock })),
    coefficients: image.coefficients,
    quantTables: image.quantTables,
    orientation: image.orientation,
  };
}

export function checkSoi(bytes: Uint8Array): void {
  if (bytes.length < 2 || bytes[0] !== 0xff || bytes[1] !== 0xd8) problem('not a JPEG (no SOI marker)');
}

/** libjpeg-turbo's words (JERR_EOI_EXPECTED) for a scan after a sequential scan of every component. */
export const SECOND_SCAN = "a scan after a sequential scan of every component (libjpeg: Didn't expect more than one scan)";

/** Whether `scan`, the frame's first, is all of a sequential image: it can be decoded and reconstructed row by row. */
export const isOnlyScan = (frame: Frame, scan: ScanHeader): boolean => !frame.progressive && scan.components.length === frame.components.length;

/** The colour model, from the component ids and the JFIF and Adobe markers read so far. */
export function frameColor(frame: Frame, h: Headers): JpegCoefficients['color'] {
  const n = frame.components.length;
  return n === 1 ? 'gray' : n === 4 ? colorOfFour(h.adobeTransform) : colorOfThree(frame.components.map((c) => c.id), h.jfif, h.adobeTransform);
}

/** A component's quantization table is the one defined when its first scan starts (libjpeg's rule). */
export function latchQuantTables(frame: Frame, scan: ScanHeader, h: Headers, quantTables: Uint16Array, latched: boolean[]): void {
  for (const c of scan.components) {
    if (latched[c]) continue;
    const table = h.quant[frame.components[c].quantId];
    if (!table) problem(`quantization table ${frame.components[c].quantId} of component ${frame.components[c].id} is not defined before its first scan`);
    quantTables.set(table, c * 64);
    latched[c] = true;
  }
}

function startImage(frame: Frame, h: Headers, first: ScanHeader, scaleFor: (frame: JpegFrameSize) => JpegScale): Image {
  const n = frame.components.length;
  const orientation = h.orientation || 1;
  return {
    // Sized by layoutFrame, checked against maxPixels; packable, as the GPU path sends them on.
    coefficients: packableCoefficients(n, frame.blocks * 64),
    quantTables: new Uint16Array(n * 64),
    last: new Uint8Array(frame.progressive ? frame.blocks : 0),
    latched: frame.components.map(() => false),
    color: frameColor(frame, h),
    orientation,
    oneScan: isOnlyScan(frame, first),
    dcOnly: dcOnlyComponents(frame, h, orientation, scaleFor),
  };
}

/**
 * Which components a progressive frame's reconstruction reads DC alone of: at 1/8, those whose
 * IDCT is 1x1 (libjpeg gives a subsampled component a larger one, which reads AC too).
 */
export function dcOnlyComponents(frame: Frame, h: Headers, orientation: number, scaleFor: (frame: JpegFrameSize) => JpegScale): boolean[] {
  const none = frame.components.map(() => false);
  if (!frame.progressive) return none;
  const { width, height, maxH, maxV } = frame;
  const scale = scaleFor({ width, height, orientation });
  if (scale !== 8) return none;
  const components = frame.components.map(({ h: ch, v, blocksWide, blocksHigh, firstBlock }) => ({ h: ch, v, blocksWide, blocksHigh, firstBlock }));
  try {
    return jpegPlan({ width, height, maxH, maxV, color: frameColor(frame, h), components, orientation }, scale).components.map((p) => p.size === 1);
  } catch {
    return none; // a frame no plan fits: reconstruction will say so, naming the sample
  }
}

function decodeScan(reader: BitReader, frame: Frame, scan: ScanHeader, h: Headers, image: Image): void {
  const layout = layoutScan(frame, scan.components.map((c) => frame.components[c]));
  if (frame.progressive) {
    decodeProgressiveScan(reader, layout, scan, progressiveTables(scan, h), h.restartInterval, image.coefficients, image.last);
  } else {
    decodeSequentialScan(sequentialScan(reader, layout, scan, h), layout, image.coefficients);
  }
}

/** The Huffman tables a progressive scan reads, as the headers define them when it starts. */
export function progressiveTables(scan: ScanHeader, h: Headers): { dc: HuffmanTable[]; ac: HuffmanTable[] } {
  const dcScan = scan.ss === 0;
  return {
    dc: dcScan && scan.ah === 0 ? scan.dc.map((id) => dcTable(h, id, false)) : [],
    ac: dcScan ? [] : scan.ac.map((id) => huffmanTable(h.ac, id, 'AC', false)),
  };
}

/** A sequential scan ready to decode row by row, its data read by `reader`. */
export function sequentialScan(reader: BitReader, layout: ScanLayout, scan: ScanHeader, h: Headers): SequentialScan {
  const dc = scan.dc.map((id) => dcTable(h, id, true));
  const ac = scan.ac.map((id) => huffmanTable(h.ac, id, 'AC', true));
  return new SequentialScan(reader, layout, dc, ac, h.restartInterval);
}

function dcTable(h: Headers, id: number, sequential: boolean): HuffmanTable {
  const table = huffmanTable(h.dc, id, 'DC', sequential);
  if (table.maxSymbol > 15) problem(`DC Huffman table ${id} has a symbol ${table.maxSymbol} (at most 15 bits of difference)`);
  return table;
}

/** A table the scan uses; like libjpeg-turbo, a sequential scan without DHT gets the standard tables 0 and 1. */
function huffmanTable(tables: (HuffmanTable | undefined)[], id: number, kind: 'DC' | 'AC', sequential: boolean): HuffmanTable {
  const table = tables[id];
  if (table) return table;
  if (!sequential || id > 1) problem(`${kind} Huffman table ${id} is used by a scan but not defined`);
  const standard = (kind === 'DC' ? STANDARD_TABLES.dc : STANDARD_TABLES.ac)[id];
  return (tables[id] = new HuffmanTable(standard.counts, Uint8Array.from(standard.values), `standard ${kind} table ${id}`));
}
