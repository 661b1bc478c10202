/**
 * The behaviour every ChunkStore must have, written without a test framework so the same cases
 * run under vitest in Node (memory, filesystem, fake-indexeddb) and inside a real Chromium
 * (IndexedDB). Each case gets a fresh, empty store.
 */
import { type ChunkStore } from '../../src/index.js';

export type StoreFactory = () => Promise<ChunkStore>;
/** What putWithin shows a writer before its write lands. */
type Room = Parameters<Parameters<ChunkStore['putWithin']>[2]>[0];
export interface ConformanceCase {
  name: string;
  run(store: ChunkStore, reopen: () => Promise<ChunkStore>): Promise<void>;
}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}
const equalBytes = (a: Uint8Array | undefined, b: Uint8Array) => a !== undefined && a.length === b.length && a.every((v, i) => v === b[i]);
const hash = (n: number) => n.toString(16).padStart(64, '0');
const bytes = (n: number, size: number) => Uint8Array.from({ length: size }, (_, i) => (i * 7 + n) & 255);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function rejectsWith(p: Promise<unknown>, code: string, what: string): Promise<void> {
  try {
    await p;
  } catch (e) {
    check((e as { code?: string }).code === code, `${what}: expected error code ${code}, got ${(e as Error).message}`);
    return;
  }
  throw new Error(`${what}: expected a rejection with code ${code}`);
}

