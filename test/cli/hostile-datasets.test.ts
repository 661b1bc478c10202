// Issue 16 end to end: hostile datasets made from the bundled subset, given to the `edgelake`
// command. Each must end fast with exit code != 0 and one clear line (no stack trace, no hang),
// or, where the format allows what looks hostile (overlapping splits), just work within bounds.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunkPath } from '../../src/format/index.js';
import { buildSubsetArgs, cli } from '../support/cli.js';
import { hasCommand, missing } from '../support/system.js';
import { editChunk, editManifest, head, int32, putManifest } from '../format/tamper.js';

const root = mkdtempSync(join(tmpdir(), 'edgelake-cli-hostile-'));
const base = join(root, 'base');
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeAll(async () => {
  expect((await cli(...buildSubsetArgs(base, '--chunk-kib', '256'))).code).toBe(0);
}, 60_000);

let copies = 0;
/** A fresh copy of the subset to tamper with. */
function dataset(): string {
  const dir = join(root, `ds${copies++}`);
  cpSync(base, dir, { recursive: true });
  return dir;
}

/** A refusal as the tester wants it: a failing exit code and one error line (after any progress), no stack trace. */
function expectClearFailure(r: { code: number; stderr: string }, ...mentions: (string | RegExp)[]): void {
  expect(r.code, r.stderr).not.toBe(0);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  const last = r.stderr.trimEnd().split('\n').at(-1)!;
  expect(last).toMatch(/^edgelake \w+: /);
  expect(r.stderr.split('\n').filter((l) => l.startsWith('edgelake '))).toEqual([last]);
  for (const m of mentions) expect(`${last}\n`).toMatch(m);
}

describe('item 4: a split of a million copies of one range', () => {
  it('streams the 5000 samples it names, with bounded memory, and inspect prints a short line', async () => {
    const dir = dataset();
    editManifest(dir, (m) => { m.splits.train = Array.from({ length: 1_000_000 }, () => [0, 5000]); });
    // Before: RangeError "Invalid typed array length: 5000000000" with a stack trace.
    const peak = () => process.resourceUsage().maxRSS * 1024;
    const before = Math.max(peak(), process.memoryUsage().rss);
    const r = await cli('stream', dir, '--split', 'train', '--workers', '0');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^5000 samples: /);
    expect(peak() - before, 'the 5e9 ids of the old view were 20 GB').toBeLessThan(1024 * 2 ** 20);

    const inspected = await cli('inspect', dir);
    expect(inspected.code).toBe(0);
    expect(inspected.stdout).toMatch(/splits\s+train \[0, 5000\) \[0, 5000\) \[0, 5000\) \[0, 5000\) \.\.\. \(1000000 ranges\), test \[5000, 6000\)\n/);
  }, 60_000);
});

describe.skipIf(missing('mkfifo', 'apt-get install coreutils', hasCommand('mkfifo')))('item 5: a FIFO in a local dataset', () => {
  const fifoFor = (dir: string, tensor: string): string => {
    const file = join(dir, chunkPath(head(dir).manifest.tensors[tensor].chunks[0].hash));
    rmSync(file);
    execFileSync('mkfifo', [file]);
    return file;
  };

  // Before: stream and fetch waited for a writer forever (the test timeout catches that).
  it('stream and fetch refuse it at once, naming the file', { timeout: 20_000 }, async () => {
    const dir = dataset();
    const fifo = fifoFor(dir, 'label');
    const expected = `${fifo} is a FIFO (named pipe), not a regular file`;
    expectClearFailure(await cli('stream', dir, '--workers', '0'), expected);
    expectClearFailure(await cli('stream', dir, '--workers', '1'), expected);
    expectClearFailure(await cli('fetch', dir, '--cache', join(dir, '..', `${copies}-cache`)), expected);
  });

  it('so does inspect, for an edgelake.json that is a FIFO', { timeout: 20_000 }, async () => {
    const dir = dataset();
    rmSync(join(dir, 'edgelake.json'));
    execFileSync('mkfifo', [join(dir, 'edgelake.json')]);
    expectClearFailure(await cli('inspect', dir), `${join(dir, 'edgelake.json')} is a FIFO`);
  });
});

describe('item 7: class labels 99, -5 and 2^31-1 with 10 classNames', () => {
  let dir: string;
  beforeAll(async () => {
    dir = dataset();
    await editChunk(dir, 'label', 0, (labels) => {
      labels[7] = int32(99);
      labels[8] = int32(-5);
      labels[9] = int32(2 ** 31 - 1);
    });
  });
  const expected = /^edgelake \w+: dataset fashion-mnist-subset, version [0-9a-f]{12}, tensor label, chunk 0(, file .*)?: sample 7 has label 99, but the tensor has 10 classNames \(labels 0 to 9\)\n$/;

  it('stream refuses the chunk, naming dataset, tensor, chunk, sample and label', { timeout: 30_000 }, async () => {
    expectClearFailure(await cli('stream', dir, '--workers', '0'), expected);
    expectClearFailure(await cli('stream', dir, '--workers', '2', '--seed', '1'), expected);
  });

  it('train fails instead of training on them (it exited 0)', { timeout: 60_000 }, async () => {
    expectClearFailure(await cli('train', dir, '--model', 'mlp', '--epochs', '1', '--device', 'cpu'), expected);
  });
});

describe('item 8: refs and manifests that JSON.parse would take', () => {
  it('an edgelake.json linked to another file is refused without quoting that file', async () => {
    const dir = dataset();
    writeFileSync(join(root, 'passwd'), 'root:x:0:0:root:/root:/bin/bash\nadmin:secret-hash:1000:1000::/home/admin:/bin/sh\n');
    rmSync(join(dir, 'edgelake.json'));
    symlinkSync(join(root, 'passwd'), join(dir, 'edgelake.json'));
    const r = await cli('inspect', dir);
    expectClearFailure(r, `${join(dir, 'edgelake.json')}: not valid UTF-8 JSON (line 1, column 1: expected a value)`);
    expect(r.stderr).not.toMatch(/root|secret/);
  });

  it('a key twice in edgelake.json or in a manifest is refused, naming the file and the key', async () => {
    const dir = dataset();
    const { id, file } = head(dir);
    writeFileSync(join(dir, 'edgelake.json'), `{"format": "edgelake/1", "name": "a", "name": "b", "head": "main", "refs": {"main": "${id}"}}`);
    expectClearFailure(await cli('inspect', dir), join(dir, 'edgelake.json'), /has the key "name" twice in one object/);

    const text = JSON.stringify(head(dir).manifest).replace('"length":6000', '"length":6000,"length":5000');
    const twice = putManifest(dir, new TextEncoder().encode(text));
    expect(twice).not.toBe(id);
    expectClearFailure(await cli('inspect', dir), join(dir, 'versions', `${twice}.json`), /has the key "length" twice in one object/);
    expect(file).toContain(id);
  });
});

describe('a views.json that is not JSON', () => {
  // Before: a SyntaxError from JSON.parse, with its stack.
  it('views and query --save refuse it in one line, naming views.json', async () => {
    const dir = dataset();
    writeFileSync(join(dir, 'views.json'), '{"threes": ');
    const expected = 'views.json: not valid UTF-8 JSON (line 1, column 12: ends where a value should be)';
    expectClearFailure(await cli('views', dir), expected);
    expectClearFailure(await cli('query', dir, 'select * where label == 3 limit 4', '--save', 'threes'), expected);
  });
});
