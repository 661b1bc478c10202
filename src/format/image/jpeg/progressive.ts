import type { BitReader } from './bits.js';
import { decodeLong, extend, type HuffmanTable, LOOKAHEAD } from './huffman.js';
import type { ScanLayout } from './layout.js';
import type { ScanHeader } from './markers.js';
import { problem } from './problem.js';
import { Restarts } from './restarts.js';
import { NATURAL_ORDER } from './zigzag.js';

const LOOKAHEAD_MASK = (1 << LOOKAHEAD) - 1;

/**
 * One scan of a progressive JPEG (ITU T.81 G.1.2, after libjpeg's jdphuff.c): it adds to the
 * coefficients earlier scans left. DC scans may interleave components; AC scans code one
 * component's band of coefficients ss..se, the first time (ah 0) or one more bit (ah > 0).
 */
export function decodeProgressiveScan(
  r: BitReader,
  layout: ScanLayout,
  scan: ScanHeader,
  tables: { dc: HuffmanTable[]; ac: HuffmanTable[] },
  restartInterval: number,
  out: Int16Array,
  last: Uint8Array,
): void {
  new ProgressiveScan(r, layout, scan, tables, restartInterval).decodeRows(0, layout.mcusHigh, out, last, new Int32Array(layout.first.length));
}

/**
 * A progressive scan decoded a run of MCU rows at a time, in order: its reader, end-of-band run,
 * restart count and DC predictions carry over from one call to the next. So a decoder can take
 * every scan's rows of one band of the image, reconstruct the band, and go on to the next, never
 * holding the whole image's coefficients. Each kind of scan has its own loop, so each stays
 * monomorphic when optimized.
 */
export class ProgressiveScan {
  private readonly restarts: Restarts;
  private readonly dc: HuffmanTable[] | undefined;
  private readonly ac: HuffmanTable | undefined;
  private readonly pred: Int32Array;
  private eobrun = 0;

  constructor(
    readonly reader: BitReader,
    readonly layout: ScanLayout,
    readonly scan: ScanHeader,
    tables: { dc: HuffmanTable[]; ac: HuffmanTable[] },
    restartInterval: number,
  ) {
    const { ss, se, ah, al } = scan;
    const dcScan = ss === 0;
    const valid = (dcScan ? se === 0 : ss <= se && se <= 63 && scan.components.length === 1) && (ah === 0 || al === ah - 1) && al <= 13;
    if (!valid) problem(`progressive scan with Ss=${ss}, Se=${se}, Ah=${ah}, Al=${al} is not valid${!dcScan && scan.components.length > 1 ? ' (an AC scan must have one component)' : ''}`);
    this.restarts = new Restarts(restartInterval);
    this.dc = dcScan && ah === 0 ? Array.from(layout.blockComponent, (c) => tables.dc[c]) : undefined;
    this.ac = dcScan ? undefined : tables.ac[0];
    this.pred = new Int32Array(layout.first.length);
  }

  /**
   * Decodes MCU rows [from, to) of the scan into `out`, a block's coefficients at 64 x its block
   * index as the layout places it plus `shift` (per scan component, in blocks: where `out` holds
   * a band of the image); `last` is indexed by the same block numbers.
   */
  decodeRows(from: number, to: number, out: Int16Array, last: Uint8Array, shift: Int32Array): void {
    const { ss, se, ah, al } = this.scan;
    if (ss === 0) return this.dcRows(from, to, out, shift);
    const r = this.reader;
    const ac = this.ac!;
    const state: BandState = { eobrun: this.eobrun, last };
    const { mcusWide, first, rowStride } = this.layout;
    for (let y = from; y < to; y++) {
      const row = first[0] + shift[0] + y * rowStride[0];
      for (let x = 0; x < mcusWide; x++) {
        if (this.restarts.step(r)) state.eobrun = 0;
        if (ah === 0) acFirst(r, ac, out, (row + x) << 6, ss, se, al, state);
        else acRefine(r, ac, out, (row + x) << 6, ss, se, al, state);
      }
    }
    this.eobrun = state.eobrun;
  }

  /** The DC coefficients of each block, shifted left by `al`: their first bits (`dc` tables), or one more. */
  private dcRows(from: number, to: number, out: Int16Array, shift: Int32Array): void {
    const r = this.reader;
    const { dc, pred } = this;
    const { al } = this.scan;
    const { mcusWide, blockComponent, blockOffset, first, rowStride, step } = this.layout;
    for (let y = from; y < to; y++) {
      for (let x = 0; x < mcusWide; x++) {
        if (this.restarts.step(r)) pred.fill(0);
        for (let b = 0; b < blockComponent.length; b++) {
          const c = blockComponent[b];
          const pos = (first[c] + shift[c] + y * rowStride[c] + x * step[c] + blockOffset[b]) << 6;
          if (r.bits < 16) r.fill();
          if (!dc) {
            r.bits--;
            if ((r.buf >>> r.bits) & 1) out[pos] |= 1 << al;
            continue;
          }
          let s = dc[b].fast[(r.buf >>> (r.bits - LOOKAHEAD)) & LOOKAHEAD_MASK];
          if (s !== 0) {
            r.bits -= s >> 8;
            s &= 0xff;
          } else {
            s = decodeLong(r, dc[b]);
          }
          if (s !== 0) {
            if (r.bits < s) r.fill();
            r.bits -= s;
            pred[c] += extend((r.buf >>> r.bits) & ((1 << s) - 1), s);
          }
          out[pos] = pred[c] << al;
        }
      }
    }
  }
}

/**
 * Per progressive scan: the end-of-band run, and for each block (`pos >> 6`) the highest zigzag
 * index of a nonzero coefficient, so corrections stop where a block's coefficients end.
 */
