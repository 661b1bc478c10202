import { describe, expect, it } from 'vitest';
import { conformanceCases } from './store-conformance.js';
import { MemoryChunkStore } from '../../src/index.js';

describe('MemoryChunkStore', () => {
  for (const c of conformanceCases) {
    it(c.name, async () => {
      const store = new MemoryChunkStore();
      // "Reopening" a memory store hands back the same one: its contents live as long as it does.
      await c.run(store, async () => store);
    });
  }

  it('orders uses within one millisecond exactly', async () => {
    const store = new MemoryChunkStore();
    const hashes = Array.from({ length: 50 }, (_, i) => i.toString(16).padStart(64, 'a'));
    for (const h of hashes) await store.put(h, new Uint8Array([1]));
    for (const h of [...hashes].reverse()) await store.get(h);
    const entries = (await store.entries()).sort((a, b) => a.lastUsed - b.lastUsed);
    expect(entries.map((e) => e.hash)).toEqual([...hashes].reverse());
    // Still wall-clock time, not a counter that runs ahead of it.
    expect(Math.abs(entries[49].lastUsed - Date.now())).toBeLessThan(1000);
  });
});
