import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { buildSubsetArgs, cli, FASHION_CLASSES } from '../support/cli.js';

const out = mkdtempSync(join(tmpdir(), 'edgelake-cli-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('edgelake build idx + inspect', () => {
  it('builds the bundled subset with an embedding probe and inspects it as JSON', async () => {
    const built = await cli(...buildSubsetArgs(join(out, 'ds'), '--chunk-kib', '256', '--embedding-dims', '16'));
    expect(built.code).toBe(0);
    expect(built.stdout).toMatch(/^wrote .* version [0-9a-f]{64} \(6000 samples\)/);
    expect(built.stderr).toMatch(/building 100% 6000\/6000/);

    const inspected = await cli('inspect', join(out, 'ds'), '--json');
    expect(inspected.code).toBe(0);
    const info = JSON.parse(inspected.stdout);
    expect(info.length).toBe(6000);
    expect(info.splits).toEqual({ train: [[0, 5000]], test: [[5000, 6000]] });
    expect(info.tensors.image).toMatchObject({ dtype: 'uint8', shape: [28, 28, 1], chunkCompression: 'deflate' });
    // 5000+1000 images of 784 bytes in chunks of about 256 KiB before compression: 18 chunks.
    expect(info.tensors.image.chunks).toBe(Math.ceil((6000 * 784) / (256 * 1024 + 784)));
    expect(info.tensors.label).toMatchObject({ dtype: 'int32', shape: [], chunks: 1 });
    expect(info.tensors.label.classNames[0]).toBe('T-shirt/top');
    expect(info.tensors.embedding).toMatchObject({ dtype: 'int8', shape: [16] });
    expect(info.tensors.embedding.bytes).toBeGreaterThan(6000 * 16);
  });

  it('prints a readable table without --json', async () => {
    const { code, stdout } = await cli('inspect', join(out, 'ds'));
    expect(code).toBe(0);
    expect(stdout).toMatch(/dataset fashion-mnist-subset/);
    expect(stdout).toMatch(/splits\s+train \[0, 5000\), test \[5000, 6000\)/);
    expect(stdout).toMatch(/image\s+image\s+uint8\s+\[28, 28, 1\]\s+chunk deflate/);
    expect(stdout).toContain(`classes of label (10): ${FASHION_CLASSES.split(',').join(', ')}\n`); // not only with --json
  });

  it('rebuilding the same inputs changes nothing', async () => {
    const again = await cli(...buildSubsetArgs(join(out, 'ds'), '--chunk-kib', '256', '--embedding-dims', '16'));
    expect(again.stdout).toMatch(/^unchanged:/);
  });

  it('a build into an existing dataset keeps its name, as --help says, whatever --name says', async () => {
    const ds = join(out, 'named');
    const name = async () => JSON.parse((await cli('inspect', ds, '--json')).stdout).name as string;
    expect((await cli(...buildSubsetArgs(ds, '--name', 'first'))).code).toBe(0);
    expect((await cli(...buildSubsetArgs(ds, '--name', 'second'))).code).toBe(0);
    expect(await name()).toBe('first');
  });

  it('bad input is a clear error with exit code 2, naming what was wrong', async () => {
    expect(await cli('build', 'idx', '--out', out)).toMatchObject({ code: 2, stderr: expect.stringMatching(/--train-images is required/) });
    expect(await cli(...buildSubsetArgs(join(out, 'x'), '--chunk-kib', 'lots'))).toMatchObject({ code: 2, stderr: expect.stringMatching(/--chunk-kib must be a positive integer up to 131072, not "lots"/) });
    const wrongPair = buildSubsetArgs(join(out, 'y')).map((a) => (a.endsWith('.gz') ? a.replace('train-labels', 't10k-labels') : a));
    expect(await cli(...wrongPair)).toMatchObject({ code: 2, stderr: expect.stringMatching(/has 5000 images but .*t10k-labels.* has 1000 labels/) });
    expect(await cli('inspect', join(out, 'missing'))).toMatchObject({ code: 1, stderr: expect.stringMatching(/edgelake\.json/) });
    expect(await cli('frobnicate')).toMatchObject({ code: 2, stderr: expect.stringMatching(/usage:/) });
  });

  it('refuses a bad --name, --ref, --created or --embedding-dims, or a stray argument, before writing anything', async () => {
    const cases: [string[], string][] = [
      [['--name', ''], '--name must have 1 to 200 characters, not 0'], // edgelake.json would hold a name no reader opens
      [['--ref', ''], '--ref "" must match ^[A-Za-z0-9._-]{1,100}$'],
      [['--created', 'notadate'], '--created must be a UTC time like 2026-11-21T12:00:00Z, not "notadate"'],
      [['--created', '2023-02-30T00:00:00Z'], 'not "2023-02-30T00:00:00Z"'],
      [['--embedding-dims', '5000'], '--embedding-dims must be at most 784, the pixels of an image, not 5000'],
      [['stray'], 'unexpected argument "stray"\nusage: edgelake build idx '],
    ];
    for (const [extra, message] of cases) {
      const r = await cli(...buildSubsetArgs(join(out, 'refused'), ...extra));
      expect([r.code, r.stderr], extra.join(' ')).toEqual([2, expect.stringContaining(message)]);
    }
    expect(existsSync(join(out, 'refused'))).toBe(false);
  });

  it('runs as the `edgelake` bin', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', 'inspect', join(out, 'ds'), '--json']);
    expect(JSON.parse(stdout).length).toBe(6000);
  });
});
