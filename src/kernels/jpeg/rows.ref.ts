import type { JpegScale } from './coefficients.js';
import { colorRows, type PlaneRows, upsampleBuffers } from './color.ref.js';
import { idctBlockRow } from './idct.ref.js';
import { type JpegImage, type JpegLayout, type JpegPlan, jpegPlan } from './plan.js';

/**
 * Reconstruction fed one MCU row of coefficients at a time, in order: the same pixels as
 * colorRef(plan, idctRef(coef, plan)), without whole planes. Each component keeps a ring of
 * 2v + 1 block rows of plane samples: an MCU row's v, the v before it, and the one row above
 * those that fancy upsampling reads. An MCU row's output rows are coloured once the next MCU
 * row is in (their triangle filters read its first plane row), straight into the oriented output.
 * So an entropy decoder can hand over a band of coefficients and reuse it for the next.
 */
export class JpegRowReconstruction {
  readonly plan: JpegPlan;
  /** The oriented output (plan.outWidth x plan.outHeight x plan.channels), whole once every MCU row is pushed. */
  readonly data: Uint8Array;
  private readonly layout: JpegLayout;
  private readonly ring: Uint8Array;
  private readonly ringOffsets: number[];
  private readonly rows: PlaneRows[];
  private readonly buffers: Uint8Array[];
  /** Output rows an MCU row makes: maxV blocks of 8 / scale samples. */
  private readonly outputRowsPerMcuRow: number;
  private next = 0;

  /** Plans the image (EdgelakeError 'invalid-input' naming `name` when it cannot be) and allocates its output. */
  constructor(layout: JpegLayout, private readonly quantTables: Uint16Array, scale: JpegScale, name = 'JPEG') {
    this.plan = jpegPlan(layout, scale, name);
    this.layout = layout;
    this.outputRowsPerMcuRow = (layout.maxV * 8) / scale;
    let bytes = 0;
    this.ringOffsets = this.plan.components.map((p, c) => {
      const offset = bytes;
      bytes += (2 * layout.components[c].v + 1) * p.size * p.stride;
      return offset;
    });
    this.ring = new Uint8Array(bytes);
    this.rows = this.plan.components.map((p, c) => {
      const slots = 2 * layout.components[c].v + 1;
      const base = this.ringOffsets[c];
      return (j) => base + ((Math.floor(j / p.size) % slots) * p.size + (j % p.size)) * p.stride;
    });
    this.buffers = upsampleBuffers(this.plan);
    this.data = new Uint8Array(this.plan.outWidth * this.plan.outHeight * this.plan.channels);
  }

  /** Whether every MCU row has been pushed, so `data` is complete. */
  get done(): boolean {
    return this.next === this.plan.mcuRows;
  }

  /**
   * Reconstructs the next MCU row: component c's i-th block row of it starts at coefficient
   * `firstCoefficients[c] + i * blocksWide * side * side` of `coefficients` (side x side a block,
   * JpegComponentPlan.side: 64 in natural order unless the layout is reduced).
   * The coefficients are not kept: the caller may overwrite them with the next row's.
   */
  push(coefficients: Int16Array, firstCoefficients: ArrayLike<number>): void {
    const m = this.next++;
    if (m >= this.plan.mcuRows) throw new RangeError(`all ${this.plan.mcuRows} MCU rows were pushed already`);
    this.plan.components.forEach((p, c) => {
      const v = this.layout.components[c].v;
      const end = Math.min((m + 1) * v, p.validBlocksHigh); // the blocks below are padding, never read
      for (let by = m * v; by < end; by++) {
        const from = firstCoefficients[c] + (by - m * v) * p.blocksWide * p.side * p.side;
        idctBlockRow(coefficients, from, this.quantTables, c, p, this.ring, this.rows[c](by * p.size), p.stride);
      }
    });
    if (m > 0) this.color(m - 1);
    if (this.done) this.color(m);
  }

  /** The image; throws unless every MCU row was pushed. */
  image(): JpegImage {
    if (!this.done) throw new RangeError(`${this.next} of ${this.plan.mcuRows} MCU rows were pushed`);
    return { width: this.plan.outWidth, height: this.plan.outHeight, channels: this.plan.channels, data: this.data };
  }

  private color(mcuRow: number): void {
    const start = mcuRow * this.outputRowsPerMcuRow;
    const end = Math.min(start + this.outputRowsPerMcuRow, this.plan.height);
    colorRows(this.plan, this.ring, this.rows, this.data, start, end, this.buffers);
  }
}
