// FolderSink writes each file whole or not at all, and says so when the disk is full.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { smallDisk } from '../support/small-disk.js';
import { missing } from '../support/system.js';
import { FolderSink } from '../../src/node.js';

const root = mkdtempSync(join(tmpdir(), 'edgelake-folder-sink-'));
const disk = smallDisk(join(root, 'disk'), '1m');
afterAll(() => {
  disk.unmount();
  rmSync(root, { recursive: true, force: true });
});

describe.skipIf(missing('a tmpfs to fill', 'run the tests as root, which may mount -t tmpfs', disk.mounted))('FolderSink on a full disk', () => {
  it('refuses a file the disk cannot hold, naming it, and leaves no part of it and every file before it as it was', async () => {
    const sink = new FolderSink(join(disk.path, 'dataset'));
    await sink.write('edgelake.json', new TextEncoder().encode('{"v":1}'));
    const big = new Uint8Array(2 << 20).fill(7);
    await expect(sink.write('chunks/ab/abcd', big)).rejects.toMatchObject({
      code: 'storage-full',
      message: `${join(disk.path, 'dataset', 'chunks/ab/abcd')}: cannot write 2097152 bytes: the disk is full or over quota (ENOSPC); every file written before is as it was`,
    });
    expect(readdirSync(join(disk.path, 'dataset', 'chunks', 'ab'))).toEqual([]);
    expect(readFileSync(join(disk.path, 'dataset', 'edgelake.json'), 'utf8')).toBe('{"v":1}');
    await sink.write('chunks/ab/abcd', big.subarray(0, 1000)); // the room the refused file took is free again
    expect(readFileSync(join(disk.path, 'dataset', 'chunks/ab/abcd'))).toHaveLength(1000);
  });
});
