import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { smallDisk } from '../support/small-disk.js';
import { missing } from '../support/system.js';
import { conformanceCases } from './store-conformance.js';
import { randomChunk, sameBytes } from './random-chunks.js';
import { isEdgelakeError } from '../../src/index.js';
import { FsChunkStore } from '../../src/node.js';

const dirs: string[] = [];
function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgelake-fs-store-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('FsChunkStore', () => {
  for (const c of conformanceCases) {
    it(c.name, async () => {
      const dir = freshDir();
      const store = await FsChunkStore.open(dir);
      try {
        await c.run(store, () => FsChunkStore.open(dir));
      } finally {
        await store.close();
      }
    });
  }

  it('keeps each chunk in its own file at chunks/<first two hex digits>/<hash>', async () => {
    const dir = freshDir();
    const store = await FsChunkStore.open(dir);
    const { hash, bytes } = await randomChunk(1, 0, 1000, 1000);
    await store.put(hash, bytes);
    expect(sameBytes(readFileSync(join(dir, 'chunks', hash.slice(0, 2), hash)), bytes)).toBe(true);
    expect(readdirSync(join(dir, 'tmp'))).toEqual([]);
    await store.close();
    await store.close(); // closing twice is fine
  });

  it("removes temp files that dead writers left when it opens, and keeps a live writer's", async () => {
    const dir = freshDir();
    await (await FsChunkStore.open(dir)).close();
    const deadPid = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    const tmp = join(dir, 'tmp');
    writeFileSync(join(tmp, `${deadPid}-0a1b.tmp`), 'half a chunk from a killed process');
    writeFileSync(join(tmp, `${process.pid}-2c3d.tmp`), 'a write in progress');
    writeFileSync(join(tmp, `${process.pid}-4e5f.tmp`), 'abandoned two hours ago');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    utimesSync(join(tmp, `${process.pid}-4e5f.tmp`), twoHoursAgo, twoHoursAgo);
    const store = await FsChunkStore.open(dir);
    expect(readdirSync(tmp)).toEqual([`${process.pid}-2c3d.tmp`]);
    expect(await store.usage()).toEqual({ entries: 0, bytes: 0 });
    await store.close();
  });

  it("counts the announced writes of live processes as pending, and removes a dead writer's", async () => {
    const dir = freshDir();
    const store = await FsChunkStore.open(dir);
    const deadPid = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    const tmp = join(dir, 'tmp');
    writeFileSync(join(tmp, `${deadPid}-0a1b-5000.tmp`), 'the start of a write a killed process announced');
    writeFileSync(join(tmp, `${process.pid}-2c3d-7000.tmp`), 'another writer, 7000 bytes announced');
    const { hash, bytes } = await randomChunk(3, 0, 100, 100);
    let pending = 0;
    expect(await store.putWithin(hash, bytes, async (room) => ((pending = room.pending), true))).toBe(true);
    expect(pending).toBe(7000 + 100);
    expect(readdirSync(tmp)).toEqual([`${process.pid}-2c3d-7000.tmp`]);
    await store.close();
  });

  it('a reader whose chunk another process evicts gets undefined or every byte, never an error', async () => {
    const dir = freshDir();
    const reader = await FsChunkStore.open(dir);
    const evictor = await FsChunkStore.open(dir); // stands in for another process sharing the folder
    const { hash, bytes } = await randomChunk(2, 0, 1 << 20, 1 << 20);
    await reader.put(hash, bytes);
    expect(await reader.has(hash)).toBe(true);
    await evictor.delete(hash);
    expect(await reader.get(hash)).toBeUndefined();
    // The eviction lands before, while or after the reader opens and reads the file.
    const outcomes = { whole: 0, missing: 0 };
    for (let round = 0; round < 100; round++) {
      await evictor.put(hash, bytes);
      const [got] = await Promise.all([reader.get(hash), evictor.delete(hash), reader.entries()]);
      if (got === undefined) outcomes.missing++;
      else if (sameBytes(got, bytes)) outcomes.whole++;
      else throw new Error(`round ${round}: get returned ${got.length} wrong bytes`);
    }
    expect(outcomes.whole + outcomes.missing).toBe(100);
    await Promise.all([reader.close(), evictor.close()]);
  });
});

/** A real 2 MiB tmpfs, so the disk really fills up; mounting needs root on Linux. */
const smallRoot = mkdtempSync(join(tmpdir(), 'edgelake-full-disk-'));
const disk = smallDisk(join(smallRoot, 'disk'), '2m');
const small = disk.path;
afterAll(() => {
  disk.unmount();
  rmSync(smallRoot, { recursive: true, force: true });
});

describe.skipIf(missing('a tmpfs mount (root)', 'run the tests as root on Linux', disk.mounted))('FsChunkStore on a full disk', () => {
  it('fails with storage-full, loses nothing stored before, leaves no temp file, and stores again once there is room', async () => {
    const store = await FsChunkStore.open(small);
    const stored: { hash: string; bytes: Uint8Array }[] = [];
    let failure: unknown;
    for (let i = 0; i < 20 && failure === undefined; i++) {
      const chunk = await randomChunk(3, i, 300_000, 300_000);
      await store.put(chunk.hash, chunk.bytes).then(() => stored.push(chunk), (e) => (failure = e));
    }
    const refused = await randomChunk(3, stored.length, 300_000, 300_000);
    expect(isEdgelakeError(failure, 'storage-full')).toBe(true);
    expect((failure as Error).message).toContain(small);
    expect((failure as Error).message).toContain(refused.hash);
    expect((failure as Error).message).toMatch(/disk is full/);
    expect(stored.length).toBeGreaterThan(2);
    for (const { hash, bytes } of stored) expect(sameBytes(await store.get(hash), bytes)).toBe(true);
    expect(await store.has(refused.hash)).toBe(false);
    expect(readdirSync(join(small, 'tmp'))).toEqual([]);

    await store.delete(stored[0].hash);
    await store.put(refused.hash, refused.bytes);
    expect(sameBytes(await store.get(refused.hash), refused.bytes)).toBe(true);
    expect((await store.usage()).entries).toBe(stored.length);
    await store.close();
  });
});
