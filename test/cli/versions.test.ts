// edgelake log / diff / branch / tag / checkout on a folder, and how each says it was misused.
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSubsetArgs, cli } from '../support/cli.js';
import { commitDataset } from '../../src/index.js';
import { FolderSink, openDataset } from '../../src/node.js';

const root = mkdtempSync(join(tmpdir(), 'edgelake-cli-versions-'));
const dir = join(root, 'ds');
let first: string;
let second: string;
beforeAll(async () => {
  expect((await cli(...buildSubsetArgs(dir, '--chunk-kib', '64', '--embedding-dims', '8'))).code).toBe(0);
  const parent = await openDataset(dir);
  first = parent.version;
  second = (await commitDataset(parent, new FolderSink(dir), { update: { label: { ids: [42, 7], values: Int32Array.of(0, 1) } }, message: 'two labels' })).versionId;
}, 60_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));
const refsFile = () => JSON.parse(readFileSync(join(dir, 'edgelake.json'), 'utf8'));

describe('edgelake versions commands', () => {
  it('tag, branch and checkout move edgelake.json; log lists the history with its names', async () => {
    expect(await cli('tag', dir, 'imported', first)).toEqual({ code: 0, stdout: `tag imported -> ${first}\n`, stderr: '' });
    expect((await cli('branch', dir, 'review', '--from', 'imported')).stdout).toBe(`branch review -> ${first}\n`);
    expect((await cli('checkout', dir, 'review')).code).toBe(0);
    expect(refsFile()).toMatchObject({ head: 'review', refs: { main: second, review: first }, tags: { imported: first } });

    const log = await cli('log', dir, '--ref', 'main', '--json');
    expect(log.code, log.stderr).toBe(0);
    expect(JSON.parse(log.stdout).map((v: { version: string; refs: string[]; tags: string[]; head: boolean }) => [v.version, v.refs, v.tags, v.head]))
      .toEqual([[second, ['main'], [], false], [first, ['review'], ['imported'], true]]);
    const text = await cli('log', dir);
    expect(text.stdout).toBe(`version ${first}  (review, tag imported, head)\ncreated 2017-08-25T00:00:00Z  6000 samples\n    import fashion-mnist-subset from IDX\n\n`);
    expect((await cli('checkout', dir, 'main')).code).toBe(0);
  });

  it('log --max shows the newest N; a missing parent stops the log after what it could read, as git log does', async () => {
    expect((await cli('log', dir, '--ref', 'main', '--max', '1')).stdout).toMatch(new RegExp(`^version ${second}  \\(main, head\\)\n[^]*two labels\n\n$`));
    const broken = join(root, 'broken');
    cpSync(dir, broken, { recursive: true });
    rmSync(join(broken, 'versions', `${first}.json`));
    const r = await cli('log', broken, '--ref', 'main');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`version ${second}  (main, head)`);
    expect(r.stderr).toContain(`version ${second}'s parent ${first}`);
  });

  it('diff names the changed ids, in text and JSON', async () => {
    const json = await cli('diff', dir, first, 'main', '--json');
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ from: first, to: second, added: 0, removed: 0, changed: { label: [7, 42], image: [], embedding: [] } });
    expect((await cli('diff', dir, first, second)).stdout).toContain('tensor label: 2 changed: 7, 42\n');
  });

  it('misuse: an unknown ref, a name that exists, a tag as head, missing arguments: exit 2 and a message that says which', async () => {
    const misuse: [string[], RegExp][] = [
      [['log', dir, '--ref', 'nope'], /^edgelake log: dataset fashion-mnist-subset: no ref "nope" \(refs: main/],
      [['diff', dir, 'main', 'nope'], /no ref "nope"/],
      [['branch', dir, 'main'], /^edgelake branch: dataset fashion-mnist-subset: main is already a ref \(a branch name must be new\)/],
      [['branch', dir, 'x', '--from', 'nope'], /no ref "nope"/],
      [['tag', dir, 'main'], /main is already a ref/],
      [['checkout', dir, 'nope'], /no ref "nope"/],
      [['diff', dir, 'main'], /usage: edgelake diff ROOT A B/],
    ];
    for (const [args, message] of misuse) {
      const r = await cli(...args);
      expect([r.code, r.stdout], args.join(' ')).toEqual([2, '']);
      expect(r.stderr).toMatch(message);
    }
    const tagged = await cli('checkout', dir, 'imported');
    expect([tagged.code, tagged.stderr]).toEqual([2, expect.stringContaining('imported is a tag, not a ref: head must be a ref (make one there: edgelake branch ROOT NAME --from imported)')]);
    expect(refsFile().head).toBe('main');
  });
});