interface BandState {
  eobrun: number;
  last: Uint8Array;
}

/** The first bits of coefficients ss..se of one block, or one block of an end-of-band run. */
function acFirst(r: BitReader, ac: HuffmanTable, out: Int16Array, pos: number, ss: number, se: number, al: number, state: BandState): void {
  if (state.eobrun > 0) {
    state.eobrun--;
    return;
  }
  const fast = ac.fast;
  const fastAc = ac.fastAc;
  const scale = 1 << al;
  let buf = r.buf;
  let bits = r.bits;
  let written = 0;
  for (let k = ss; k <= se; k++) {
    if (bits < 16) {
      r.bits = bits;
      r.fill();
      buf = r.buf;
      bits = r.bits;
    }
    const peek = (buf >>> (bits - LOOKAHEAD)) & LOOKAHEAD_MASK;
    const f = fastAc[peek];
    if (f !== 0) {
      bits -= f & 0xff;
      k += (f >> 8) & 15;
      out[pos + NATURAL_ORDER[k]] = (f >> 16) * scale;
      written = k;
      continue;
    }
    let rs = fast[peek];
    if (rs !== 0) {
      bits -= rs >> 8;
      rs &= 0xff;
    } else {
      r.bits = bits;
      rs = decodeLong(r, ac);
      bits = r.bits;
    }
    const run = rs >> 4;
    const s = rs & 15;
    if (s === 0 && run === 15) {
      k += 15; // sixteen zeros
      continue;
    }
    const n = s !== 0 ? s : run; // a coefficient's value bits, or an end-of-band run's length bits
    if (bits < n) {
      r.bits = bits;
      r.fill();
      buf = r.buf;
      bits = r.bits;
    }
    bits -= n;
    const v = (buf >>> bits) & ((1 << n) - 1);
    if (s !== 0) {
      k += run;
      out[pos + NATURAL_ORDER[k]] = extend(v, s) * scale;
      written = k;
    } else {
      state.eobrun = (1 << run) - 1 + v; // this block ends a run of bands
      break;
    }
  }
  r.bits = bits;
  if (written > state.last[pos >> 6]) state.last[pos >> 6] = written;
}

/**
 * One more bit of coefficients ss..se: each coefficient already nonzero gets a correction bit,
 * and runs of zero coefficients place newly nonzero ones of magnitude 1 << al.
 */
function acRefine(r: BitReader, ac: HuffmanTable, out: Int16Array, pos: number, ss: number, se: number, al: number, state: BandState): void {
  const p1 = 1 << al;
  const m1 = -1 << al;
  const fast = ac.fast;
  let buf = r.buf;
  let bits = r.bits;
  let k = ss;
  if (state.eobrun === 0) {
    for (; k <= se; k++) {
      if (bits < 16) {
        r.bits = bits;
        r.fill();
        buf = r.buf;
        bits = r.bits;
      }
      let rs = fast[(buf >>> (bits - LOOKAHEAD)) & LOOKAHEAD_MASK];
      if (rs !== 0) {
        bits -= rs >> 8;
        rs &= 0xff;
      } else {
        r.bits = bits;
        rs = decodeLong(r, ac);
        bits = r.bits;
      }
      let run = rs >> 4;
      let value = 0;
      if ((rs & 15) !== 0) {
        if (bits === 0) {
          r.bits = bits;
          r.fill();
          buf = r.buf;
          bits = r.bits;
        }
        value = (buf >>> --bits) & 1 ? p1 : m1; // a size other than 1 is corrupt; libjpeg reads it as 1 too
      } else if (run !== 15) {
        if (bits < run) {
          r.bits = bits;
          r.fill();
          buf = r.buf;
          bits = r.bits;
        }
        bits -= run;
        state.eobrun = (1 << run) + ((buf >>> bits) & ((1 << run) - 1));
        break;
      }
      // Skip `run` zero coefficients, correcting the nonzero ones passed on the way.
      for (; k <= se; k++) {
        const at = pos + NATURAL_ORDER[k];
        const coef = out[at];
        if (coef !== 0) {
          if (bits === 0) {
            r.bits = bits;
            r.fill();
            buf = r.buf;
            bits = r.bits;
          }
          out[at] = coef + correction(coef, (buf >>> --bits) & 1, p1, al);
        } else if (--run < 0) {
          break;
        }
      }
      if (value !== 0) {
        out[pos + NATURAL_ORDER[k]] = value;
        if (k > state.last[pos >> 6]) state.last[pos >> 6] = k;
      }
    }
  }
  if (state.eobrun > 0) {
    // In a run of bands with no new coefficients: only corrections to the nonzero ones, none past the last.
    const end = Math.min(se, state.last[pos >> 6]);
    for (; k <= end; k++) {
      const at = pos + NATURAL_ORDER[k];
      const coef = out[at];
      if (coef === 0) continue;
      if (bits === 0) {
        r.bits = bits;
        r.fill();
        buf = r.buf;
        bits = r.bits;
      }
      out[at] = coef + correction(coef, (buf >>> --bits) & 1, p1, al);
    }
    state.eobrun--;
  }
  r.bits = bits;
}

/**
 * What a correction bit adds to a nonzero coefficient: p1 away from zero when the bit is set and
 * the coefficient lacks p1 (libjpeg's test, on the two's complement value), else 0. Branch-free:
 * the bits are random, so branches on them mispredict half the time.
 */
function correction(coef: number, bit: number, p1: number, al: number): number {
  const sign = coef >> 31; // -1 or 0
  return (((p1 ^ sign) - sign) * (bit & (((coef & p1) >> al) ^ 1)));
}
