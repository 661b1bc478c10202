import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededBytes } from './test-server.js';
import { FileSource } from '../../src/node.js';
import { hasCommand, missing } from '../support/system.js';

const chunk = seededBytes(70_000, 11);
let outside: string;
let root: string;

beforeAll(async () => {
  outside = await mkdtemp(join(tmpdir(), 'edgelake-file-'));
  root = join(outside, 'dataset');
  await mkdir(join(root, 'chunks', 'ef'), { recursive: true });
  await writeFile(join(root, 'chunks', 'ef', 'ef01'), chunk);
  await writeFile(join(outside, 'secret.txt'), 'not part of the dataset');
});
afterAll(() => rm(outside, { recursive: true, force: true }));

describe('FileSource', () => {
  it('reads whole files and exact byte ranges', async () => {
    const source = new FileSource(root);
    expect(source.location).toBe(root);
    expect(await source.read('chunks/ef/ef01')).toEqual(chunk);
    expect(await source.readRange('chunks/ef/ef01', 65_536, 4464)).toEqual(chunk.subarray(65_536));
    expect(await source.readRange('chunks/ef/ef01', 5, 0)).toEqual(new Uint8Array(0));
  });

  it('reads a file only if it changed since a validator (its identity, size, mtime and ctime)', async () => {
    const source = new FileSource(root);
    let validator = '';
    await source.read('chunks/ef/ef01', { onValidator: (v) => (validator = v) });
    await expect(source.read('chunks/ef/ef01', { ifChanged: validator })).rejects.toMatchObject({ code: 'not-modified' });
    await writeFile(join(root, 'chunks', 'ef', 'ef02'), 'a');
    await writeFile(join(root, 'chunks', 'ef', 'ef02'), 'ab');
    let changed = '';
    expect(await source.read('chunks/ef/ef02', { ifChanged: validator, onValidator: (v) => (changed = v) })).toEqual(new TextEncoder().encode('ab'));
    expect(changed).not.toBe(validator);
  });

  it('reads again a file rewritten in place with its old size and mtime put back (cp -p, rsync -t --inplace)', async () => {
    const source = new FileSource(root);
    const file = join(root, 'chunks', 'ef', 'ef03');
    const then = new Date('2025-01-01T00:00:00Z');
    await writeFile(file, 'version 1');
    await utimes(file, then, then);
    let validator = '';
    await source.read('chunks/ef/ef03', { onValidator: (v) => (validator = v) });
    await new Promise((r) => setTimeout(r, 20)); // past the kernel's coarse clock, which stamps the ctime
    await writeFile(file, 'version 2');
    await utimes(file, then, then);
    expect(new TextDecoder().decode(await source.read('chunks/ef/ef03', { ifChanged: validator }))).toBe('version 2');
  });

  it('says not-found for a missing file', async () => {
    const source = new FileSource(root);
    await expect(source.read('chunks/ef/missing')).rejects.toMatchObject({ code: 'not-found' });
    await expect(source.read('chunks/ef/ef01/below-a-file')).rejects.toMatchObject({ code: 'not-found' });
  });

  it('names the path and both sizes when a range runs past the end', async () => {
    const error = await new FileSource(root).readRange('chunks/ef/ef01', 69_990, 20).catch((e: Error) => e);
    expect(error).toMatchObject({ code: 'source' });
    expect((error as Error).message).toContain(join(root, 'chunks/ef/ef01'));
    expect((error as Error).message).toMatch(/70000 bytes, the read needs 70010/);
  });

  it('refuses, from its size alone, a file over maxBytes', async () => {
    const source = new FileSource(root);
    await expect(source.read('chunks/ef/ef01', { maxBytes: 69_999 })).rejects.toMatchObject({ code: 'limit' });
    expect(await source.read('chunks/ef/ef01', { maxBytes: 70_000 })).toHaveLength(70_000);
  });

  it('refuses paths that could leave the root', async () => {
    const source = new FileSource(root);
    const hostile = ['../secret.txt', 'chunks/../../secret.txt', join(outside, 'secret.txt'), '..\\secret.txt',
      'C:/Windows/win.ini', '', 'chunks//ef01', './chunks/ef/ef01', 'chunks/ef/ef01\0'];
    for (const path of hostile) {
      await expect(source.read(path), path).rejects.toMatchObject({ code: 'invalid-input' });
    }
  });

  it('refuses nonsense ranges and honours an aborted signal', async () => {
    const source = new FileSource(root);
    await expect(source.readRange('chunks/ef/ef01', -1, 4)).rejects.toMatchObject({ code: 'invalid-input' });
    await expect(source.readRange('chunks/ef/ef01', 0, 1.5)).rejects.toMatchObject({ code: 'invalid-input' });
    const aborted = AbortSignal.abort(new Error('cancelled'));
    await expect(source.read('chunks/ef/ef01', { signal: aborted })).rejects.toThrow('cancelled');
  });
});

describe.skipIf(missing('mkfifo', 'apt-get install coreutils', hasCommand('mkfifo')))('FileSource and files that are not regular files', () => {
  beforeAll(async () => {
    execFileSync('mkfifo', [join(root, 'chunks', 'ef', 'fifo')]);
    await mkdir(join(root, 'chunks', 'ef', 'dir'));
    await symlink('/dev/zero', join(root, 'chunks', 'ef', 'zero'));
  });

  // Before the fix, opening the FIFO waited for a writer forever: the test timeout catches a hang.
  it('refuses a FIFO at once, by name, for whole reads and ranges', { timeout: 5000 }, async () => {
    const source = new FileSource(root);
    const fifo = join(root, 'chunks', 'ef', 'fifo');
    await expect(source.read('chunks/ef/fifo')).rejects.toMatchObject({ code: 'source', message: `${fifo} is a FIFO (named pipe), not a regular file` });
    await expect(source.readRange('chunks/ef/fifo', 0, 4)).rejects.toMatchObject({ code: 'source', message: expect.stringContaining(fifo) });
  });

  it('refuses a directory and a link to a device, naming them', { timeout: 5000 }, async () => {
    const source = new FileSource(root);
    await expect(source.read('chunks/ef/dir')).rejects.toMatchObject({ code: 'source', message: `${join(root, 'chunks/ef/dir')} is a directory, not a regular file` });
    await expect(source.readRange('chunks/ef/zero', 0, 16)).rejects.toMatchObject({ code: 'source', message: `${join(root, 'chunks/ef/zero')} is a character device, not a regular file` });
  });
});
