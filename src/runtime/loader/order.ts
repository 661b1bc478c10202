import { EdgelakeError } from '../../errors.js';
import { shuffleInPlace } from '../../kernels/random/random.js';

/** The samples of one chunk that a view holds, in ascending order. */
export interface ChunkGroup {
  chunk: number;
  ids: Uint32Array;
}

export interface ShuffleOptions {
  /** An integer in [0, 2^32). */
  seed: number;
  /** Chunks whose samples are mixed together; 1 keeps each chunk's samples together, Infinity mixes all of them (default 4). */
  windowChunks?: number;
}

/** Seeds and epochs key the hash RNG as u32s: anything else would be truncated silently. */
export function checkU32(name: string, value: unknown): void {
  if (!Number.isInteger(value) || (value as number) < 0 || (value as number) >= 2 ** 32) {
    throw new EdgelakeError('invalid-input', `${name} must be an integer in [0, 2^32), got ${shown(value)}`);
  }
}

/** An option's value for an error message: a string quoted, so "2" does not read as 2. */
export function shown(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/**
 * The order of one epoch, made window by window so it needs memory for one window, not for the
 * whole view. With shuffling, chunk order is permuted by (seed, epoch), then consecutive runs of
 * `windowChunks` chunks form windows whose samples are permuted together.
 *
 * Trade-off: a window of w chunks keeps at most w chunks (per tensor) resident and fetches every
 * chunk once per epoch, but a sample can only land near samples from the same w chunks. Larger w
 * mixes better at the cost of memory; with w = all chunks it is a full uniform shuffle.
 */
export class EpochOrder {
  readonly length: number;
  private readonly windows: ChunkGroup[][];
  /** starts[w] is the position of window w's first sample in the epoch. */
  private readonly starts: number[];

  constructor(groups: ChunkGroup[], readonly shuffle: ShuffleOptions | undefined, readonly epoch: number) {
    checkU32('epoch', epoch);
    if (shuffle) checkU32('shuffle.seed', shuffle.seed);
    const windowChunks = shuffle ? shuffle.windowChunks ?? 4 : 1;
    if (!(windowChunks === Infinity || (Number.isInteger(windowChunks) && windowChunks >= 1))) {
      throw new EdgelakeError('invalid-input', `shuffle.windowChunks must be a positive integer or Infinity, got ${shown(windowChunks)}`);
    }
    const order = groups.slice();
    if (shuffle) shuffleInPlace(order, shuffle.seed, epoch, 0xc4a2);
    this.windows = [];
    for (let i = 0; i < order.length; i += windowChunks) this.windows.push(order.slice(i, i + windowChunks));
    this.starts = [0];
    for (const w of this.windows) this.starts.push(this.starts[this.starts.length - 1] + w.reduce((a, g) => a + g.ids.length, 0));
    this.length = this.starts[this.starts.length - 1];
  }

  get windowCount(): number {
    return this.windows.length;
  }

  /** The chunks of window w, in the order the epoch first needs them. */
  windowChunks(w: number): number[] {
    return this.windows[w].map((g) => g.chunk);
  }

  /** The sample ids of window w in epoch order. */
  windowSamples(w: number): Uint32Array {
    const ids = new Uint32Array(this.starts[w + 1] - this.starts[w]);
    let at = 0;
    for (const g of this.windows[w]) {
      ids.set(g.ids, at);
      at += g.ids.length;
    }
    return this.shuffle ? shuffleInPlace(ids, this.shuffle.seed, this.epoch, w + 1) : ids;
  }

  /** The window holding epoch position `position` (0 <= position < length). */
  windowAt(position: number): number {
    let lo = 0;
    let hi = this.windows.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.starts[mid] <= position) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  windowStart(w: number): number {
    return this.starts[w];
  }
}

/** Groups a view's sample ids (ascending) by the chunk of `starts` (chunkStarts of a tensor) holding them. */
export function groupByChunk(ids: Uint32Array, starts: number[]): ChunkGroup[] {
  const groups: ChunkGroup[] = [];
  let c = 0;
  let from = 0;
  for (let i = 0; i <= ids.length; i++) {
    if (i < ids.length && ids[i] < starts[c + 1]) continue;
    if (i > from) groups.push({ chunk: c, ids: ids.subarray(from, i) });
    if (i === ids.length) break;
    while (ids[i] >= starts[c + 1]) c++;
    from = i;
  }
  return groups;
}
