// SIGKILL a labelling process at random moments: no label it acknowledged is lost, none is changed.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSubsetArgs, cli } from '../../../support/cli.js';
import { mulberry32 } from '../../../support/random.js';
import { FsLabelStore } from '../../../../src/node.js';

const script = fileURLToPath(new URL('./teach.child.ts', import.meta.url));
const KILLS = 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const root = mkdtempSync(join(tmpdir(), 'edgelake-teach-kill-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const dir = join(root, 'ds');
beforeAll(async () => {
  expect((await cli(...buildSubsetArgs(dir, '--chunk-kib', '64', '--embedding-dims', '8'))).code).toBe(0);
});

function child(path: string, seed: number) {
  const proc = spawn(process.execPath, ['--import', 'tsx', script, dir, path, String(seed)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let onStart: (labelled: number) => void;
  const started = new Promise<number>((r) => (onStart = r));
  createInterface({ input: proc.stdout }).on('line', (line) => {
    lines.push(line);
    if (line.startsWith('started ')) onStart(Number(line.split(' ')[1]));
  });
  const exited = new Promise<void>((r) => proc.on('close', () => r()));
  const taught = () => lines.filter((l) => l.startsWith('taught ')).flatMap((l) => l.slice(7).split(' ').map((p) => p.split(':').map(Number) as [number, number]));
  return { proc, started, exited, taught };
}

describe('FsLabelStore under an ActiveLearner killed with SIGKILL', () => {
  it(`${KILLS} kills between and during teaches lose no acknowledged label; each restart resumes from all of them`, async () => {
    const path = join(root, 'labels.bin');
    const random = mulberry32(2026);
    const acknowledged = new Map<number, number>();
    for (let kill = 0; kill < KILLS; kill++) {
      const person = child(path, kill);
      const restored = await person.started;
      expect(restored, `restart ${kill} began with fewer labels than were acknowledged`).toBeGreaterThanOrEqual(acknowledged.size);
      await sleep(50 + random() * 400);
      person.proc.kill('SIGKILL');
      await person.exited;
      for (const [id, label] of person.taught()) {
        expect(acknowledged.has(id), `sample ${id} was taught twice`).toBe(false);
        acknowledged.set(id, label);
      }
    }
    const store = await FsLabelStore.open(path);
    const stored = new Map<number, number>();
    for (const b of await store.load()) b.ids.forEach((id, i) => stored.set(id, b.labels[i]));
    await store.close();
    for (const [id, label] of acknowledged) expect(stored.get(id), `sample ${id}'s acknowledged label`).toBe(label);
    // Stored but not acknowledged: a teach killed after its labels were written; they are answers all the same.
    for (const [id, label] of stored) expect(label).toBe((id * 7 + 3) % 10);
    expect(acknowledged.size, 'the kills left no time to teach').toBeGreaterThan(0);
    console.log(`teach kill test: ${KILLS} kills, ${acknowledged.size} labels acknowledged, ${stored.size} stored`);
  }, 120_000);
});
