// An ONNX Runtime Web session (its wasm CPU provider, in Node) as a frozen backbone: the shipped base CNN's
// convolutions exported to ONNX, their features the embeddings an edgelake head learns a new task from.
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-web';
import { beforeAll, describe, expect, it } from 'vitest';
import { modelToOnnx } from '../../../scripts/export-onnx.js';
import { BASE_MODEL, batchesOf, fashionClasses } from '../../../scripts/pretrain-base.js';
import { SUBSET } from '../../support/cli.js';
import { head, loadModel, type Batch } from '../../../src/index.js';
import { onnxEmbedder } from '../../../src/onnx.js';

const base = loadModel(new Uint8Array(readFileSync(BASE_MODEL)), { name: BASE_MODEL });
let session: ort.InferenceSession;
beforeAll(async () => {
  ort.env.wasm.numThreads = 1;
  session = await ort.InferenceSession.create(await modelToOnnx(base, 5), { executionProviders: ['wasm'] }); // conv, pool, conv, pool, flatten: 32 x 7 x 7
});

/** The base model's own forward pass through its first 5 layers (edgelake's CPU path). */
async function edgelakeEmbeddings(x: Float32Array, n: number): Promise<Float32Array> {
  const ctx = { backend: base.backend, dropout: false, seed: 0, step: 0, pass: 0 };
  let h = base.backend.wrap(x, x.length, 'x');
  for (const layer of base.layers.slice(0, 5)) h = layer.forward(ctx, h, n);
  return base.backend.read(h);
}

describe('onnxEmbedder', () => {
  it('embeds as the model it was exported from computes, to 1e-3', async () => {
    const embedder = onnxEmbedder(ort, session, { shape: [1, 28, 28] });
    const test = fashionClasses(SUBSET, 't10k', [5, 6, 7, 8, 9]);
    const n = 64;
    const x = test.x.subarray(0, n * 784);
    const { dims, rows } = await embedder.embed(x, n);
    expect(dims).toBe(32 * 7 * 7);
    const ours = await edgelakeEmbeddings(x.slice(), n);
    let worst = 0;
    rows.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - ours[i]))));
    console.log(`ONNX Runtime Web (wasm) vs edgelake's forward pass: largest difference ${worst.toExponential(2)} over ${n} x ${dims}`);
    expect(worst).toBeLessThan(1e-3);
  });

  it('an edgelake head trained on its embeddings learns classes 5-9, which the backbone never saw', async () => {
    const embedder = onnxEmbedder(ort, session, { shape: [1, 28, 28], input: 'input', output: 'output' });
    const [train, test] = [fashionClasses(SUBSET, 'train', [5, 6, 7, 8, 9]), fashionClasses(SUBSET, 't10k', [5, 6, 7, 8, 9])];
    const all = (data: typeof train, seed: number, epoch: number) => (async function* (): AsyncGenerator<Batch> { yield* batchesOf(data, Uint32Array.from(data.y.keys()), 64, seed, epoch); })();
    const classifier = head({ dims: 32 * 7 * 7, classes: 5, hidden: [64], seed: 1 });
    await classifier.fit((epoch: number) => embedder.embedBatches(all(train, 1, epoch)), { epochs: 5, lr: 3e-3 });
    const { accuracy, samples } = await classifier.evaluate(embedder.embedBatches(all(test, 0, 0)));
    console.log(`head on ONNX embeddings: test accuracy ${accuracy.toFixed(3)} on ${samples} images of classes 5-9`);
    expect(samples).toBe(500);
    expect(accuracy).toBeGreaterThan(0.9);
    classifier.dispose();
  });

  it('refuses what it cannot use, saying what it needs', async () => {
    expect(() => onnxEmbedder({}, session, { shape: [1, 28, 28] })).toThrow("onnxEmbedder: the first argument must be the onnxruntime-web module (import * as ort from 'onnxruntime-web')");
    expect(() => onnxEmbedder(ort, {}, { shape: [1, 28, 28] })).toThrow('onnxEmbedder: the second argument must be an ort.InferenceSession');
    expect(() => onnxEmbedder(ort, session, { shape: [1, 28, 28], output: 'logits' })).toThrow('onnxEmbedder: the model has no output "logits" (it has output)');
    await expect(onnxEmbedder(ort, session, { shape: [1, 28, 28] }).embed(new Float32Array(10), 1)).rejects.toThrow('onnxEmbedder: 1 samples of [1, 28, 28] need 784 values, got 10');
    // RGB rows for a gray model: more values than the samples take would be read misaligned.
    await expect(onnxEmbedder(ort, session, { shape: [1, 28, 28] }).embed(new Float32Array(5 * 3 * 784), 5)).rejects.toThrow('onnxEmbedder: 5 samples of [1, 28, 28] need 3920 values, got 11760');
  });

  it('refuses outputs that are no embedding rows: int64 labels (listed first by skl2onnx), a reduced scalar', async () => {
    // A session answering as a converted scikit-learn classifier does: int64 labels, then probabilities.
    const classifier = {
      inputNames: ['x'],
      outputNames: ['label', 'probabilities', 'total'],
      run: async () => ({
        label: new ort.Tensor('int64', BigInt64Array.of(1n, 0n), [2]),
        probabilities: new ort.Tensor('float32', Float32Array.of(0.25, 0.75, 0.5, 0.5), [2, 2]),
        total: new ort.Tensor('float32', Float32Array.of(2), []),
      }),
    };
    const x = new Float32Array(8);
    await expect(onnxEmbedder(ort, classifier, { shape: [4] }).embed(x, 2)).rejects.toThrow('onnxEmbedder: output "label" is int64, not float rows; name the embedding output ({ output }, one of label, probabilities, total)');
    await expect(onnxEmbedder(ort, classifier, { shape: [4], output: 'total' }).embed(x, 2)).rejects.toThrow('onnxEmbedder: output "total" has shape [], not one row for each of the 2 samples ([2, ...])');
    await expect(onnxEmbedder(ort, classifier, { shape: [4], output: 'probabilities' }).embed(x, 0)).rejects.toThrow('embed needs a positive whole number of samples, got 0');
    expect(await onnxEmbedder(ort, classifier, { shape: [4], output: 'probabilities' }).embed(x, 2)).toEqual({ dims: 2, rows: Float32Array.of(0.25, 0.75, 0.5, 0.5) });
  });
});
