// Training on data whose labels are not a tensor called `label` with class names: WebDataset
// shards of PNGs and .cls members, as webdataset's own examples store them.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { mulberry32 } from '../support/random.js';
import { encodePng } from '../format/image/png-encoder.js';
import { loadModel } from '../../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'edgelake-train-labels-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A shard of `n` PNGs of any size (bright for odd classes) with their .cls, written by GNU tar. */
function shard(name: string, n: number, seed: number): void {
  const members = join(root, `${name}.members`);
  mkdirSync(members);
  const random = mulberry32(seed);
  for (let i = 0; i < n; i++) {
    const [width, height, label] = [6 + Math.floor(random() * 10), 6 + Math.floor(random() * 10), i % 4];
    const samples = Uint16Array.from({ length: width * height * 3 }, () => (label % 2 ? 200 : 30) + Math.floor(random() * 40));
    const key = `s${String(i).padStart(4, '0')}`;
    writeFileSync(join(members, `${key}.png`), encodePng({ width, height, colorType: 2, bitDepth: 8, samples }));
    writeFileSync(join(members, `${key}.cls`), String(label));
  }
  execFileSync('tar', ['-cf', join(root, `${name}.tar`), '-C', members, ...readdirSync(members).sort()]);
}

describe('edgelake train --input/--label on WebDataset shards', () => {
  beforeAll(() => {
    shard('train-000', 96, 1);
    shard('test-000', 32, 2);
  });
  const pattern = () => join(root, '{train,test}-000.tar');

  it('trains on the png tensor with the cls labels, as many classes as the largest label + 1', async () => {
    const saved = join(root, 'model.json');
    const r = await cli('train', pattern(), '--input', 'png', '--label', 'cls', '--input-size', '8', '--epochs', '2', '--model', 'mlp', '--device', 'cpu', '--save', saved, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ trainSamples: 96, testSamples: 32 });
    expect(loadModel(new Uint8Array(readFileSync(saved))).spec.layers.at(-1)).toMatchObject({ units: 4 }); // classes 0..3
  }, 60_000);

  it('says what is wrong with a label tensor that is not one integer a sample, and with learn on images of any size', async () => {
    const r = await cli('train', pattern(), '--input', 'png', '--label', 'png', '--input-size', '8', '--device', 'cpu');
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining('tensor png is uint8 [, , 3], not one integer class a sample: name the label tensor with --label')]);
    const learn = await cli('learn', pattern(), '--input', 'png', '--label', 'cls', '--device', 'cpu');
    expect([learn.code, learn.stderr]).toEqual([2, expect.stringContaining('tensor png holds images of any size [*, *, 3]: give --input-size N to fit them to NxN')]);
  });

  it('learns actively on the png tensor fitted to --input-size, labels from cls', async () => {
    const r = await cli('learn', pattern(), '--input', 'png', '--input-size', '8', '--label', 'cls', '--labels', '40', '--round', '20', '--epochs', '2', '--device', 'cpu', '--json');
    expect(r.code, r.stderr).toBe(0);
    const { rounds } = JSON.parse(r.stdout) as { rounds: { labels: number }[] };
    expect(rounds.map((x) => x.labels)).toEqual([20, 40]); // two rounds of 20 bought, each evaluated on the test shard
  }, 60_000);
});
