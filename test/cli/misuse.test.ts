// Misuse gets a message that says what was wrong and what to do, and changes nothing.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildSubsetArgs, cli } from '../support/cli.js';
import { commands } from '../../src/cli/main.js';
import { indexUsage } from '../../src/cli/index-cmd.js';
import { mlp } from '../../src/index.js';
import { encodePng } from '../format/image/png-encoder.js';

const root = mkdtempSync(join(tmpdir(), 'edgelake-misuse-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the edgelake command, misused', () => {
  it('names the mistake', async () => {
    const cases: [string[], string][] = [
      [['learn', root, '--plot', 'curves.png'], '--plot draws SVG: name the file .svg, not curves.png'],
      [['cache', 'stats', '--cache', join(root, 'nope')], `no cache folder at ${join(root, 'nope')} (edgelake fetch --cache ${join(root, 'nope')}, or --budget SIZE, makes one)`],
      [['inspect', '127.0.0.1:18080/fashion-mnist'], '"127.0.0.1:18080/fashion-mnist" is not a folder; a URL needs its scheme: http://127.0.0.1:18080/fashion-mnist'],
      [['inspect', root], `no dataset at ${root}: it has no edgelake.json (a dataset's root folder or URL prefix holds edgelake.json;`],
      [['fetch', root], 'fetch fills a cache folder: give it with --cache DIR (edgelake fetch --help)'],
      [['build', 'imagefolder', root], '--out is missing: the folder to write the dataset into'],
    ];
    for (const [argv, message] of cases) {
      const r = await cli(...argv);
      expect(r.code, argv.join(' ')).not.toBe(0);
      expect(r.stderr, argv.join(' ')).toContain(message);
    }
    expect(existsSync(join(root, 'nope'))).toBe(false); // looking did not make one
  });

  it('a file system error is one line and exit 1, not a stack trace; a bug still throws', async () => {
    writeFileSync(join(root, 'a-file'), '');
    const notDir = await cli('tag', join(root, 'a-file'), 'v1');
    expect(notDir).toMatchObject({ code: 1, stderr: `edgelake tag: ENOTDIR: not a directory, open '${join(root, 'a-file', 'edgelake.json')}'\n` });
    // A TypeError has no system code: it is a bug, and stays visible with its stack.
    const inspect = commands.inspect.run;
    commands.inspect.run = async () => { throw new TypeError('x is undefined'); };
    try {
      await expect(cli('inspect', root)).rejects.toThrow(TypeError);
    } finally {
      commands.inspect.run = inspect;
    }
  });

  it('index: names a missing --out folder before reading anything; its usage says PATTERN once', async () => {
    const out = join(root, 'no-folder', 'shards.edgelake-index.json.gz');
    expect(await cli('index', join(root, 'shards-{000..001}.tar'), '--out', out)).toMatchObject({ code: 2, stderr: `edgelake index: --out: no folder ${join(root, 'no-folder')} to write ${out} into\n` });
    const r = await cli('index', 'notes.txt');
    expect(r).toMatchObject({ code: 2, stderr: `edgelake index: usage: ${indexUsage}\n` });
    expect(r.stderr.match(/PATTERN:/g)).toHaveLength(1);
  });

  it('shard paths the shell expanded from an unquoted pattern: says to quote it, not a bare usage line', async () => {
    const expanded = ['a/train-000.tar', 'a/train-001.tar', 'a/train-002.tar'];
    for (const argv of [['index', ...expanded], ['build', 'native', ...expanded, '--out', join(root, 'x')], ['inspect', ...expanded], ['stream', ...expanded], ['train', ...expanded]]) {
      const r = await cli(...argv);
      expect([r.code, r.stderr], argv[0]).toEqual([2, expect.stringContaining("3 shard paths given: quote the pattern ('train-{000..099}.tar') so the shell does not expand it")]);
    }
  });

  it('images of any size: index shows their shape as inspect does, and a probe on them says what to do', async () => {
    const members = join(root, 'any-size');
    mkdirSync(members);
    [[4, 4], [6, 5]].forEach(([width, height], i) => {
      writeFileSync(join(members, `s${i}.png`), encodePng({ width, height, colorType: 2, bitDepth: 8, samples: new Uint16Array(width * height * 3).fill(90) }));
      writeFileSync(join(members, `s${i}.cls`), String(i));
    });
    execFileSync('tar', ['-cf', join(root, 'photos-000.tar'), '-C', members, 's0.cls', 's0.png', 's1.cls', 's1.png']);
    const shards = join(root, 'photos-{000..000}.tar');
    const indexed = await cli('index', shards, '--out', join(root, 'photos.edgelake-index.json.gz'));
    expect([indexed.code, indexed.stdout], indexed.stderr).toEqual([0, expect.stringContaining('png [?, ?, 3]')]);
    const r = await cli('build', 'native', shards, '--out', join(root, 'photos-native'), '--embedding-dims', '4');
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining('tensor png has images of any size [?, ?, 3]: a PCA probe needs images of one size; fit it on a fixed-size image tensor such as a thumbnail (--embedding-from TENSOR)')]);
  });

  it('a number out of range, or a flag without the one it goes with, is refused naming both, before any work (exit 2)', async () => {
    const native = ['build', 'native', root, '--out', join(root, 'native')];
    const cases: [string[], string][] = [
      [['stream', root, '--seed', 'abc'], '--seed must be a whole number from 0 to 4294967295, not "abc"'],
      [['stream', root, '--seed', '4294967296'], '--seed must be a whole number from 0 to 4294967295, not "4294967296"'],
      [['train', root, '--device', 'cpu', '--seed=-1'], '--seed must be a whole number from 0 to 4294967295, not "-1"'],
      [['learn', root, '--device', 'cpu', '--seed', '1.5'], '--seed must be a whole number from 0 to 4294967295, not "1.5"'], // not randomSelect's words
      [['stream', root, '--workers', 'many'], '--workers must be a whole number 0 or more, not "many"'],
      [['train', root, '--device', 'cpu', '--workers', '1.5'], '--workers must be a whole number 0 or more, not "1.5"'],
      [['stream', root, '--window-chunks', '8'], '--window-chunks needs --seed'],
      [['learn', root, '--device', 'cpu', '--byte-budget', '1M'], '--byte-budget needs --cost-aware'],
      [[...native, '--embedding-from', 'image'], '--embedding-from needs --embedding-dims'],
      [[...native, '--embedding-dims', 'NaN'], '--embedding-dims must be a positive integer, not "NaN"'],
      [[...native, '--embedding-dims', '0'], '--embedding-dims must be a positive integer, not "0"'],
      [[...native, '--name', ''], '--name must have 1 to 200 characters, not 0'],
      [['build', 'imagefolder', root, '--out', join(root, 'imgs'), '--thumbnail', '100000'], '--thumbnail must be a positive integer up to 1024, not "100000"'],
      [['build', 'imagefolder', root, '--out', join(root, 'imgs'), '--chunk-kib', '300000'], '--chunk-kib must be a positive integer up to 131072, not "300000"'],
      [['index', join(root, 'a-{000..001}.tar'), '--chunk-kib', '0'], '--chunk-kib must be a positive integer up to 131072, not "0"'],
      ...['', 'abc', '1', '-0.1', '0.5x'].map((f): [string[], string] => [['build', 'imagefolder', root, '--out', join(root, 'imgs'), `--test-fraction=${f}`], `--test-fraction must be a share from 0 up to (not including) 1, like 0.1, not "${f}"`]),
    ];
    for (const [argv, message] of cases) {
      const r = await cli(...argv);
      expect([r.code, r.stderr], argv.join(' ')).toEqual([2, expect.stringContaining(message)]);
    }
  });

  it('refuses before the work what it can know then: an unknown --embedding-from or too wide a probe before the copy, a byte budget that buys no sample', async () => {
    const ds = join(root, 'subset');
    expect((await cli(...buildSubsetArgs(ds))).code).toBe(0);
    const unknown = await cli('build', 'native', ds, '--out', join(root, 'copy'), '--embedding-dims', '4', '--embedding-from', 'pixels');
    expect([unknown.code, unknown.stderr]).toEqual([2, expect.stringContaining('has no tensor "pixels" (tensors: image, label)')]);
    expect(existsSync(join(root, 'copy'))).toBe(false);
    const wide = await cli('build', 'native', ds, '--out', join(root, 'copy'), '--embedding-dims', '785');
    expect([wide.code, wide.stderr]).toEqual([2, expect.stringContaining('embedding dimensions must be an integer in [1, 784], got 785')]);
    expect(existsSync(join(root, 'copy'))).toBe(false);
    const poor = await cli('learn', ds, '--cost-aware', '--byte-budget', '1', '--labels', '20', '--round', '10', '--epochs', '1', '--device', 'cpu');
    expect([poor.code, poor.stderr]).toEqual([2, expect.stringMatching(/--byte-budget 1 B is too small for one round: it fetches no sample \(the smallest image chunk is [\d.]+ KiB\)/)]);
  });

  it('bald on a model without dropout is refused, not ~0 for every sample', async () => {
    const model = mlp({ layers: [4, 8, 3], seed: 1 });
    await expect(model.uncertainty(new Float32Array(8), 2, 'bald')).rejects.toThrow('bald with 10 passes is MC dropout, and this model has no dropout layer');
    const dropout = mlp({ layers: [4, 8, 3], seed: 1, dropout: 0.5 });
    expect((await dropout.uncertainty(Float32Array.from({ length: 8 }, (_, i) => i), 2, 'bald')).length).toBe(2);
    model.dispose();
    dropout.dispose();
  });
});
