import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { mulberry32 } from './random-chunks.js';
import { FsChunkStore } from '../../src/node.js';
import { sha256Hex } from '../../src/format/index.js';

const script = fileURLToPath(new URL('./fill-cache.child.ts', import.meta.url));
const KILLS = 30;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts fill-cache.child.ts; `lines` collects what it prints, `started` resolves once its store is open. */
function child(...args: string[]) {
  const proc = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let onStart: () => void;
  const started = new Promise<void>((r) => (onStart = r));
  createInterface({ input: proc.stdout }).on('line', (line) => {
    lines.push(line);
    if (line === 'started') onStart();
  });
  const exited = new Promise<number | null>((r) => proc.on('close', (code) => r(code)));
  return { proc, lines, started, exited, puts: () => lines.filter((l) => l.startsWith('put ')).map((l) => l.slice(4)) };
}

/**
 * Reads every file under chunks/ straight from the disk: each must be named by its own SHA-256
 * and sit in the folder of its first two hex digits. Returns the hashes found.
 */
async function verifyEveryEntry(dir: string): Promise<Set<string>> {
  const found = new Set<string>();
  for (const shard of readdirSync(join(dir, 'chunks'))) {
    for (const name of readdirSync(join(dir, 'chunks', shard))) {
      expect(name.slice(0, 2), `chunks/${shard}/${name} is in the wrong folder or not a chunk`).toBe(shard);
      expect(await sha256Hex(readFileSync(join(dir, 'chunks', shard, name))), `chunks/${shard}/${name} is corrupt`).toBe(name);
      found.add(name);
    }
  }
  return found;
}

const dirs: string[] = [];
function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgelake-crash-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('FsChunkStore across processes', () => {
  it('loses and corrupts nothing when a filling process is killed with SIGKILL at random moments', async () => {
    const dir = freshDir();
    const random = mulberry32(20240601);
    const reported = new Set<string>();
    let killedMidWrite = 0;
    for (let round = 0; round < KILLS; round++) {
      // Seeds repeat, so some kills land while a chunk that is already stored is being replaced.
      const filler = child('fill', dir, String(round % 6), '0');
      await filler.started;
      await sleep(20 + (random() % 381));
      filler.proc.kill('SIGKILL');
      await filler.exited;
      filler.puts().forEach((h) => reported.add(h));
      if (readdirSync(join(dir, 'tmp')).length > 0) killedMidWrite++; // the next open removes it
    }
    expect(killedMidWrite, 'no kill landed inside a write').toBeGreaterThan(0);

    const store = await FsChunkStore.open(dir);
    expect(readdirSync(join(dir, 'tmp')), 'the killed writers left temp files behind').toEqual([]);
    const found = await verifyEveryEntry(dir);
    for (const hash of reported) expect(found.has(hash), `${hash} was reported stored, then lost`).toBe(true);
    expect((await store.usage()).entries).toBe(found.size);
    await store.close();
    const verify = await cli('cache', 'verify', '--cache', dir, '--json');
    expect(JSON.parse(verify.stdout)).toMatchObject({ entries: found.size, corrupt: 0 });

    // The next run, left alone, completes and adds its chunks.
    const last = child('fill', dir, '99', '8');
    expect(await last.exited).toBe(0);
    const after = await verifyEveryEntry(dir);
    expect(last.puts()).toHaveLength(8);
    for (const hash of last.puts()) expect(after.has(hash)).toBe(true);
    console.log(`crash test: ${killedMidWrite} of ${KILLS} kills mid-write, ${reported.size} chunks reported, ${found.size} on disk after, ${after.size} after the last run`);
  }, 60_000);

  it('3 processes filling and evicting while 2 read the same folder: every read is exact or undefined', async () => {
    const dir = freshDir();
    const churners = [1, 2, 3].map((seed) => child('churn', dir, String(seed), '300'));
    const readers = [4, 5].map((seed) => child('read', dir, String(seed), '100'));
    const procs = [...churners, ...readers];
    await Promise.all(procs.map((p) => p.started));
    procs.forEach((p) => p.proc.stdin!.write('go\n'));
    expect(await Promise.all(churners.map((p) => p.exited))).toEqual([0, 0, 0]);
    readers.forEach((p) => p.proc.stdin!.end()); // readers stop once the churn is over
    expect(await Promise.all(readers.map((p) => p.exited))).toEqual([0, 0]);
    const summaries = procs.map((p) => JSON.parse(p.lines.at(-1)!));
    console.log(`sharing test: ${JSON.stringify(summaries)}`);
    for (const s of summaries) expect(s.errors).toEqual([]);
    for (const s of summaries.filter((s) => s.mode === 'churn')) expect(s.puts).toBeGreaterThan(0);
    for (const s of summaries.filter((s) => s.mode === 'read')) {
      expect(s.wrong).toBe(0);
      expect(s.whole).toBeGreaterThan(0);
    }
    await verifyEveryEntry(dir);
    expect(readdirSync(join(dir, 'tmp'))).toEqual([]);
  }, 30_000);
});
