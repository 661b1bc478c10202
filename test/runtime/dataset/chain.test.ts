import { describe, expect, it } from 'vitest';
import { ChunkCache, datasetChain, MemoryChunkStore, MemorySource, type ReadOptions, remoteChain, RetryLaterError, type Source } from '../../../src/index.js';
import { chunkPath, sha256Hex } from '../../../src/format/index.js';

/** Two chunk files named by their SHA-256, and a transport over them that counts reads and can fail or lie. */
async function storage() {
  const bytes = [new Uint8Array(300).fill(1), new Uint8Array(500).fill(2)];
  const paths = await Promise.all(bytes.map(async (b) => chunkPath(await sha256Hex(b))));
  const files = new MemorySource(new Map(paths.map((p, i) => [p, bytes[i]])));
  const log: string[] = [];
  let inFlight = 0;
  let mostInFlight = 0;
  const faults: ('unreachable' | 'flip')[] = [];
  const transport: Source = {
    location: files.location,
    async read(path: string, options?: ReadOptions) {
      log.push(path);
      inFlight++;
      mostInFlight = Math.max(mostInFlight, inFlight);
      try {
        await new Promise((r) => setTimeout(r, 5));
        const fault = faults.shift();
        if (fault === 'unreachable') throw new RetryLaterError(`${path}: 503`, 1);
        const out = await files.read(path, options);
        if (fault === 'flip') out[0] ^= 1;
        return out;
      } finally {
        inFlight--;
      }
    },
    readRange: (path, offset, length) => files.readRange(path, offset, length),
  };
  return { bytes, paths, transport, log, faults, mostInFlight: () => mostInFlight };
}

describe("a dataset's one source chain: transport -> verify -> retry -> concurrency -> metrics -> cache", () => {
  it('counts what reached the remote once, and serves repeats from the cache', async () => {
    const s = await storage();
    const cache = new ChunkCache(new MemoryChunkStore(), { budgetBytes: 1 << 20 });
    const { source, metrics } = datasetChain(remoteChain(s.transport, { retry: { baseDelayMs: 1 }, concurrency: 1 }), cache);
    expect(await source.read(s.paths[0])).toEqual(s.bytes[0]);
    expect(await source.read(s.paths[0])).toEqual(s.bytes[0]);
    expect(metrics).toEqual({ requests: 1, bytes: 300, retries: 0, refetched: 0, unchanged: 0 });
    expect(cache.stats).toMatchObject({ misses: 1, hits: 1 });
  });

  it('retries inside the cap, and refuses bytes that do not match their name without caching them', async () => {
    const s = await storage();
    const cache = new ChunkCache(new MemoryChunkStore(), { budgetBytes: 1 << 20 });
    const { source, metrics } = datasetChain(remoteChain(s.transport, { retry: { baseDelayMs: 1 }, concurrency: 1 }), cache);
    s.faults.push('unreachable');
    await Promise.all(s.paths.map((p) => source.read(p)));
    expect(s.log).toEqual([s.paths[0], s.paths[0], s.paths[1]]); // the retry kept its slot: the second path waited
    expect(s.mostInFlight()).toBe(1);
    s.faults.push('flip');
    const other = datasetChain(remoteChain(s.transport, { retry: false }), cache);
    await cache.clear();
    await expect(other.source.read(s.paths[0])).rejects.toMatchObject({ code: 'integrity', message: expect.stringMatching(/do not match the SHA-256/) });
    expect(await cache.store.has(s.paths[0].slice(-64))).toBe(false);
    expect(metrics.requests).toBe(2);
  });

  it("a read that brings its own remote (a decode worker's) still passes metrics and the cache", async () => {
    const s = await storage();
    const cache = new ChunkCache(new MemoryChunkStore(), { budgetBytes: 1 << 20 });
    const { source, metrics } = datasetChain(remoteChain(s.transport), cache);
    const elsewhere: string[] = [];
    const via = async (path: string) => (elsewhere.push(path), s.bytes[1].slice());
    expect(await source.read(s.paths[1], { via })).toEqual(s.bytes[1]);
    expect(elsewhere).toEqual([s.paths[1]]);
    expect(s.log).toEqual([]); // this thread's transport saw nothing
    expect(metrics).toEqual({ requests: 1, bytes: 500, retries: 0, refetched: 0, unchanged: 0 });
    expect(await cache.store.get(s.paths[1].slice(-64))).toEqual(s.bytes[1]);
    expect(await source.read(s.paths[1], { via })).toEqual(s.bytes[1]); // now a hit: nobody reads
    expect(elsewhere).toHaveLength(1);
  });
});
