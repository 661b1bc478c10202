/**
 * The entropy-coded bits of a scan, read a byte at a time into a 32-bit buffer: 0xFF 0x00 is a
 * data byte 0xFF, any other 0xFF pair is a marker, where reading stops. Past a marker, or past the
 * end of the bytes, it reads zeros, as libjpeg does for a scan cut short.
 */

/** The marker a reader reports when the bytes end: libjpeg, too, pretends an EOI follows. */
export const END_OF_DATA = 0xd9;

export class BitReader {
  /** The unread bits are the low `bits` bits of `buf`, first bit highest. */
  buf = 0;
  bits = 0;
  /** How many of those low bits are zeros made up after a marker or the end of the bytes. */
  padded = 0;
  /** The marker that stopped reading, 0 while none has; `pos` is then at its (last) 0xFF. */
  marker = 0;

  constructor(
    readonly data: Uint8Array,
    public pos: number,
  ) {}

  /** Whether this restart interval has used bits that are not in the file. */
  get exhausted(): boolean {
    return this.padded > this.bits;
  }

  /** Tops the buffer up to at least 25 bits: a code of up to 16 bits and its value bits. */
  fill(): void {
    const data = this.data;
    const end = data.length;
    let pos = this.pos;
    let buf = this.buf;
    let bits = this.bits;
    while (bits <= 24) {
      if (this.marker === 0 && pos < end) {
        const byte = data[pos];
        if (byte !== 0xff) {
          pos++;
          buf = (buf << 8) | byte;
          bits += 8;
          continue;
        }
        let next = pos + 1;
        while (next < end && data[next] === 0xff) next++; // fill bytes
        if (next < end && data[next] === 0) {
          pos = next + 1; // stuffed: a data byte 0xFF
          buf = (buf << 8) | 0xff;
          bits += 8;
          continue;
        }
        this.marker = next < end ? data[next] : END_OF_DATA;
        pos = next < end ? next - 1 : end;
      } else if (this.marker === 0) {
        this.marker = END_OF_DATA;
      }
      buf <<= 8;
      bits += 8;
      this.padded += 8;
    }
    this.pos = pos;
    this.buf = buf;
    this.bits = bits;
  }

  /** Goes to the next marker unless one already stopped reading, skipping stray bytes as libjpeg does. */
  findMarker(): void {
    if (this.marker !== 0) return;
    this.pos = nextMarker(this.data, this.pos);
    this.marker = this.pos < this.data.length ? this.data[this.pos + 1] : END_OF_DATA;
  }

  /** Steps over the marker that stopped reading (its two bytes), and reads on. */
  skipMarker(): void {
    this.pos = Math.min(this.pos + 2, this.data.length);
    this.marker = 0;
  }

  /**
   * At a restart boundary: drops the byte's padding bits and expects RSTn, n = `next` (0..7).
   * A wrong or missing one is handled as libjpeg's jpeg_resync_to_restart does: skip a marker
   * from before, leave one from ahead (the interval then decodes as zeros), take any other RST.
   */
  restart(next: number): void {
    this.buf = 0;
    this.bits = 0;
    this.padded = 0;
    this.findMarker();
    for (;;) {
      const m = this.marker;
      const ahead = m === 0xd0 + ((next + 1) & 7) || m === 0xd0 + ((next + 2) & 7);
      const behind = m === 0xd0 + ((next + 7) & 7) || m === 0xd0 + ((next + 6) & 7);
      if (m >= 0xc0 && (m < 0xd0 || m > 0xd7 || ahead)) return; // not ours to pass: leave it unread
      if (m >= 0xd0 && m <= 0xd7 && !behind) {
        this.skipMarker(); // the expected RST, or one too far off to judge
        return;
      }
      this.skipMarker(); // an invalid marker or an earlier RST: look further
      this.findMarker();
    }
  }
}

/**
 * Where the next marker at or after `pos` starts (its last 0xFF; the code follows), or the
 * length of `data` when none does. Bytes before it are skipped, as libjpeg's next_marker does.
 */
export function nextMarker(data: Uint8Array, pos: number): number {
  const end = data.length;
  for (let p = pos; ; ) {
    while (p < end && data[p] !== 0xff) p++;
    let q = p + 1;
    while (q < end && data[q] === 0xff) q++; // fill bytes
    if (q >= end) return end;
    if (data[q] !== 0) return q - 1;
    p = q + 1; // 0xFF 0x00 is data
  }
}
