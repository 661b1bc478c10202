import { describe, expect, it } from 'vitest';
import { EpochOrder, groupByChunk } from '../../../src/runtime/loader/order.js';

// 10 chunks of 10 samples: ids 0-99, chunk c holds 10c .. 10c + 9.
const starts = Array.from({ length: 11 }, (_, c) => c * 10);
const groups = groupByChunk(Uint32Array.from({ length: 100 }, (_, i) => i), starts);
const chunkOf = (id: number) => Math.floor(id / 10);
const windowsOf = (order: EpochOrder) => Array.from({ length: order.windowCount }, (_, w) => [...order.windowSamples(w)]);

describe('EpochOrder', () => {
  it('without shuffle: dataset order, one chunk a window', () => {
    const order = new EpochOrder(groups, undefined, 0);
    expect(order.windowCount).toBe(10);
    expect(windowsOf(order).flat()).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('with shuffle: windows of windowChunks chunks (the last holds the rest), samples permuted within each', () => {
    const order = new EpochOrder(groups, { seed: 3, windowChunks: 4 }, 0);
    const windows = windowsOf(order);
    expect(windows.map((w) => new Set(w.map(chunkOf)).size)).toEqual([4, 4, 2]);
    expect(windows.map((_, w) => order.windowStart(w))).toEqual([0, 40, 80]);
    expect(new Set(windows.flat()).size).toBe(100);
    expect(windows[0]).not.toEqual([...windows[0]].sort((a, b) => a - b));
    expect([0, 39, 40, 99].map((p) => order.windowAt(p))).toEqual([0, 0, 1, 2]);
  });

  it('is a function of (seed, epoch)', () => {
    const all = (seed: number, epoch: number) => windowsOf(new EpochOrder(groups, { seed, windowChunks: 4 }, epoch)).flat();
    expect(all(1, 0)).toEqual(all(1, 0));
    expect(all(1, 0)).not.toEqual(all(2, 0));
    expect(all(1, 0)).not.toEqual(all(1, 1));
  });

  it('refuses a seed, epoch or windowChunks it would truncate; Infinity mixes every chunk in one window', () => {
    expect(() => new EpochOrder(groups, { seed: 1, windowChunks: NaN }, 0)).toThrow('shuffle.windowChunks must be a positive integer or Infinity, got NaN');
    expect(() => new EpochOrder(groups, { seed: 1, windowChunks: 0 }, 0)).toThrow('got 0');
    expect(() => new EpochOrder(groups, { seed: 1.5 }, 0)).toThrow('shuffle.seed must be an integer in [0, 2^32), got 1.5');
    expect(() => new EpochOrder(groups, undefined, 2 ** 32)).toThrow('epoch must be an integer in [0, 2^32), got 4294967296');
    const all = new EpochOrder(groups, { seed: 3, windowChunks: Infinity }, 0);
    expect(all.windowCount).toBe(1);
    expect(new Set(windowsOf(all)[0]).size).toBe(100);
  });
});
