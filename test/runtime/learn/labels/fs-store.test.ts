// FsLabelStore's file after a crash: a torn last record is cut off; damage before the end is refused; one learner writes it at a time.
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { smallDisk } from '../../../support/small-disk.js';
import { missing } from '../../../support/system.js';
import { FsLabelStore } from '../../../../src/node.js';

const root = mkdtempSync(join(tmpdir(), 'edgelake-labels-fs-'));
const disk = smallDisk(join(root, 'disk'), '1m');
afterAll(() => {
  disk.unmount();
  rmSync(root, { recursive: true, force: true });
});

/** A file holding two batches ([1, 2] -> [10, 20], then [3] -> [30]); returns its path and the first record's size. */
async function twoBatches(): Promise<{ path: string; first: number }> {
  const path = join(mkdtempSync(join(root, 'case-')), 'labels.bin');
  const store = await FsLabelStore.open(path);
  await store.append({ ids: Uint32Array.of(1, 2), labels: Int32Array.of(10, 20) });
  const first = readFileSync(path).length;
  await store.append({ ids: Uint32Array.of(3), labels: Int32Array.of(30) });
  await store.close();
  return { path, first };
}

const load = async (path: string) => {
  const store = await FsLabelStore.open(path);
  try {
    return (await store.load()).map((b) => [Array.from(b.ids), Array.from(b.labels)]);
  } finally {
    await store.close();
  }
};

describe('FsLabelStore', () => {
  it('a record cut anywhere, or followed by zeros the crash left, is dropped and cut off; the next append follows the last whole one', async () => {
    const { path, first } = await twoBatches();
    const whole = readFileSync(path);
    expect(await load(path)).toEqual([[[1, 2], [10, 20]], [[3], [30]]]);
    for (let cut = first + 1; cut < whole.length; cut++) {
      writeFileSync(path, whole.subarray(0, cut));
      expect(await load(path)).toEqual([[[1, 2], [10, 20]]]);
      expect(readFileSync(path).length).toBe(first);
    }
    appendFileSync(path, new Uint8Array(64)); // a file extended with zeros, as a crash mid-append can leave it
    const store = await FsLabelStore.open(path);
    await store.append({ ids: Uint32Array.of(4), labels: Int32Array.of(40) });
    await store.close();
    expect(await load(path)).toEqual([[[1, 2], [10, 20]], [[4], [40]]]);
  });

  it('refuses a file whose damaged record has more after it, naming the file and the byte, and leaves the file as it was', async () => {
    const { path } = await twoBatches();
    const bytes = readFileSync(path);
    bytes[9] ^= 0x40; // an id of the first record
    writeFileSync(path, bytes);
    await expect(FsLabelStore.open(path)).rejects.toThrow(`label store ${path}: the record at byte 0 is damaged and more follow; refusing to open it (nothing was changed)`);
    expect(Buffer.compare(readFileSync(path), bytes)).toBe(0);
    expect(existsSync(`${path}.lock`), 'a refused open keeps no lock').toBe(false);
  });

  it('a record cut short and followed by zeros the crash left is the last write too: it is cut off', async () => {
    const { path, first } = await twoBatches();
    const whole = readFileSync(path);
    writeFileSync(path, Buffer.concat([whole.subarray(0, whole.length - 3), new Uint8Array(64)]));
    expect(await load(path)).toEqual([[[1, 2], [10, 20]]]);
    expect(readFileSync(path).length).toBe(first);
  });

  it('a damaged magic or count with whole records after it is damage, not a torn write: refused, naming the byte, the file unchanged', async () => {
    const path = join(mkdtempSync(join(root, 'case-')), 'labels.bin');
    const store = await FsLabelStore.open(path);
    for (let b = 0; b < 5; b++) await store.append({ ids: Uint32Array.of(2 * b, 2 * b + 1), labels: Int32Array.of(b, b) });
    await store.close();
    const whole = readFileSync(path);
    const record = 12 + 8 * 2;
    // Record 2's magic, record 2's count (pointing past the end of the file), record 5's magic (nothing after it, but whole: not a torn write).
    for (const [at, byte, flip] of [[record, 0, 0x01], [record, 4, 0x10], [4 * record, 0, 0x01]]) {
      const bytes = Buffer.from(whole);
      bytes[at + byte] ^= flip;
      writeFileSync(path, bytes);
      await expect(FsLabelStore.open(path), `byte ${at + byte}`).rejects.toMatchObject({
        code: 'integrity', message: expect.stringContaining(`label store ${path}: the record at byte ${at} is damaged`),
      });
      expect(Buffer.compare(readFileSync(path), bytes), `byte ${at + byte}`).toBe(0);
      expect(existsSync(`${path}.lock`)).toBe(false);
    }
  });

  it('refuses a second open while a learner, here or in another process, has the file open; opens once it is closed', async () => {
    const { path } = await twoBatches();
    const first = await FsLabelStore.open(path);
    expect(readFileSync(`${path}.lock`, 'utf8')).toBe(`${process.pid} ${hostname()}`);
    await expect(FsLabelStore.open(path)).rejects.toMatchObject({
      code: 'conflict', message: `label store ${path}: process ${process.pid} on ${hostname()} has it open (lock ${path}.lock); one learner writes a file at a time. If that process is not a learner, delete the lock`,
    });
    await first.close();
    expect(existsSync(`${path}.lock`)).toBe(false);
    writeFileSync(`${path}.lock`, `${process.ppid} ${hostname()}`); // the process that started this one is running
    await expect(FsLabelStore.open(path)).rejects.toThrow(`label store ${path}: process ${process.ppid} on ${hostname()} has it open`);
    rmSync(`${path}.lock`);
    expect(await load(path)).toEqual([[[1, 2], [10, 20]], [[3], [30]]]);
  });

  it('takes over a lock left by a process that died without closing the file', async () => {
    const { path } = await twoBatches();
    const { pid } = spawnSync(process.execPath, ['-e', '']); // exited and reaped: its pid names no process
    writeFileSync(`${path}.lock`, `${pid} ${hostname()}`);
    const store = await FsLabelStore.open(path);
    expect(readFileSync(`${path}.lock`, 'utf8')).toBe(`${process.pid} ${hostname()}`);
    await store.append({ ids: Uint32Array.of(4), labels: Int32Array.of(40) });
    await store.close();
    expect(await load(path)).toEqual([[[1, 2], [10, 20]], [[3], [30]], [[4], [40]]]);
  });
});

