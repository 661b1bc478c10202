import type { BitReader } from './bits.js';
import { decodeLong, extend, type HuffmanTable, LOOKAHEAD } from './huffman.js';
import type { ScanLayout } from './layout.js';
import { Restarts } from './restarts.js';
import { NATURAL_ORDER } from './zigzag.js';

const LOOKAHEAD_MASK = (1 << LOOKAHEAD) - 1;

/**
 * A sequential (baseline or extended Huffman) scan, decoded one MCU row at a time, so a caller
 * can decode into a band of rows and reconstruct it before the next, or into the whole image.
 */
export class SequentialScan {
  /** MCU rows in the scan; decodeRow is called this many times, in order. */
  readonly rows: number;
  private readonly dc: HuffmanTable[];
  private readonly ac: HuffmanTable[];
  /** The DC predictor of each scan component. */
  private readonly pred: Int32Array;
  private readonly restarts: Restarts;

  constructor(
    private readonly reader: BitReader,
    private readonly layout: ScanLayout,
    dc: HuffmanTable[],
    ac: HuffmanTable[],
    restartInterval: number,
  ) {
    this.rows = layout.mcusHigh;
    // Tables per block of the MCU, so the block loop indexes one array.
    this.dc = Array.from(layout.blockComponent, (c) => dc[c]);
    this.ac = Array.from(layout.blockComponent, (c) => ac[c]);
    this.pred = new Int32Array(layout.first.length);
    this.restarts = new Restarts(restartInterval);
  }

  /**
   * Decodes the next MCU row into `out`, which must hold zeros where it writes: block b of the
   * MCU at column x goes to block `bases[c] + x * step[c] + blockOffset[b]`, c its scan component.
   */
  decodeRow(out: Int16Array, bases: Int32Array): void {
    const r = this.reader;
    const { mcusWide, blockComponent, blockOffset, step } = this.layout;
    const blocks = blockComponent.length;
    const pred = this.pred;
    for (let x = 0; x < mcusWide; x++) {
      if (this.restarts.step(r)) pred.fill(0);
      for (let b = 0; b < blocks; b++) {
        const c = blockComponent[b];
        decodeBlock(r, this.dc[b], this.ac[b], out, (bases[c] + x * step[c] + blockOffset[b]) << 6, pred, c);
      }
    }
  }
}

/** Decodes a whole sequential scan into the image's coefficient buffer. */
export function decodeSequentialScan(scan: SequentialScan, layout: ScanLayout, out: Int16Array): void {
  const bases = new Int32Array(layout.first.length);
  for (let row = 0; row < scan.rows; row++) {
    for (let c = 0; c < bases.length; c++) bases[c] = layout.first[c] + row * layout.rowStride[c];
    scan.decodeRow(out, bases);
  }
}

/**
 * One block: the DC difference, then run/size coded AC coefficients to the end of block. The
 * reader's bits live in locals here (the hottest loop of decoding), written back to refill.
 */
function decodeBlock(r: BitReader, dc: HuffmanTable, ac: HuffmanTable, out: Int16Array, pos: number, pred: Int32Array, c: number): void {
  let buf = r.buf;
  let bits = r.bits;
  if (bits < 16) {
    r.bits = bits;
    r.fill();
    buf = r.buf;
    bits = r.bits;
  }
  let e = dc.fast[(buf >>> (bits - LOOKAHEAD)) & LOOKAHEAD_MASK];
  let s: number;
  if (e !== 0) {
    bits -= e >> 8;
    s = e & 0xff;
  } else {
    r.bits = bits;
    s = decodeLong(r, dc);
    bits = r.bits;
  }
  if (s !== 0) {
    if (bits < s) {
      r.bits = bits;
      r.fill();
      buf = r.buf;
      bits = r.bits;
    }
    bits -= s;
    pred[c] += extend((buf >>> bits) & ((1 << s) - 1), s);
  }
  out[pos] = pred[c];
  const fastAc = ac.fastAc;
  const fast = ac.fast;
  for (let k = 1; k < 64; ) {
    if (bits < 16) {
      r.bits = bits;
      r.fill();
      buf = r.buf;
      bits = r.bits;
    }
    const peek = (buf >>> (bits - LOOKAHEAD)) & LOOKAHEAD_MASK;
    const f = fastAc[peek];
    if (f !== 0) {
      // Code and value in the lookahead: most coefficients of a photo.
      bits -= f & 0xff;
      k += (f >> 8) & 15;
      out[pos + NATURAL_ORDER[k]] = f >> 16;
      k++;
      continue;
    }
    let rs: number;
    e = fast[peek];
    if (e !== 0) {
      bits -= e >> 8;
      rs = e & 0xff;
    } else {
      r.bits = bits;
      rs = decodeLong(r, ac);
      bits = r.bits;
    }
    s = rs & 15;
    if (s === 0) {
      if (rs !== 0xf0) break; // end of block
      k += 16; // sixteen zeros
      continue;
    }
    k += rs >> 4;
    if (bits < s) {
      r.bits = bits;
      r.fill();
      buf = r.buf;
      bits = r.bits;
    }
    bits -= s;
    out[pos + NATURAL_ORDER[k]] = extend((buf >>> bits) & ((1 << s) - 1), s);
    k++;
  }
  r.bits = bits;
}
