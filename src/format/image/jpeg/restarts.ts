import type { BitReader } from './bits.js';
import { problem } from './problem.js';

/**
 * Refuses a scan whose blocks used bits that are not in the file: a file cut short, or data
 * damaged up to a marker. libjpeg fills such blocks with zeros (gray) and warns; a half-gray
 * photo would be a wrong training sample, and stopping at once bounds the time by the bytes.
 */
export function checkData(r: BitReader): void {
  if (r.exhausted) problem('entropy-coded data ends before the last block of its scan (corrupt or truncated)');
}

/** Counts MCUs between restart markers and reads each marker when its interval is done. */
export class Restarts {
  private left: number;
  private next = 0;

  constructor(private readonly interval: number) {
    this.left = interval;
  }

  /** Call before each MCU; true when a restart marker was just read, so predictions start again. */
  step(r: BitReader): boolean {
    checkData(r);
    if (this.interval === 0) return false;
    let restarted = false;
    if (this.left === 0) {
      r.restart(this.next);
      this.next = (this.next + 1) & 7;
      this.left = this.interval;
      restarted = true;
    }
    this.left--;
    return restarted;
  }
}
