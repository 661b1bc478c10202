import type { BitReader } from './bits.js';
import { problem } from './problem.js';

/** Codes up to this many bits are found by one table lookup; longer ones by libjpeg's maxcode walk. */
export const LOOKAHEAD = 9;

/** A Huffman table of a DHT segment, ready for decoding. */
export class HuffmanTable {
  /** For each 9-bit lookahead: (code length << 8) | symbol, or 0 when the code is longer. */
  readonly fast = new Uint16Array(1 << LOOKAHEAD);
  /**
   * For each 9-bit lookahead whose code and value bits both fit in it, an AC coefficient ready
   * made: (value << 16) | (zero run << 8) | bits used; 0 otherwise (stb_image's fast_ac).
   */
  readonly fastAc = new Int32Array(1 << LOOKAHEAD);
  /** The largest code of each length 1..16, -1 when there is none. */
  readonly maxcode = new Int32Array(17).fill(-1);
  /** values[offset[l] + code] is the symbol of a code of length l. */
  readonly offset = new Int32Array(17);
  readonly values: Uint8Array;
  /** The largest symbol, to refuse a DC table that would read more than 15 value bits. */
  readonly maxSymbol: number;

  /** `counts[l - 1]` codes of length l, their symbols in `values`; refuses an impossible code. */
  constructor(counts: ArrayLike<number>, values: Uint8Array, what: string) {
    this.values = values;
    let code = 0;
    let k = 0;
    for (let l = 1; l <= 16; l++) {
      const n = counts[l - 1];
      this.offset[l] = k - code;
      if (n > 0) {
        if (code + n > 1 << l) problem(`${what} has more codes of ${l} bits than fit (over-subscribed code lengths)`);
        for (let i = 0; i < n; i++, code++, k++) {
          if (l <= LOOKAHEAD) {
            const shift = LOOKAHEAD - l;
            this.fast.fill((l << 8) | values[k], code << shift, (code + 1) << shift);
          }
        }
        this.maxcode[l] = code - 1;
      }
      code <<= 1;
    }
    this.maxSymbol = values.reduce((a, b) => Math.max(a, b), 0);
    for (let i = 0; i < 1 << LOOKAHEAD; i++) {
      const e = this.fast[i];
      const l = e >> 8;
      const s = e & 15;
      if (e === 0 || s === 0 || l + s > LOOKAHEAD) continue;
      const value = extend((i >> (LOOKAHEAD - l - s)) & ((1 << s) - 1), s);
      this.fastAc[i] = (value << 16) | ((e & 0xf0) << 4) | (l + s);
    }
  }
}

/** Tables built lately, by their DHT bytes: one camera or encoder writes the same few tables into every file. */
const recent = new Map<string, HuffmanTable>();
const RECENT_TABLES = 32;

/**
 * The HuffmanTable of a DHT entry's `counts` (16 bytes) and `values`, reused when an earlier file
 * defined the same (building one fills 1.5k lookahead entries: 7% of decoding a 256x256 JPEG at
 * 1/8). Tables are never changed once built, so files share them safely.
 */
export function huffmanTableFor(counts: Uint8Array, values: Uint8Array, what: string): HuffmanTable {
  const key = String.fromCharCode(...counts, ...values);
  let table = recent.get(key);
  if (table) {
    recent.delete(key); // most recent last: the first key is the one to evict
  } else {
    table = new HuffmanTable(counts, values.slice(), what); // its own copy: `values` may be a view of the file
    if (recent.size >= RECENT_TABLES) recent.delete(recent.keys().next().value!);
  }
  recent.set(key, table);
  return table;
}

/** Decodes one symbol; the reader must hold 16 bits or more (`fill` leaves 25). */
export function decodeSymbol(r: BitReader, t: HuffmanTable): number {
  const e = t.fast[(r.buf >>> (r.bits - LOOKAHEAD)) & ((1 << LOOKAHEAD) - 1)];
  if (e !== 0) {
    r.bits -= e >> 8;
    return e & 0xff;
  }
  return decodeLong(r, t);
}

/** A code longer than the lookahead: libjpeg's walk over the lengths, from the reader's fields. */
export function decodeLong(r: BitReader, t: HuffmanTable): number {
  for (let l = LOOKAHEAD + 1; l <= 16; l++) {
    const code = (r.buf >>> (r.bits - l)) & ((1 << l) - 1);
    if (code <= t.maxcode[l]) {
      r.bits -= l;
      return t.values[t.offset[l] + code];
    }
  }
  return problem(`a Huffman code in the scan is not in its table (corrupt data near byte ${r.pos})`);
}

/** JPEG's EXTEND: `v`, the `s` bits read, as the signed coefficient they code. */
export function extend(v: number, s: number): number {
  return v < 1 << (s - 1) ? v - (1 << s) + 1 : v;
}
