import { mulberry32 } from './random.js';

/**
 * Mutated JPEGs for fuzzing the decoder: input `index` of a run is a pure function of
 * (seed, index), so a failure replays alone. Half the mutations know the file's structure (its
 * marker segments), because blind bit flips rarely get past the first length field:
 *
 *   flip      a few random bits anywhere
 *   bytes     a run of random bytes overwritten
 *   truncate  the file cut at a random point
 *   length    a segment's length field set to a random or off-by-a-little value
 *   table     bytes inside a DHT/DQT/SOF/SOS body randomized (corrupt tables, bad ids, bad sampling)
 *   size      the frame's width/height set to extremes (0, 1, 65535) or random
 *   marker    a segment duplicated, dropped, or swapped with another (markers out of order)
 *   entropy   bytes in the scan data set to 0xFF, stuffed or marker-like values
 */
export const MUTATIONS = ['flip', 'bytes', 'truncate', 'length', 'table', 'size', 'marker', 'entropy'] as const;
export type Mutation = (typeof MUTATIONS)[number];

export interface Segment {
  /** Offset of the 0xFF of its marker. */
  at: number;
  marker: number;
  /** Bytes from `at` to the end of the segment (marker and length field included); a scan's entropy data is its own segment. */
  size: number;
}

/** The file's marker segments, as far as they parse: SOI, each header segment, each scan's data, EOI. */
export function segments(bytes: Uint8Array): Segment[] {
  const out: Segment[] = [{ at: 0, marker: 0xd8, size: 2 }];
  let pos = 2;
  while (pos + 4 <= bytes.length && bytes[pos] === 0xff) {
    const marker = bytes[pos + 1];
    if (marker === 0xd9) {
      out.push({ at: pos, marker, size: 2 });
      break;
    }
    const size = 2 + ((bytes[pos + 2] << 8) | bytes[pos + 3]);
    out.push({ at: pos, marker, size });
    pos += size;
    if (marker === 0xda) {
      // Entropy data runs to the next marker that is not a stuffed zero or a restart.
      let end = pos;
      while (end + 1 < bytes.length && !(bytes[end] === 0xff && bytes[end + 1] !== 0 && (bytes[end + 1] < 0xd0 || bytes[end + 1] > 0xd7))) end++;
      out.push({ at: pos, marker: 0, size: end - pos });
      pos = end;
    }
  }
  return out;
}

/** Input `index` of the run keyed by `seed`: one of `originals`, mutated once to a few times. */
export function mutateJpeg(originals: readonly Uint8Array[], seed: number, index: number): { bytes: Uint8Array; mutations: Mutation[] } {
  const random = mulberry32((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  const int = (n: number) => Math.floor(random() * n);
  let bytes: Uint8Array = originals[int(originals.length)].slice();
  const mutations: Mutation[] = [];
  for (let k = 1 + int(3); k > 0; k--) {
    const m = MUTATIONS[int(MUTATIONS.length)];
    mutations.push(m);
    bytes = apply(bytes, m, int, random);
  }
  return { bytes, mutations };
}

function apply(bytes: Uint8Array, m: Mutation, int: (n: number) => number, random: () => number): Uint8Array {
  const segs = segments(bytes);
  const pick = (want: (s: Segment) => boolean) => {
    const found = segs.filter(want);
    return found.length > 0 ? found[int(found.length)] : undefined;
  };
  const inside = (s: Segment | undefined, from = 4) => (s && s.size > from ? s.at + from + int(s.size - from) : int(bytes.length));
  switch (m) {
    case 'flip':
      for (let i = 1 + int(8); i > 0; i--) bytes[int(bytes.length)] ^= 1 << int(8);
      return bytes;
    case 'bytes': {
      const at = int(bytes.length);
      for (let i = at; i < Math.min(bytes.length, at + 1 + int(32)); i++) bytes[i] = int(256);
      return bytes;
    }
    case 'truncate':
      return bytes.slice(0, int(bytes.length));
    case 'length': {
      const s = pick((x) => x.marker !== 0 && x.size > 2);
      if (!s) return bytes;
      const old = s.size - 2;
      const value = random() < 0.5 ? int(65536) : Math.max(0, Math.min(65535, old + int(9) - 4));
      bytes[s.at + 2] = value >> 8;
      bytes[s.at + 3] = value & 255;
      return bytes;
    }
    case 'table': {
      const s = pick((x) => [0xc4, 0xdb, 0xc0, 0xc1, 0xc2, 0xda, 0xdd].includes(x.marker));
      for (let i = 1 + int(4); i > 0; i--) bytes[inside(s)] = random() < 0.3 ? 0xff : int(256);
      return bytes;
    }
    case 'size': {
      const s = pick((x) => x.marker >= 0xc0 && x.marker <= 0xc2);
      if (!s || s.size < 9) return bytes;
      const extremes = [0, 1, 2, 7, 8, 9, 16, 17, 65535, 65534, 32768];
      for (const field of [5, 7]) {
        if (random() < 0.6) {
          const v = random() < 0.7 ? extremes[int(extremes.length)] : int(65536);
          bytes[s.at + field] = v >> 8;
          bytes[s.at + field + 1] = v & 255;
        }
      }
      return bytes;
    }
    case 'marker': {
      const headers = segs.filter((x) => x.marker !== 0xd8);
      if (headers.length < 2) return bytes;
      const a = headers[int(headers.length)];
      const b = headers[int(headers.length)];
      const parts = segs.map((x) => bytes.subarray(x.at, x.at + x.size));
      const ia = segs.indexOf(a);
      const ib = segs.indexOf(b);
      const r = random();
      if (r < 0.33) parts.splice(ib, 0, parts[ia]); // duplicated
      else if (r < 0.66) parts.splice(ia, 1); // dropped
      else [parts[ia], parts[ib]] = [parts[ib], parts[ia]]; // swapped
      const tail = segs.length > 0 ? bytes.subarray(segs[segs.length - 1].at + segs[segs.length - 1].size) : new Uint8Array(0);
      return concat([...parts, tail]);
    }
    case 'entropy': {
      const s = pick((x) => x.marker === 0);
      const values = [0xff, 0x00, 0xd0 + int(8), 0xd9, 0xc4, int(256)];
      for (let i = 1 + int(6); i > 0; i--) bytes[inside(s, 0)] = values[int(values.length)];
      return bytes;
    }
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