describe.skipIf(missing('a tmpfs to fill', 'run the tests as root, which may mount -t tmpfs', disk.mounted))('FsLabelStore on a full disk', () => {
  const labels = (n: number, first = 0) => ({ ids: Uint32Array.from({ length: n }, (_, i) => first + i), labels: Int32Array.from({ length: n }, (_, i) => i % 10) });

  it('refuses a batch the disk takes only part of, or none of, keeps every acknowledged one, and appends after them once there is room', async () => {
    const path = join(disk.path, 'labels.bin');
    const store = await FsLabelStore.open(path);
    onTestFinished(() => store.close()); // an open file would keep the disk from unmounting
    await store.append(labels(2)); // 28 bytes
    let free = disk.fill();
    try {
      // 1,000 labels are 8,012 bytes: the rest of the file's page takes part of them, and write(2) returns short, without an error.
      await expect(store.append(labels(1000, 2))).rejects.toMatchObject({
        code: 'storage-full', message: expect.stringMatching(`^label store ${path}: the disk took \\d+ of its 8012 bytes; this batch of 1000 labels was not stored, the 2 before it are kept$`),
      });
      expect(readFileSync(path).length).toBe(28);
      await store.append(labels(507, 2)); // fits the file's page: 4,096 bytes in all
    } finally {
      free();
    }
    free = disk.fill();
    try {
      await expect(store.append(labels(1, 509))).rejects.toMatchObject({
        code: 'storage-full', message: `label store ${path}: the disk is full or over quota (ENOSPC); this batch of 1 labels was not stored, the 509 before it are kept`,
      });
    } finally {
      free();
    }
    await store.append(labels(3, 509));
    await store.close();
    expect((await load(path)).map(([ids]) => ids.length)).toEqual([2, 507, 3]);
    expect(readFileSync(path).length).toBe(4096 + 12 + 24);
  });
});
