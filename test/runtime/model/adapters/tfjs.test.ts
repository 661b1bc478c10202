// A TF.js LayersModel as edgelake's Learner, on TF.js's CPU backend: what it gives (probabilities or logits), what it refuses, and what scoring leaves alone.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTfjs, type Tfjs } from '../../../support/tfjs.js';
import { tfjsLearner, tfjsOutputOf } from '../../../../src/tfjs.js';
import type { Batch } from '../../../../src/index.js';

let tf: Tfjs;
beforeAll(async () => {
  tf = await loadTfjs();
  await tf.setBackend('cpu');
});

/** n rows of 4 features, spread over [5, 15): far from zero, so batch statistics move BatchNormalization's. */
const rows = (n: number) => Float32Array.from({ length: n * 4 }, (_, i) => 5 + ((i * 7) % 13) * (10 / 13));
const batch = (labels: Int32Array): Batch => ({ ids: Uint32Array.from(labels, (_, i) => i), tensors: { image: rows(labels.length), label: labels } });
const batches = (...list: Batch[]) => async function* () {
  yield* list;
};
const seeded = (seed: number) => ({ kernelInitializer: tf.initializers.glorotUniform({ seed }) });

describe('tfjsOutputOf', () => {
  it('a softmax activation or a Softmax layer gives probabilities; a linear last layer, logits', () => {
    const dense = (activation?: 'softmax' | 'relu') => tf.layers.dense({ units: 10, inputShape: [4], ...(activation && { activation }) });
    const models = {
      activation: tf.sequential({ layers: [dense('softmax')] }),
      layer: tf.sequential({ layers: [dense(), tf.layers.softmax()] }),
      activationLayer: tf.sequential({ layers: [dense(), tf.layers.activation({ activation: 'softmax' })] }),
      linear: tf.sequential({ layers: [dense()] }),
      relu: tf.sequential({ layers: [dense('relu')] }),
    };
    expect(Object.fromEntries(Object.entries(models).map(([k, m]) => [k, tfjsOutputOf(m)]))).toEqual({
      activation: 'probabilities', layer: 'probabilities', activationLayer: 'probabilities', linear: 'logits', relu: 'logits',
    });
    for (const m of Object.values(models)) m.dispose();
  });

  it('a base model with a head model: the softmax is looked for inside the head', async () => {
    const base = () => tf.sequential({ layers: [tf.layers.dense({ units: 8, inputShape: [4], activation: 'relu', ...seeded(1) })] });
    const head = (activation: 'softmax' | 'linear', softmaxLayer = false) => tf.sequential({
      layers: [tf.layers.dense({ units: 3, inputShape: [8], activation, ...seeded(2) }), ...(softmaxLayer ? [tf.layers.softmax()] : [])],
    });
    const models = {
      activation: tf.sequential({ layers: [base(), head('softmax')] }),
      layer: tf.sequential({ layers: [base(), head('linear', true)] }),
      linear: tf.sequential({ layers: [base(), head('linear')] }),
    };
    expect(Object.fromEntries(Object.entries(models).map(([k, m]) => [k, tfjsOutputOf(m)]))).toEqual({ activation: 'probabilities', layer: 'probabilities', linear: 'logits' });
    // The learner's probabilities are the model's own: no second softmax.
    const own = models.activation.predict(tf.tensor2d(rows(2), [2, 4])) as ReturnType<typeof tf.tensor>;
    expect(await tfjsLearner(tf, models.activation, { classes: 3 }).predictProba(rows(2), 2)).toEqual(await own.data());
    own.dispose();
    for (const m of Object.values(models)) m.dispose();
  });

  it('a model with several outputs is read by its first, the one the learner trains and scores', async () => {
    const input = tf.input({ shape: [4] });
    const hidden = tf.layers.dense({ units: 8, activation: 'relu', ...seeded(1) }).apply(input);
    const main = tf.layers.dense({ units: 3, activation: 'softmax', name: 'main', ...seeded(2) }).apply(hidden);
    const aux = tf.layers.dense({ units: 3, name: 'aux', ...seeded(3) }).apply(hidden); // built last: the last layer is not the first output's
    const model = tf.model({ inputs: input, outputs: [main, aux] as ReturnType<typeof tf.input>[] });
    expect(tfjsOutputOf(model)).toBe('probabilities');
    const [own, auxOut] = model.predict(tf.tensor2d(rows(2), [2, 4])) as ReturnType<typeof tf.tensor>[];
    expect(await tfjsLearner(tf, model, { classes: 3 }).predictProba(rows(2), 2)).toEqual(await own.data());
    tf.dispose([own, auxOut]);
    model.dispose();
  });
});

