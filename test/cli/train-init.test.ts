// edgelake train --init FILE --freeze N: a new task started from a saved model's layers.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSubsetArgs, cli } from '../support/cli.js';

const root = mkdtempSync(join(tmpdir(), 'edgelake-train-init-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const dir = join(root, 'ds');
beforeAll(async () => {
  expect((await cli(...buildSubsetArgs(dir, '--chunk-kib', '64', '--embedding-dims', '16'))).code).toBe(0);
});

describe('edgelake train --init', () => {
  it('loads every layer the file shares by name, starts the classifier afresh, freezes the first N layers with weights', async () => {
    const base = join(root, 'base.safetensors');
    const first = await cli('train', dir, '--model', 'head', '--epochs', '1', '--device', 'cpu', '--save', base, '--json');
    expect(first.code, first.stderr).toBe(0);
    const tuned = await cli('train', dir, '--model', 'head', '--epochs', '1', '--device', 'cpu', '--init', base, '--freeze', '1', '--json');
    expect(tuned.code, tuned.stderr).toBe(0);
    expect(JSON.parse(tuned.stdout)).toMatchObject({ init: { file: base, loaded: ['dense_0'], fresh: ['dense_1'] }, frozen: ['dense_0'] });
    const said = await cli('train', dir, '--model', 'head', '--epochs', '1', '--device', 'cpu', '--init', base);
    expect(said.stderr).toContain(`--init ${base}: loaded dense_0; fresh dense_1`);
  });

  it('refuses what cannot work, saying why', async () => {
    const base = join(root, 'base.safetensors');
    expect((await cli('train', dir, '--model', 'head', '--init', base, '--resume', base)).stderr).toContain('--init starts a new training from pretrained weights, --resume goes on with a saved one: give one of them');
    expect((await cli('train', dir, '--model', 'mlp', '--epochs', '1', '--device', 'cpu', '--init', base)).stderr).toContain(`${base}: tensor dense_0.weight is [16, 128], the model needs [784, 256]; skip layer dense_0 to start it afresh`);
    expect((await cli('train', dir, '--model', 'head', '--epochs', '1', '--device', 'cpu', '--init', base, '--freeze', '2')).stderr).toContain('fit: every layer with weights is frozen (dense_0, dense_1); nothing would train');
    expect((await cli('train', dir, '--model', 'head', '--init', base, '--freeze', 'all')).stderr).toContain('--freeze must be a positive integer, not "all"');
  });
});
