import type { JpegScale } from '../../kernels/jpeg/coefficients.js';
import { reconstructJpegRef } from '../../kernels/jpeg/jpeg.ref.js';
import type { JpegImage, JpegLayout } from '../../kernels/jpeg/plan.js';
import { JpegRowReconstruction } from '../../kernels/jpeg/rows.ref.js';
import { DEFAULT_MAX_PIXELS } from '../limits.js';
import { BitReader } from './jpeg/bits.js';
import { type Frame, layoutScan } from './jpeg/layout.js';
import { type Headers, newHeaders, readSegments, type ScanHeader } from './jpeg/markers.js';
import { problem } from './jpeg/problem.js';
import { ProgressiveScan } from './jpeg/progressive.js';
import {
  checkSoi, dcOnlyComponents, frameColor, isOnlyScan, type JpegFrameSize, latchQuantTables, MAX_SCANS, progressiveTables, readJpegCoefficients, type ReadJpegOptions,
  SECOND_SCAN, sequentialScan, withSampleName,
} from './jpeg/read.js';
import { checkData } from './jpeg/restarts.js';

export type { JpegFrameSize };

/** `scale`: reconstruct at 1/scale of full size (default 1), or at the scale it picks once the headers are read. */
export type DecodeJpegBandedOptions = ReadJpegOptions;

/**
 * Decodes a JPEG on the CPU to the pixels reconstructJpegRef makes of readJpegCoefficients'
 * coefficients, holding less: a sequential file of one scan (baseline, the usual photo) is
 * entropy-decoded one MCU row at a time into a buffer of one row of blocks, and each row is
 * reconstructed before the next is decoded, so the image's coefficients never exist whole. A
 * progressive file is decoded a band (MCU row) at a time too, each of its scans resuming where it
 * stopped in the band before (decodeProgressiveRows). Sequential files of several scans are read
 * whole, then reconstructed row by row. Errors are those of readJpegCoefficients, naming the sample.
 */
export function decodeJpegBanded(bytes: Uint8Array, options: DecodeJpegBandedOptions = {}): JpegImage {
  const name = options.name ?? 'JPEG';
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const scaleFor = (frame: JpegFrameSize) => (typeof options.scale === 'function' ? options.scale(frame) : (options.scale ?? 1));
  return withSampleName(name, 'the pixels', () => {
    checkSoi(bytes);
    const h = newHeaders();
    const first = readSegments(bytes, 2, h, maxPixels);
    if (first && isOnlyScan(h.frame!, first.scan)) return decodeRows(bytes, h.frame!, h, first, maxPixels, scaleFor, name);
    if (first && h.frame!.progressive) return decodeProgressiveRows(bytes, h.frame!, h, first, maxPixels, scaleFor, name);
    // Headers again from the start, and the same errors: reading them is cheap, nothing was decoded yet.
    const coef = readJpegCoefficients(bytes, { name, maxPixels, scale: options.scale });
    return reconstructJpegRef(coef, scaleFor(coef), name);
  });
}

/** Where one MCU row of every component lies in a band buffer: each component's v rows of blocksWide blocks, one after another. */
function bandLayout(components: Frame['components']): { firstBlocks: number[]; blocks: number } {
  const firstBlocks: number[] = [];
  let blocks = 0;
  for (const c of components) {
    firstBlocks.push(blocks);
    blocks += c.v * c.blocksWide;
  }
  return { firstBlocks, blocks };
}

/**
 * A progressive image, band by band: the headers are read first, every scan's data skipped to
 * find the next scan (and set up as a ProgressiveScan with the tables of its time); then for each
 * MCU row, every scan in turn decodes its blocks of that row into one band buffer, resuming its
 * bits, end-of-band run and restart count where the row before left them, and the band is
 * reconstructed. So only a band of coefficients is ever held, as for a baseline file.
 */
