import { EdgelakeError } from '../../errors.js';

/** Rows of uint8 values, `size` each, back to back: what rowStats reduces. */
export interface RowStatsArgs<In, Out = In> {
  input: In;
  rows: number;
  size: number;
  /** 3 x rows u32: each row's sum, min and max, row after row. */
  output: Out;
}

/** Threads of a workgroup; one workgroup reduces one row. */
export const ROW_STATS_WORKGROUP = 64;

/** The longest row whose sum of uint8 values cannot overflow a u32. */
export const ROW_STATS_MAX_SIZE = Math.floor(0xffffffff / 255);

/** Checks a rowStats call's shape; the sums are exact integers, so GPU and CPU agree bit for bit. */
export function rowStatsPlan(a: { rows: number; size: number }): void {
  if (!Number.isInteger(a.rows) || a.rows < 0) throw new EdgelakeError('invalid-input', `rowStats: rows must be a non-negative integer, got ${a.rows}`);
  if (!Number.isInteger(a.size) || a.size < 1 || a.size > ROW_STATS_MAX_SIZE) {
    throw new EdgelakeError('invalid-input', `rowStats: size must be an integer in [1, ${ROW_STATS_MAX_SIZE}] (a u32 sum of uint8 values), got ${a.size}`);
  }
}

/** The CPU reference: per row, the sum, min and max of its uint8 values. */
export function rowStatsRef(a: RowStatsArgs<Uint8Array, Uint32Array>): void {
  rowStatsPlan(a);
  const { input, rows, size, output } = a;
  if (input.length < rows * size) throw new EdgelakeError('invalid-input', `rowStats: input holds ${input.length} values, ${rows} rows of ${size} need ${rows * size}`);
  for (let r = 0; r < rows; r++) {
    let [sum, lo, hi] = [0, 255, 0];
    for (let i = r * size, end = i + size; i < end; i++) {
      const v = input[i];
      sum += v;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    output.set([sum, lo, hi], 3 * r);
  }
}
