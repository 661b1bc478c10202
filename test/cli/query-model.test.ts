// edgelake query --model: a model edgelake train --save wrote ranks photos of any size, fitted as it was trained.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { encodePng } from '../format/image/png-encoder.js';
import { cli } from '../support/cli.js';
import { mulberry32 } from '../support/random.js';
import { Loader } from '../../src/index.js';
import { loadModel } from '../../src/runtime/model/model-io.js';
import { openDataset } from '../../src/node.js';

const root = mkdtempSync(join(tmpdir(), 'edgelake-query-model-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const [photos, weights] = [join(root, 'photos'), join(root, 'w.safetensors')];
const ranked = 'select * order by uncertainty desc';

beforeAll(async () => {
  // Random RGB PNGs of many sizes, two classes.
  const random = mulberry32(9);
  for (const [i, [height, width]] of [[5, 7], [12, 9], [30, 17], [8, 8], [3, 40], [16, 33], [20, 20], [9, 14]].entries()) {
    mkdirSync(join(root, 'pngs', i % 2 ? 'odd' : 'even'), { recursive: true });
    const samples = Uint16Array.from({ length: height * width * 3 }, () => Math.floor(random() * 256));
    writeFileSync(join(root, 'pngs', i % 2 ? 'odd' : 'even', `${i}.png`), encodePng({ width, height, colorType: 2, bitDepth: 8, samples }));
  }
  const built = await cli('build', 'imagefolder', join(root, 'pngs'), '--out', photos, '--test-fraction', '0.25', '--thumbnail', '4');
  expect(built.code, built.stderr).toBe(0);
  const trained = await cli('train', photos, '--input-size', '8', '--save', weights, '--device', 'cpu', '--epochs', '1', '--json');
  expect(trained.code, trained.stderr).toBe(0);
}, 60_000);

it('query --input-size N ranks photos of any size by the uncertainty of a model train --input-size N saved', async () => {
  const r = await cli('query', photos, ranked, '--model', weights, '--input-size', '8', '--json');
  expect(r.code, r.stderr).toBe(0);
  // The reference: the saved model's entropy of each photo's centre fit, as train's test loader feeds it.
  const ds = await openDataset(photos);
  const model = loadModel(new Uint8Array(readFileSync(weights)));
  let scores: Float32Array = new Float32Array(0);
  for await (const b of new Loader(ds.view(), { batchSize: 100, tensors: ['image'], transform: { image: { scale: 1 / 255, fit: { size: [8, 8], crop: 'center' } } } })) {
    scores = await model.uncertainty(b.tensors.image as Float32Array, b.ids.length, 'entropy');
  }
  model.dispose();
  expect(JSON.parse(r.stdout).ids).toEqual(Array.from({ length: ds.length }, (_, id) => id).sort((a, b) => scores[b] - scores[a] || a - b));
});

it('refuses a model of another input size with its size and the samples\' shape, as other refusals (no stack trace)', async () => {
  const cases: [string[], string][] = [
    [['--input-size', '4'], "the model takes inputs of [192], 192 values a sample, and tensor image's samples are uint8 [4, 4, 3] (fitted to 4x4), 48 values: score the tensor it was trained on (input, --input TENSOR), or fit images to the size it was trained at (inputSize, --input-size N)"],
    [['--input', 'thumbnail'], "the model takes inputs of [192], 192 values a sample, and tensor thumbnail's samples are uint8 [4, 4, 3], 48 values"],
    [[], "the learner's input image is uint8 [*, *, 3]: it takes samples of one shape (fit images to NxN with inputSize, --input-size N)"],
  ];
  for (const [extra, message] of cases) {
    const r = await cli('query', photos, ranked, '--model', weights, ...extra);
    expect([r.code, r.stderr], extra.join(' ')).toEqual([2, expect.stringMatching(/^edgelake query: [^\n]*\n$/)]);
    expect(r.stderr).toContain(message);
  }
  const alone = await cli('query', photos, 'select *', '--input-size', '8');
  expect([alone.code, alone.stderr]).toEqual([2, 'edgelake query: --input-size says how the model scores the images: give it with --model FILE\n']);
});
