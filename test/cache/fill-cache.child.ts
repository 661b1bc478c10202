/**
 * A separate process that works on an FsChunkStore, for the crash and sharing tests:
 *
 *   fill  <dir> <seed> <count>  puts chunks 0..count-1 of seed (count 0: forever) as ChunkCache does (putWithin); "put <hash>" after each
 *   churn <dir> <seed> <ops>    puts chunks of a shared pool and evicts the least recently used ones
 *   read  <dir> <seed> <reads>  gets random entries, checking each against its name, until stdin closes
 *
 * It prints "started" once ready. churn and read then wait for a "go" line on stdin, so that all
 * of them overlap however slowly a loaded machine starts them, and end with a JSON summary line.
 */
import { createInterface } from 'node:readline';
import { mulberry32, randomChunk } from './random-chunks.js';
import { FsChunkStore } from '../../src/node.js';
import { sha256Hex } from '../../src/format/index.js';

/** The pool that churn processes share, so several of them put the same chunk at once. */
const POOL = { seed: 4242, size: 24, minBytes: 1024, maxBytes: 256 << 10 };

const [mode, dir, seedArg, nArg] = process.argv.slice(2);
const seed = Number(seedArg);
const n = Number(nArg);
const store = await FsChunkStore.open(dir);
const random = mulberry32(seed);
const errors: string[] = [];
let stdinOpen = true;
const stdin = createInterface({ input: process.stdin }).on('close', () => (stdinOpen = false));
const go = () =>
  new Promise<void>((resolve) => {
    console.log('started');
    stdin.once('line', () => resolve());
  });

if (mode === 'fill') {
  console.log('started');
  for (let i = 0; n === 0 || i < n; i++) {
    const { hash, bytes } = await randomChunk(seed, i, 1024, 2 << 20);
    await store.putWithin(hash, bytes, async () => true);
    console.log(`put ${hash}`);
  }
} else if (mode === 'churn') {
  const pool = await Promise.all(Array.from({ length: POOL.size }, (_, i) => randomChunk(POOL.seed, i, POOL.minBytes, POOL.maxBytes)));
  let puts = 0;
  let evictions = 0;
  await go();
  for (let op = 0; op < n; op++) {
    try {
      if (random() % 100 < 60) {
        const { hash, bytes } = pool[random() % pool.length];
        await store.put(hash, bytes);
        puts++;
      } else {
        // What ChunkCache does over budget: list, then delete the least recently used.
        const lru = (await store.entries()).sort((a, b) => a.lastUsed - b.lastUsed)[0];
        if (lru) await store.delete(lru.hash);
        evictions++;
      }
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  console.log(JSON.stringify({ mode, puts, evictions, errors }));
} else if (mode === 'read') {
  let hashes: string[] = [];
  const counts = { whole: 0, missing: 0, wrong: 0 };
  await go();
  for (let i = 0; stdinOpen || i < n; i++) {
    try {
      if (i % 20 === 0 || hashes.length === 0) hashes = (await store.entries()).map((e) => e.hash);
      if (hashes.length === 0) continue;
      const hash = hashes[random() % hashes.length];
      const got = await store.get(hash);
      if (got === undefined) counts.missing++;
      else if ((await sha256Hex(got)) === hash) counts.whole++;
      else counts.wrong++;
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  console.log(JSON.stringify({ mode, ...counts, errors }));
} else {
  throw new Error(`unknown mode ${mode}`);
}
stdin.close(); // lets a churn process exit while the test still holds its stdin open
await store.close();
