import type { JpegComponent } from '../../../kernels/jpeg/coefficients.js';
import { problem } from './problem.js';

/** A component of the frame header (SOF), placed in the coefficient buffer. */
export interface FrameComponent extends JpegComponent {
  /** The id scans name it by. */
  id: number;
  /** Which quantization table (0..3) it uses. */
  quantId: number;
  /** Blocks its own samples cover, without MCU padding: what a one-component scan codes. */
  ownBlocksWide: number;
  ownBlocksHigh: number;
}

export interface Frame {
  progressive: boolean;
  width: number;
  height: number;
  maxH: number;
  maxV: number;
  mcusWide: number;
  mcusHigh: number;
  components: FrameComponent[];
  /** Blocks of all components together: the coefficient buffer holds 64 times as many. */
  blocks: number;
}

/** The coefficient buffer's size is checked against this many per allowed pixel (4:4:4 needs 3, plus padding). */
const COEFFICIENTS_PER_PIXEL = 4;
/** ...and never refused below one MCU of the largest kind: 3 components of 4x4 blocks. */
const SMALLEST_LIMIT = 3 * 16 * 64;

/** Lays the frame's components out, refusing it (code 'limit') when it is larger than `maxPixels`. */
export function layoutFrame(
  progressive: boolean,
  width: number,
  height: number,
  sampling: { id: number; h: number; v: number; quantId: number }[],
  maxPixels: number,
): Frame {
  const pixels = width * height;
  if (pixels > maxPixels) problem(`${width}x${height} is ${pixels} pixels, over the limit of ${maxPixels}`, 'limit');
  const maxH = Math.max(...sampling.map((c) => c.h));
  const maxV = Math.max(...sampling.map((c) => c.v));
  const mcusWide = Math.ceil(width / (8 * maxH));
  const mcusHigh = Math.ceil(height / (8 * maxV));
  let blocks = 0;
  const components = sampling.map(({ id, h, v, quantId }) => {
    const c: FrameComponent = {
      id,
      quantId,
      h,
      v,
      blocksWide: mcusWide * h,
      blocksHigh: mcusHigh * v,
      firstBlock: blocks,
      ownBlocksWide: Math.ceil(Math.ceil((width * h) / maxH) / 8),
      ownBlocksHigh: Math.ceil(Math.ceil((height * v) / maxV) / 8),
    };
    blocks += c.blocksWide * c.blocksHigh;
    return c;
  });
  // MCU padding of a thin image (1 pixel wide, 4x4 sampling) can outgrow its pixels 30 times over.
  const limit = Math.max(COEFFICIENTS_PER_PIXEL * maxPixels, SMALLEST_LIMIT);
  if (blocks * 64 > limit) {
    problem(`${width}x${height} padded to whole MCUs is ${blocks * 64} coefficients, over the limit of ${limit} (${COEFFICIENTS_PER_PIXEL} per allowed pixel)`, 'limit');
  }
  return { progressive, width, height, maxH, maxV, mcusWide, mcusHigh, components, blocks };
}

/**
 * Where a scan's blocks go. An MCU of an interleaved scan holds h x v blocks of each of its
 * components; a scan of one component codes its own blocks one at a time, without padding.
 */
export interface ScanLayout {
  mcusWide: number;
  mcusHigh: number;
  /** Per block of an MCU: its scan component, and its offset in blocks from the MCU's corner. */
  blockComponent: Int32Array;
  blockOffset: Int32Array;
  /** Per scan component: its first block, blocks from one MCU row to the next, and from one MCU to the next. */
  first: Int32Array;
  rowStride: Int32Array;
  step: Int32Array;
}

export function layoutScan(frame: Frame, components: FrameComponent[]): ScanLayout {
  const n = components.length;
  const first = Int32Array.from(components, (c) => c.firstBlock);
  if (n === 1) {
    const c = components[0];
    return {
      mcusWide: c.ownBlocksWide,
      mcusHigh: c.ownBlocksHigh,
      blockComponent: new Int32Array(1),
      blockOffset: new Int32Array(1),
      first,
      rowStride: Int32Array.of(c.blocksWide),
      step: Int32Array.of(1),
    };
  }
  const blockComponent: number[] = [];
  const blockOffset: number[] = [];
  components.forEach((c, i) => {
    for (let y = 0; y < c.v; y++) {
      for (let x = 0; x < c.h; x++) {
        blockComponent.push(i);
        blockOffset.push(y * c.blocksWide + x);
      }
    }
  });
  return {
    mcusWide: frame.mcusWide,
    mcusHigh: frame.mcusHigh,
    blockComponent: Int32Array.from(blockComponent),
    blockOffset: Int32Array.from(blockOffset),
    first,
    rowStride: Int32Array.from(components, (c) => c.v * c.blocksWide),
    step: Int32Array.from(components, (c) => c.h),
  };
}
