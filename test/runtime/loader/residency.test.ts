import { describe, expect, it } from 'vitest';
import { Residency } from '../../../src/runtime/loader/residency.js';

describe('Residency', () => {
  const loads: string[] = [];
  const make = (keepBytes: number, budgetBytes?: number) => {
    loads.length = 0;
    return new Residency(async (key) => (loads.push(key), key.toUpperCase()), keepBytes, budgetBytes);
  };

  it('loads a key once while in use, however many ask for it', async () => {
    const r = make(0);
    expect(await r.acquire('a', 10)).toBe('A');
    expect(await r.acquire('a', 10)).toBe('A');
    expect(loads).toEqual(['a']);
    expect(r.bytes).toBe(10);
  });

  it('keeps released entries up to keepBytes, least recently released dropped first', async () => {
    const r = make(20);
    for (const k of ['a', 'b', 'c']) await r.acquire(k, 10);
    for (const k of ['a', 'b', 'c']) r.release(k);
    expect(r.bytes).toBe(20); // a went
    await r.acquire('b', 10);
    await r.acquire('a', 10);
    expect(loads).toEqual(['a', 'b', 'c', 'a']);
  });

  it('fits: what is in use, held elsewhere, plus a new entry within the budget; idle entries make room', async () => {
    const r = make(100, 30);
    await r.acquire('a', 10);
    await r.acquire('b', 10);
    expect(r.fits('c', 10)).toBe(true);
    expect(r.fits('c', 11)).toBe(false);
    expect(r.fits('c', 10, 1)).toBe(false); // with a byte held elsewhere (a chunk on its way to the cache)
    expect(r.fits('a', 1000)).toBe(true); // in use already: adds nothing
    r.release('a');
    r.release('b');
    expect(r.bytes).toBe(20); // both idle, within keepBytes and budget
    expect(r.fits('c', 30)).toBe(true);
    await r.acquire('c', 30);
    expect(r.bytes).toBe(30); // the idle ones were dropped to stay within the budget
    await r.acquire('a', 10);
    expect(loads).toEqual(['a', 'b', 'c', 'a']);
  });
});
