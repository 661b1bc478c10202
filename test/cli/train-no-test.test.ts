// Training on a dataset with no test split (build imagefolder without --test-fraction, as the README does):
// the model is trained and saved, the evaluation skipped and said so.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { encodePng } from '../format/image/png-encoder.js';
import { loadModel } from '../../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'edgelake-train-no-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Two classes of small gray PNGs, dark and bright, in one subfolder each. */
function folder(): string {
  for (const [cls, base] of [['dark', 20], ['bright', 200]] as const) {
    mkdirSync(join(root, 'src', cls), { recursive: true });
    for (let i = 0; i < 4; i++) {
      const samples = Uint16Array.from({ length: 6 * 6 }, (_, p) => base + ((p * 7 + i) % 30));
      writeFileSync(join(root, 'src', cls, `${i}.png`), encodePng({ width: 6, height: 6, colorType: 0, bitDepth: 8, samples }));
    }
  }
  return join(root, 'src');
}

it('trains and saves a dataset with no test split, saying the evaluation was skipped', async () => {
  const out = join(root, 'ds');
  expect((await cli('build', 'imagefolder', folder(), '--out', out)).code).toBe(0);
  const saved = join(root, 'w.safetensors');
  const r = await cli('train', out, '--input-size', '4', '--device', 'cpu', '--save', saved, '--json');
  expect(r.code, r.stderr).toBe(0);
  expect(JSON.parse(r.stdout)).toMatchObject({ trainSamples: 8, evaluation: null });
  expect(loadModel(new Uint8Array(readFileSync(saved))).spec.layers.at(-1)).toMatchObject({ units: 2 });
  const text = await cli('train', out, '--input-size', '4', '--device', 'cpu');
  expect([text.code, text.stderr]).toEqual([0, expect.stringContaining('has no "test" split: training on the train split, the evaluation skipped')]);
  expect(existsSync(saved)).toBe(true);
  const csv = join(root, 'labels.csv');
  writeFileSync(csv, 'path,label\nimages/a.png,cat\n');
  const resumed = await cli('train', out, '--input-size', '4', '--device', 'cpu', '--resume', csv);
  expect([resumed.code, resumed.stderr]).toEqual([2, expect.stringContaining(`${csv}: not a safetensors file`)]);
}, 60_000);