export const conformanceCases: ConformanceCase[] = [
  {
    name: 'put then get returns the same bytes; a missing hash is undefined',
    async run(store) {
      const data = bytes(1, 1000);
      await store.put(hash(1), data);
      check(equalBytes(await store.get(hash(1)), data), 'get returned other bytes');
      check((await store.get(hash(2))) === undefined, 'get of a missing hash must be undefined');
      check(await store.has(hash(1)), 'has must be true after put');
      check(!(await store.has(hash(2))), 'has must be false for a missing hash');
    },
  },
  {
    name: 'the caller may reuse its buffer after put; get returns a copy it may change',
    async run(store) {
      const data = bytes(3, 64);
      await store.put(hash(3), data);
      data.fill(0);
      const got = await store.get(hash(3));
      check(equalBytes(got, bytes(3, 64)), 'put must copy (or write out) the bytes');
      got!.fill(9);
      check(equalBytes(await store.get(hash(3)), bytes(3, 64)), 'changing what get returned must not change the store');
    },
  },
  {
    name: 'zero-length and large (8 MiB) entries',
    async run(store) {
      await store.put(hash(4), new Uint8Array(0));
      check((await store.get(hash(4)))?.length === 0, 'an empty entry must come back empty, not undefined');
      const big = bytes(5, 8 << 20);
      await store.put(hash(5), big);
      check(equalBytes(await store.get(hash(5)), big), 'large entry differs');
    },
  },
  {
    name: 'entries and usage list sizes; delete removes and says so; deleting twice is fine',
    async run(store) {
      await store.put(hash(6), bytes(6, 100));
      await store.put(hash(7), bytes(7, 250));
      const usage = await store.usage();
      check(usage.entries === 2 && usage.bytes === 350, `usage should be 2 entries, 350 bytes: ${JSON.stringify(usage)}`);
      const list = (await store.entries()).sort((a, b) => a.bytes - b.bytes);
      check(list.length === 2 && list[0].hash === hash(6) && list[0].bytes === 100 && list[1].bytes === 250, 'entries lists hash and size');
      check((await store.delete(hash(6))) === true, 'delete of an entry must say it removed one');
      check((await store.delete(hash(6))) === false, 'delete of a missing entry must say it removed none');
      check(!(await store.has(hash(6))) && (await store.usage()).bytes === 250, 'delete must remove the entry and its bytes');
    },
  },
  {
    name: 'putting the same hash again keeps one entry',
    async run(store) {
      await store.put(hash(8), bytes(8, 10));
      await store.put(hash(8), bytes(8, 10));
      check((await store.usage()).entries === 1, 'a second put of the same hash must not add an entry');
    },
  },
  {
    name: 'get marks an entry used: lastUsed orders entries for LRU',
    async run(store) {
      await store.put(hash(9), bytes(9, 10));
      await sleep(20);
      await store.put(hash(10), bytes(10, 10));
      await sleep(20);
      await store.get(hash(9));
      const byHash = new Map((await store.entries()).map((e) => [e.hash, e.lastUsed]));
      check(byHash.get(hash(9))! > byHash.get(hash(10))!, 'the entry read last must have the later lastUsed');
      await sleep(1100); // past the filesystem store's once-a-second touch throttle
      await store.get(hash(10), { touch: false });
      const after = new Map((await store.entries()).map((e) => [e.hash, e.lastUsed]));
      check(after.get(hash(10)) === byHash.get(hash(10)), 'a get with touch: false must not mark the entry used');
    },
  },
  {
    name: 'entries, sizes and last use survive reopening the store',
    async run(store, reopen) {
      await store.put(hash(11), bytes(11, 300));
      await store.putNote('refs:https://example.org/ds', new TextEncoder().encode('{"a":1}'));
      const before = await store.entries();
      await store.close();
      const again = await reopen();
      try {
        check(equalBytes(await again.get(hash(11)), bytes(11, 300)), 'entry lost on reopen');
        const after = await again.entries();
        check(after.length === 1 && after[0].bytes === 300 && after[0].lastUsed >= before[0].lastUsed, 'index lost on reopen');
        check(new TextDecoder().decode(await again.getNote('refs:https://example.org/ds')) === '{"a":1}', 'note lost on reopen');
      } finally {
        await again.close();
      }
    },
  },
  {
    name: 'notes are mutable, by any name, and not counted in usage',
    async run(store) {
      check((await store.getNote('x')) === undefined, 'a missing note must be undefined');
      await store.putNote('s3://bucket/a b/../c', new Uint8Array([1]));
      await store.putNote('s3://bucket/a b/../c', new Uint8Array([2, 3]));
      check(equalBytes(await store.getNote('s3://bucket/a b/../c'), new Uint8Array([2, 3])), 'a note must hold its last value');
      check((await store.usage()).entries === 0, 'notes are not chunks');
    },
  },
  {
    name: 'keys that are not chunk hashes are refused (no path traversal)',
    async run(store) {
      for (const bad of ['../../etc/passwd', hash(0xabc).toUpperCase(), hash(1).slice(1), `${hash(1)}/x`, '']) {
        await rejectsWith(store.put(bad, new Uint8Array(1)), 'invalid-input', `put(${JSON.stringify(bad)})`);
        await rejectsWith(store.get(bad), 'invalid-input', `get(${JSON.stringify(bad)})`);
      }
    },
  },
  {
    name: 'putWithin shows the entries and counts its own write as pending; the write lands only if room says yes',
    async run(store) {
      await store.put(hash(20), bytes(20, 100));
      let seen: Room | undefined;
      check(!(await store.putWithin(hash(21), bytes(21, 50), async (room) => ((seen = room), false))), 'putWithin must resolve false when room refuses');
      check(seen?.entries.length === 1 && seen.entries[0].bytes === 100 && seen.pending >= 50, `room should list 100 bytes and count 50 pending: ${JSON.stringify(seen)}`);
      check(!(await store.has(hash(21))), 'a write that room refused must not land');
      check(await store.putWithin(hash(21), bytes(21, 50), async () => true), 'putWithin must resolve true when it stored');
      check(equalBytes(await store.get(hash(21)), bytes(21, 50)), 'putWithin stored other bytes');
      await rejectsWith(store.putWithin('../x', new Uint8Array(1), async () => true), 'invalid-input', 'putWithin of a bad key');
    },
  },
  {
    name: "putWithin: a writer that asks for room while another's write is in flight counts that write",
    async run(store) {
      let entered!: () => void;
      const firstIn = new Promise<void>((r) => (entered = r));
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const first = store.putWithin(hash(22), bytes(22, 70), async () => (entered(), await gate, true));
      await firstIn;
      setTimeout(release, 50); // a store that lets writers take turns runs the second after the first
      let second: Room | undefined;
      await store.putWithin(hash(23), bytes(23, 30), async (room) => ((second = room), true));
      await first;
      const counted = second!.pending + second!.entries.filter((e) => e.hash === hash(22)).reduce((a, e) => a + e.bytes, 0);
      check(counted >= 100, `the second writer must count the first one's 70 bytes and its own 30 (pending or listed), counted ${counted}`);
    },
  },
  {
    name: 'concurrent puts of the same and different hashes all land whole',
    async run(store) {
      const puts = [];
      for (let i = 0; i < 20; i++) puts.push(store.put(hash(100 + (i % 5)), bytes(100 + (i % 5), 50_000)));
      await Promise.all(puts);
      for (let i = 0; i < 5; i++) check(equalBytes(await store.get(hash(100 + i)), bytes(100 + i, 50_000)), `entry ${i} damaged`);
      check((await store.usage()).entries === 5, 'five distinct entries expected');
    },
  },
];

/** Runs every case against fresh stores; returns one result per case (for the browser runner). */
export async function runConformance(fresh: () => Promise<{ store: ChunkStore; reopen: () => Promise<ChunkStore> }>) {
  const results: { name: string; ok: boolean; error?: string }[] = [];
  for (const c of conformanceCases) {
    const { store, reopen } = await fresh();
    try {
      await c.run(store, reopen);
      results.push({ name: c.name, ok: true });
    } catch (e) {
      results.push({ name: c.name, ok: false, error: (e as Error).stack ?? String(e) });
    } finally {
      await store.close().catch(() => {});
    }
  }
  return results;
}
