// edgelake learn --commit --ref R: R must be a branch, and is checked before the run, not after it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSubsetArgs, cli } from '../support/cli.js';
import { openDataset } from '../../src/node.js';

const root = mkdtempSync(join(tmpdir(), 'edgelake-cli-learn-ref-'));
const dir = join(root, 'ds');
let version: string;
beforeAll(async () => {
  expect((await cli(...buildSubsetArgs(dir, '--chunk-kib', '64', '--embedding-dims', '8'))).code).toBe(0);
  version = (await openDataset(dir)).version;
  expect((await cli('tag', dir, 'imported')).code).toBe(0);
}, 60_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

// Enough rounds that a run before the check would show in the progress and the time.
const learn = (ref: string) => cli('learn', dir, '--strategy', 'random', '--labels', '200', '--round', '10', '--epochs', '1', '--device', 'cpu', '--commit', '--ref', ref);

describe('edgelake learn --commit --ref', () => {
  it('a tag is refused at once: tags never move', async () => {
    expect(await learn('imported')).toEqual({
      code: 2, stdout: '',
      stderr: `edgelake learn: --ref imported is a tag, and tags never move: --commit needs a branch (edgelake branch ${dir} NAME --from imported makes one there)\n`,
    });
    expect((await openDataset(dir)).version).toBe(version);
  });

  it('a version id, whole or short, is refused at once: --commit moves a branch', async () => {
    for (const ref of [version, version.slice(0, 12)]) {
      expect(await learn(ref)).toEqual({
        code: 2, stdout: '',
        stderr: `edgelake learn: --ref ${ref} is version ${version}, not a branch: --commit needs a branch to move (edgelake branch ${dir} NAME --from ${ref} makes one there)\n`,
      });
    }
  });

  it('a name that is none of these is reported as openDataset reports it', async () => {
    const r = await learn('nosuch');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`edgelake learn: dataset fashion-mnist-subset: no ref "nosuch" (refs: main; tags: imported)\n`);
  });
});