describe('tfjsLearner', () => {
  it('MC-dropout scoring leaves the model as it was: BatchNormalization keeps its moving statistics', async () => {
    const model = tf.sequential({
      layers: [tf.layers.dense({ units: 8, inputShape: [4], ...seeded(1) }), tf.layers.batchNormalization(), tf.layers.dropout({ rate: 0.3 }), tf.layers.dense({ units: 3, activation: 'softmax', ...seeded(2) })],
    });
    const learner = tfjsLearner(tf, model, { classes: 3 });
    const statistics = async () => Promise.all(model.layers[1].getWeights().slice(2).map(async (w) => Array.from(await w.data()))); // moving mean, moving variance
    const [before, probsBefore] = [await statistics(), await learner.predictProba(rows(64), 64)];
    const bald = await learner.uncertainty(rows(64), 64, 'bald');
    expect(bald.some((s) => s > 0)).toBe(true); // the passes did differ
    expect(await statistics()).toEqual(before);
    expect(await learner.predictProba(rows(64), 64)).toEqual(probsBefore);
    model.dispose();
  });

  it('refuses a model whose output width is not the classes', () => {
    const model = (units: number, activation: 'sigmoid' | 'softmax') => tf.sequential({ layers: [tf.layers.dense({ units, inputShape: [4], activation })] });
    expect(() => tfjsLearner(tf, model(1, 'sigmoid'), { classes: 2 })).toThrow(/output width is 1 and classes is 2: a binary classifier needs 2 outputs with softmax/);
    expect(() => tfjsLearner(tf, model(10, 'softmax'), { classes: 20 })).toThrow(expect.objectContaining({ code: 'invalid-input', message: expect.stringMatching(/output width is 10 and classes is 20/) }));
  });

  it('bald refuses a model with no dropout layer, which would score every sample ~0; a nested dropout counts', async () => {
    const plain = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [4], activation: 'softmax' })] });
    await expect(tfjsLearner(tf, plain, { classes: 3 }).uncertainty(rows(8), 8, 'bald')).rejects.toThrow(/bald with 10 passes is MC dropout, and this model has no dropout layer/);
    expect(await tfjsLearner(tf, plain, { classes: 3 }).uncertainty(rows(8), 8, 'entropy')).toHaveLength(8);
    const base = tf.sequential({ layers: [tf.layers.dense({ units: 8, inputShape: [4], activation: 'relu', ...seeded(1) }), tf.layers.gaussianDropout({ rate: 0.3 })] });
    const nested = tf.sequential({ layers: [base, tf.layers.dense({ units: 3, activation: 'softmax', ...seeded(2) })] });
    expect((await tfjsLearner(tf, nested, { classes: 3 }).uncertainty(rows(8), 8, 'bald')).some((s) => s > 0)).toBe(true);
    plain.dispose();
    nested.dispose();
  });

  it('refuses a label outside [0, classes), naming it, its row and sample, and rows of another size', async () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [4], activation: 'softmax' })] });
    const learner = tfjsLearner(tf, model, { classes: 3 });
    const bad = batch(Int32Array.of(0, 2, 3, -1));
    await expect(learner.fit(batches(bad), { epochs: 1 })).rejects.toThrow(/label 3 at row 2 \(sample 2\) of tensor label is outside \[0, 3\)/);
    await expect(learner.evaluate(batches(bad)())).rejects.toThrow(expect.objectContaining({ code: 'invalid-input' }));
    // Rows of another size (RGB into a model of gray pixels) would be read misaligned: refused.
    const wide: Batch = { ids: Uint32Array.of(0, 1), tensors: { image: rows(6), label: Int32Array.of(0, 1) } };
    await expect(learner.fit(batches(wide), { epochs: 1 })).rejects.toThrow('tfjsLearner: tensor image has 24 values; the model takes 2 x [4] = 8');
    learner.dispose();
    model.dispose();
  });

  it('leaks no tensor when a batch throws in the middle of an epoch', async () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [4], activation: 'softmax' })] });
    const learner = tfjsLearner(tf, model, { classes: 3 });
    await learner.fit(batches(batch(Int32Array.of(0, 1, 2))), { epochs: 1 }); // the optimizer's own tensors exist from here
    const tensors = tf.memory().numTensors;
    const floatLabels: Batch = { ids: Uint32Array.of(0, 1), tensors: { image: rows(2), label: Float32Array.of(0, 1) } };
    await expect(learner.fit(batches(batch(Int32Array.of(0, 1)), floatLabels), { epochs: 1 })).rejects.toThrow(/must hold integer class labels/);
    await expect(learner.evaluate(batches(floatLabels)())).rejects.toThrow(/must hold integer class labels/);
    expect(tf.memory().numTensors).toBe(tensors);
    learner.dispose();
    model.dispose();
  });
});

