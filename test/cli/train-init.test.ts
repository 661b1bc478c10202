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
    expect((await cli('train', dir, '--model', 'mlp', '--epochs', '1', '--device', 'cpu', '--init', base)).stderr).toContain(`--init ${base} takes inputs of [16]; tensor image gives [784] (choose another with --input, or fit images with --input-size)`);
    expect((await cli('train', dir, '--model', 'cnn', '--epochs', '1', '--device', 'cpu', '--init', base)).stderr).toContain(`--init ${base} is a dense model (--model mlp or head), not --model cnn`);
    expect((await cli('train', dir, '--model', 'head', '--epochs', '1', '--freeze', '1')).stderr).toContain('--freeze keeps pretrained layers as they are: give the model with --init FILE (or --resume FILE)');
    expect((await cli('train', dir, '--model', 'head', '--epochs', '1', '--device', 'cpu', '--init', base, '--freeze', '2')).stderr).toContain('fit: every layer with weights is frozen (dense_0, dense_1); nothing would train');
    expect((await cli('train', dir, '--model', 'head', '--init', base, '--freeze', 'all')).stderr).toContain('--freeze must be a whole number of layers, 0 or more, not "all"');
  });

  it('the shipped base CNN: its architecture and weights, its classifier as wide as this dataset\'s classes', { timeout: 120_000 }, async () => {
    // 533 samples (441 to train on): a CNN epoch on the CPU references takes about 14 ms a sample.
    expect((await cli('materialize', dir, 'select * where mean(image) > 120', '--ref', 'bright')).code).toBe(0);
    const shipped = 'models/fashion-mnist-0-4.cnn.safetensors'; // 5 classes, hidden 64 (cnn's default is 128)
    const tuned = await cli('train', dir, '--ref', 'bright', '--epochs', '1', '--device', 'cpu', '--init', shipped, '--freeze', '2', '--json');
    expect(tuned.code, tuned.stderr).toBe(0);
    expect(JSON.parse(tuned.stdout)).toMatchObject({ init: { loaded: ['conv2d_0', 'conv2d_2', 'dense_5'], fresh: ['dense_6'] }, frozen: ['conv2d_0', 'conv2d_2'] });
  });

  it('--freeze 0 trains a resumed model\'s frozen layers again', async () => {
    const [base, frozen] = [join(root, 'base.safetensors'), join(root, 'frozen.safetensors')];
    expect((await cli('train', dir, '--model', 'head', '--epochs', '1', '--device', 'cpu', '--init', base, '--freeze', '1', '--save', frozen)).code).toBe(0);
    const thawed = await cli('train', dir, '--epochs', '1', '--device', 'cpu', '--resume', frozen, '--freeze', '0', '--input', 'embedding', '--json');
    expect(thawed.code, thawed.stderr).toBe(0);
    expect(JSON.parse(thawed.stdout).frozen).toEqual([]);
  });
});
