import { sampleAtOffset } from '../../format/labels.js';
import type { TensorMeta } from '../../format/manifest.js';

/** First sample of each chunk, plus the total at the end: starts[c] .. starts[c+1] is chunk c. */
export function chunkStarts(tensor: Pick<TensorMeta, 'chunks'>): number[] {
  const starts = [0];
  for (const c of tensor.chunks) starts.push(starts[starts.length - 1] + c.samples);
  return starts;
}

/** The chunk holding sample `i` and its position within it (binary search). */
export function locateSample(starts: number[], i: number): { chunk: number; index: number } {
  const chunk = sampleAtOffset(starts, i); // the same search as a sample's byte among its chunk's offsets
  return { chunk, index: i - starts[chunk] };
}

/**
 * Half-open ranges as their union: sorted, disjoint, none empty. A hostile manifest may repeat
 * one range a million times; what comes out is never longer than the ranges it covers.
 */
export function mergeRanges(ranges: readonly (readonly [number, number])[]): [number, number][] {
  const sorted = ranges.filter(([lo, hi]) => hi > lo).sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [lo, hi] of sorted) {
    const last = merged.at(-1);
    if (last && lo <= last[1]) last[1] = Math.max(last[1], hi);
    else merged.push([lo, hi]);
  }
  return merged;
}

/** Indices of the chunks that hold any sample of the half-open ranges, in order, once each. */
export function chunksCovering(tensor: Pick<TensorMeta, 'chunks'>, ranges: readonly (readonly [number, number])[]): number[] {
  const starts = chunkStarts(tensor);
  const out = new Set<number>();
  for (const [start, end] of mergeRanges(ranges)) {
    const first = locateSample(starts, start).chunk;
    const last = locateSample(starts, end - 1).chunk;
    for (let c = first; c <= last; c++) out.add(c);
  }
  return [...out].sort((a, b) => a - b);
}