describe('tfjsLearner training as FitOptions say', () => {
  const labels = Int32Array.of(0, 1, 2, 1, 0, 2);
  /** A linear 4 -> 3 model: its logits go into TF.js's own softmaxCrossEntropy below. */
  const linear = () => tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [4], ...seeded(7) })] });
  const weights = async (m: ReturnType<typeof linear>) => (await Promise.all(m.getWeights().map((w) => w.data()))).flatMap((d) => Array.from(d));
  /** `steps` steps of TF.js's own optimizer on TF.js's own loss: what the learner should have done. */
  const byHand = (m: ReturnType<typeof linear>, optimizer: { minimize: ReturnType<typeof tf.train.sgd>['minimize'] }, steps: number) => {
    for (let i = 0; i < steps; i++) {
      optimizer.minimize(() => tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(labels, 'int32'), 3), m.apply(tf.tensor2d(rows(6), [6, 4])) as ReturnType<typeof tf.tensor2d>) as ReturnType<typeof tf.scalar>, false);
    }
  };
  const expectClose = (a: number[], b: number[]) => a.forEach((v, i) => expect(v, `weight ${i}`).toBeCloseTo(b[i], 6));

  it("honours optimizer: 'sgd' (momentum 0.9 by default, as the native path)", async () => {
    const [model, twin] = [linear(), linear()];
    const learner = tfjsLearner(tf, model, { classes: 3 });
    await learner.fit(batches(batch(labels), batch(labels)), { epochs: 1, lr: 0.01, optimizer: { type: 'sgd' } });
    const optimizer = tf.train.momentum(0.01, 0.9);
    byHand(twin, optimizer, 2);
    expectClose(await weights(model), await weights(twin));
    learner.dispose();
    optimizer.dispose();
    for (const m of [model, twin]) m.dispose();
  });

  it("a new lr keeps Adam's moments, as setting the rate of TF.js's own optimizer does", async () => {
    const [model, twin] = [linear(), linear()];
    const learner = tfjsLearner(tf, model, { classes: 3 });
    await learner.fit(batches(batch(labels)), { epochs: 3, lr: 0.05 });
    await learner.fit(batches(batch(labels)), { epochs: 1, lr: 0.005 });
    const optimizer = tf.train.adam(0.05, 0.9, 0.999, 1e-8);
    byHand(twin, optimizer, 3);
    (optimizer as unknown as { learningRate: number }).learningRate = 0.005;
    byHand(twin, optimizer, 1);
    expectClose(await weights(model), await weights(twin));
    learner.dispose();
    optimizer.dispose();
    for (const m of [model, twin]) m.dispose();
  });

  it('soft label rows (mixup on the CPU path) train as the same one-hot indices do; weight decay and empty sources are refused', async () => {
    const [a, b] = [linear(), linear()];
    const [soft, hard] = [tfjsLearner(tf, a, { classes: 3 }), tfjsLearner(tf, b, { classes: 3 })];
    const onehot = Float32Array.from({ length: 18 }, (_, i) => +(labels[Math.floor(i / 3)] === i % 3));
    await soft.fit(batches({ ids: Uint32Array.from(labels.keys()), tensors: { image: rows(6), label: onehot } }), { epochs: 2 });
    await hard.fit(batches(batch(labels)), { epochs: 2 });
    expectClose(await weights(a), await weights(b));
    await expect(soft.fit(batches(batch(labels)), { epochs: 1, optimizer: { weightDecay: 0.01 } })).rejects.toThrow("tfjsLearner: TF.js's adam has no weight decay");
    await expect(soft.fit(batches(), { epochs: 1 })).rejects.toThrow('tfjsLearner: the source gave no batches for epoch 0');
    await expect(soft.evaluate(batches()())).rejects.toThrow('tfjsLearner: the source gave no batches for evaluate');
    for (const l of [soft, hard]) l.dispose();
    for (const m of [a, b]) m.dispose();
  });
});
