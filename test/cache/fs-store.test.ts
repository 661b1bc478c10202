import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { smallDisk } from '../support/small-disk.js';
import { missing } from '../support/system.js';
import { conformanceCases } from './store-conformance.js';
import { randomChunk, sameBytes } from './random-chunks.js';
import { isEdgelakeError } from '../../src/index.js';
import { commitVersion, TensorWriter } from '../../src/format/index.js';
import { FolderSink, FsChunkStore } from '../../src/node.js';

const dirs: string[] = [];
function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgelake-fs-store-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** The pid of a process that has exited. */
const deadPid = () => spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
const hoursAgo = (h: number) => new Date(Date.now() - h * 3600_000);

/** Every file and folder under `dir`, relative to it. */
const listing = (dir: string) => readdirSync(dir, { recursive: true }).sort();

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
    const tmp = join(dir, 'tmp');
    writeFileSync(join(tmp, `${deadPid()}-0a1b.tmp`), 'half a chunk from a killed process');
    writeFileSync(join(tmp, `${process.pid}-2c3d.tmp`), 'a write in progress');
    writeFileSync(join(tmp, `${process.pid}-4e5f.tmp`), 'abandoned two hours ago');
    utimesSync(join(tmp, `${process.pid}-4e5f.tmp`), hoursAgo(2), hoursAgo(2));
    const store = await FsChunkStore.open(dir);
    expect(readdirSync(tmp)).toEqual([`${process.pid}-2c3d.tmp`]);
    expect(await store.usage()).toEqual({ entries: 0, bytes: 0 });
    await store.close();
  });

  it("counts the announced writes of live processes as pending, and removes a dead writer's", async () => {
    const dir = freshDir();
    const store = await FsChunkStore.open(dir);
    const tmp = join(dir, 'tmp');
    writeFileSync(join(tmp, `${deadPid()}-0a1b-5000.tmp`), 'the start of a write a killed process announced');
    writeFileSync(join(tmp, `${process.pid}-2c3d-7000.tmp`), 'another writer, 7000 bytes announced');
    const { hash, bytes } = await randomChunk(3, 0, 100, 100);
    let pending = 0;
    expect(await store.putWithin(hash, bytes, async (room) => ((pending = room.pending), true))).toBe(true);
    expect(pending).toBe(7000 + 100);
    expect(readdirSync(tmp)).toEqual([`${process.pid}-2c3d-7000.tmp`]);
    await store.close();
  });

  it("judges a temp file by its pid only within the writer's pid namespace (container), by its age elsewhere", async () => {
    const dir = freshDir();
    const store = await FsChunkStore.open(dir);
    const tmp = join(dir, 'tmp');
    // A write announces itself as <pid>@<namespace>-<random>-<size>.tmp.
    let announced: string[] = [];
    const first = await randomChunk(4, 0, 100, 100);
    await store.putWithin(first.hash, first.bytes, async () => ((announced = readdirSync(tmp)), true));
    expect(announced).toEqual([expect.stringMatching(new RegExp(`^${process.pid}@[0-9a-f]+-[0-9a-f]+-100\\.tmp$`))]);
    const here = announced[0].split(/[@-]/)[1];
    const elsewhere = '0'.repeat(here.length); // another container sharing the folder: its pids mean nothing here
    expect(elsewhere).not.toBe(here);
    const temp = (name: string, age: number) => {
      writeFileSync(join(tmp, name), 'a few bytes of a write');
      utimesSync(join(tmp, name), hoursAgo(age), hoursAgo(age));
    };
    const dead = deadPid();
    temp(`${dead}@${elsewhere}-0a1b-5000.tmp`, 0); // in flight over there, however its pid looks here
    temp(`${dead}@${elsewhere}-2c3d-6000.tmp`, 2); // abandoned over there
    temp(`${dead}@${here}-4e5f-7000.tmp`, 0); // a writer here that died
    temp(`${process.pid}@${here}-6a7b-8000.tmp`, 2); // a live pid, but reused: no write lasts an hour

    const second = await randomChunk(4, 1, 100, 100);
    let pending = 0;
    expect(await store.putWithin(second.hash, second.bytes, async (room) => ((pending = room.pending), true))).toBe(true);
    expect(pending).toBe(5000 + 100);
    expect(readdirSync(tmp)).toEqual([`${dead}@${elsewhere}-0a1b-5000.tmp`]);
    await store.close();
    await (await FsChunkStore.open(dir)).close(); // opening, too, leaves it alone
    expect(readdirSync(tmp)).toEqual([`${dead}@${elsewhere}-0a1b-5000.tmp`]);
  });

  it("marks the folder it makes as a cache, and refuses a dataset's folder or another folder that holds files", async () => {
    const dir = join(freshDir(), 'cache');
    await (await FsChunkStore.open(dir)).close();
    expect(JSON.parse(readFileSync(join(dir, 'edgelake-cache.json'), 'utf8'))).toEqual({ edgelake: 'chunk cache', version: 1 });
    await (await FsChunkStore.open(dir)).close(); // and opens it again

    // A dataset keeps its chunks as a cache does (chunks/ab/<hash>): as a cache, clear() would delete them.
    const dataset = freshDir();
    const sink = new FolderSink(dataset);
    const writer = new TensorWriter(sink, 'x', { htype: 'generic', dtype: 'uint8', shape: [4], sampleCompression: 'none', chunkCompression: 'none' }, 16);
    for (let i = 0; i < 40; i++) await writer.append(Uint8Array.of(i, i, i, i));
    await commitVersion(sink, { length: 40, splits: {}, tensors: { x: await writer.finish() } }, { name: 'tiny', message: 'm', created: '2026-01-01T00:00:00Z' });
    const before = listing(dataset);
    await expect(FsChunkStore.open(dataset)).rejects.toMatchObject({
      code: 'invalid-input',
      message: `${dataset} holds a dataset (edgelake.json, versions), not a chunk cache: a cache evicts and clears the files under its chunks/, so give it a folder of its own`,
    });
    expect(listing(dataset)).toEqual(before);

    const home = freshDir();
    writeFileSync(join(home, 'notes.txt'), 'not a cache');
    await expect(FsChunkStore.open(home)).rejects.toMatchObject({
      code: 'invalid-input',
      message: `${home} is not an edgelake chunk cache: it holds other files (notes.txt) and no edgelake-cache.json; give an empty or new folder`,
    });
    expect(readdirSync(home)).toEqual(['notes.txt']);
  });

  it('adopts a cache made before caches were marked, and marks it', async () => {
    const dir = freshDir();
    const { hash, bytes } = await randomChunk(5, 0, 100, 100);
    mkdirSync(join(dir, 'chunks', hash.slice(0, 2)), { recursive: true });
    mkdirSync(join(dir, 'notes'));
    writeFileSync(join(dir, 'chunks', hash.slice(0, 2), hash), bytes);
    const store = await FsChunkStore.open(dir);
    expect(sameBytes(await store.get(hash), bytes)).toBe(true);
    expect(existsSync(join(dir, 'edgelake-cache.json'))).toBe(true);
    await store.close();
  });

  it('names the path where a file stands for a folder of the cache, or a folder for a file', async () => {
    const file = join(freshDir(), 'a-file');
    writeFileSync(file, '');
    for (const dir of [file, join(file, 'cache')]) {
      await expect(FsChunkStore.open(dir)).rejects.toMatchObject({ code: 'invalid-input', message: `cache folder ${dir} is a file, or inside one: a cache needs a folder` });
    }

    const dir = freshDir();
    await (await FsChunkStore.open(dir)).close();
    rmSync(join(dir, 'chunks'), { recursive: true });
    writeFileSync(join(dir, 'chunks'), '');
    await expect(FsChunkStore.open(dir)).rejects.toThrow(`the cache folder ${dir} is damaged: ${join(dir, 'chunks')} is a file, not a folder (remove it to go on)`);

    const other = freshDir();
    const store = await FsChunkStore.open(other);
    const { hash } = await randomChunk(6, 0, 100, 100);
    const entry = join(other, 'chunks', hash.slice(0, 2), hash);
    mkdirSync(entry, { recursive: true });
    await expect(store.get(hash)).rejects.toThrow(`the cache folder ${other} is damaged: ${entry} is a folder, not a file (remove it to go on)`);
    await expect(store.delete(hash)).rejects.toThrow(`the cache folder ${other} is damaged: ${entry} is a folder, not a chunk file (remove it to go on)`);
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