function decodeProgressiveRows(
  bytes: Uint8Array, frame: Frame, h: Headers, first: { scan: ScanHeader; pos: number }, maxPixels: number,
  scaleFor: (frame: JpegFrameSize) => JpegScale, name: string,
): JpegImage {
  const n = frame.components.length;
  const quantTables = new Uint16Array(n * 64);
  const latched = frame.components.map(() => false);
  const layout: JpegLayout = {
    width: frame.width, height: frame.height, maxH: frame.maxH, maxV: frame.maxV,
    color: frameColor(frame, h), components: frame.components.map(({ h: ch, v, blocksWide, blocksHigh, firstBlock }) => ({ h: ch, v, blocksWide, blocksHigh, firstBlock })),
    orientation: h.orientation || 1,
  };
  const dcOnly = dcOnlyComponents(frame, h, layout.orientation, scaleFor);
  const scans: ProgressiveScan[] = [];
  for (let next: typeof first | undefined = first, count = 0; next; next = readSegments(bytes, next.pos, h, maxPixels), count++) {
    if (count === MAX_SCANS) problem(`more than ${MAX_SCANS} scans`, 'limit');
    if (next.scan.ss > 0 && next.scan.components.every((c) => dcOnly[c])) continue; // AC that a 1/8 reconstruction never reads
    latchQuantTables(frame, next.scan, h, quantTables, latched);
    const scanLayout = layoutScan(frame, next.scan.components.map((c) => frame.components[c]));
    scans.push(new ProgressiveScan(new BitReader(bytes, next.pos), scanLayout, next.scan, progressiveTables(next.scan, h), h.restartInterval));
  }
  // A component no scan reached is all zeros; any table will do for it.
  frame.components.forEach((c, i) => {
    if (!latched[i]) quantTables.set(h.quant[c.quantId] ?? new Uint16Array(64), i * 64);
  });
  const rows = new JpegRowReconstruction(layout, quantTables, scaleFor(layout), name);
  const { firstBlocks, blocks } = bandLayout(frame.components);
  const bandStarts = firstBlocks.map((b) => b * 64);
  const band = new Int16Array(blocks * 64);
  const last = new Uint8Array(blocks);
  for (let m = 0; m < frame.mcusHigh; m++) {
    band.fill(0);
    last.fill(0);
    for (const s of scans) {
      const comps = s.scan.components;
      // Block b of component c (frame numbering) is at band block b + shift: the band holds MCU row m alone.
      const shift = Int32Array.from(comps, (c) => firstBlocks[c] - frame.components[c].firstBlock - m * frame.components[c].v * frame.components[c].blocksWide);
      const v = comps.length === 1 ? frame.components[comps[0]].v : 1; // a one-component scan's rows are block rows
      const from = m * v;
      const to = Math.min(from + v, s.layout.mcusHigh);
      if (from < to) s.decodeRows(from, to, band, last, shift);
    }
    rows.push(band, bandStarts);
  }
  for (const s of scans) checkData(s.reader);
  return rows.image();
}

/** The one scan of a sequential image, decoded and reconstructed MCU row by MCU row. */
function decodeRows(
  bytes: Uint8Array, frame: Frame, h: Headers, first: { scan: ScanHeader; pos: number }, maxPixels: number,
  scaleFor: (frame: JpegFrameSize) => JpegScale, name: string,
): JpegImage {
  const quantTables = new Uint16Array(frame.components.length * 64);
  latchQuantTables(frame, first.scan, h, quantTables, frame.components.map(() => false));
  const components = frame.components.map(({ h: ch, v, blocksWide, blocksHigh, firstBlock }) => ({ h: ch, v, blocksWide, blocksHigh, firstBlock }));
  const layout: JpegLayout = {
    width: frame.width, height: frame.height, maxH: frame.maxH, maxV: frame.maxV,
    color: frameColor(frame, h), components, orientation: h.orientation || 1,
  };
  const rows = new JpegRowReconstruction(layout, quantTables, scaleFor(layout), name);
  const { firstBlocks, blocks } = bandLayout(frame.components);
  const bandStarts = firstBlocks.map((b) => b * 64);
  const band = new Int16Array(blocks * 64);
  const reader = new BitReader(bytes, first.pos);
  const scan = sequentialScan(reader, layoutScan(frame, first.scan.components.map((c) => frame.components[c])), first.scan, h);
  const bases = Int32Array.from(first.scan.components, (c) => firstBlocks[c]);
  // An interleaved scan codes an MCU row per decodeRow; a scan of one component (gray), a row of blocks: v of them an MCU row.
  const blockRows = components.length === 1 ? components[0].v : 1;
  for (let row = 0; row < scan.rows; ) {
    band.fill(0); // decodeRow writes only the nonzero coefficients
    for (let i = 0; i < blockRows && row < scan.rows; i++, row++) {
      if (blockRows > 1) bases[0] = i * components[0].blocksWide;
      scan.decodeRow(band, bases);
    }
    rows.push(band, bandStarts);
  }
  checkData(reader);
  reader.findMarker();
  if (readSegments(bytes, reader.pos, h, maxPixels)) problem(SECOND_SCAN);
  return rows.image();
}
