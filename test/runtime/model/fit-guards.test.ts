// What Model.fit and evaluate refuse or keep on the CPU path: a diverging loss, labels of the
// wrong size or kind, empty epochs, and the optimizer's state across fits with a new lr.
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../support/random.js';
import { type Batch, mlp, type Model } from '../../../src/index.js';

const [D, C, N] = [8, 3, 24];
const random = mulberry32(11);
const X = Float32Array.from({ length: N * D }, () => random() * 2 - 1);
const Y = Int32Array.from({ length: N }, (_, i) => i % C);

/** Batches of `size` rows of X and Y, the same every epoch; `change` may rewrite each batch. */
const batches = (size: number, change: (b: Batch, index: number) => Batch = (b) => b) => () => (async function* () {
  for (let s = 0, i = 0; s < N; s += size, i++) {
    const m = Math.min(size, N - s);
    yield change({ ids: Uint32Array.from({ length: m }, (_, k) => s + k), tensors: { image: X.slice(s * D, (s + m) * D), label: Y.slice(s, s + m) } }, i);
  }
})();
const one = (tensors: Batch['tensors'], n = 4) => () => (async function* () {
  yield { ids: Uint32Array.from({ length: n }, (_, i) => i), tensors } as Batch;
})();

async function weights(m: Model): Promise<number[]> {
  const out: number[] = [];
  for (const p of m.params) out.push(...(await m.backend.read(p.value)));
  return out;
}

describe('Model.fit guards', () => {
  it('a loss gone NaN stops fit with the epoch and step it happened at, and a hint to lower lr (Keras TerminateOnNaN)', async () => {
    // Step 3 of epoch 1 gets a NaN input: its loss, and every weight after it, is NaN.
    const poisoned = (epoch: number) => batches(6, (b, i) => (epoch === 1 && i === 2 ? { ...b, tensors: { ...b.tensors, image: (b.tensors.image as Float32Array).fill(NaN, 0, 1) } } : b))();
    for (const logEvery of [0, 2]) {
      const m = mlp({ layers: [D, 16, C], seed: 1 });
      await expect(m.fit(poisoned, { epochs: 3, lr: 1e-2, logEvery })).rejects.toThrow(
        expect.objectContaining({ code: 'invalid-input', message: expect.stringMatching(/^fit: the loss went NaN at epoch 1, step 3: training diverged.*lower the learning rate \(lr 0\.01\)/) }),
      );
      m.dispose();
    }
  });

  it('rows whose logits are NaN count as not correct (argmax of NaN is no prediction)', async () => {
    const m = mlp({ layers: [D, C], seed: 1 });
    const labels = Int32Array.of(0, 0, 0, 0); // class 0: what the argmax of a NaN row would say
    const result = await m.evaluate(one({ image: new Float32Array(4 * D).fill(NaN), label: labels })());
    expect(result.loss).toBeNaN();
    expect(result.accuracy).toBe(0);
    m.dispose();
  });

  it('an epoch with no batches, or evaluate over none, is an error; a batch of 0 samples is skipped', async () => {
    const m = mlp({ layers: [D, C], seed: 1 });
    const none = () => (async function* (): AsyncGenerator<Batch> {})();
    await expect(m.fit(none, { epochs: 1 })).rejects.toThrow('fit: the source gave no batches for epoch 0');
    await expect(m.evaluate(none())).rejects.toThrow('evaluate: the source gave no batches');
    const empty: Batch = { ids: new Uint32Array(0), tensors: { image: new Float32Array(0), label: new Int32Array(0) } };
    const withEmpty = () => (async function* () {
      yield empty;
      yield* batches(N)();
    })();
    const [history] = await m.fit(withEmpty, { epochs: 1 });
    expect(history.samples).toBe(N);
    expect(Number.isFinite(history.loss)).toBe(true);
    m.dispose();
  });

  it('labels of the wrong length or kind are refused naming the tensor; float class indices need labels: index', async () => {
    const m = mlp({ layers: [D, C], seed: 1 });
    const image = X.slice(0, 4 * D);
    await expect(m.fit(one({ image, label: Int32Array.of(0, 1, 2) }), { epochs: 1 })).rejects.toThrow('tensor label: index labels need 4 class indices, the batch has 3 values');
    await expect(m.fit(one({ image, label: Float32Array.of(0, 1, 2, 1) }), { epochs: 1 })).rejects.toThrow(
      "tensor label: soft labels need 4 x 3 float32 values (a row of class probabilities a sample), the batch has 4 values; for class indices give an Int32Array, or labels: 'index'",
    );
    await expect(m.fit(one({ image, label: Float32Array.of(0, 1.5, 2, 1) }), { epochs: 1, labels: 'index' })).rejects.toThrow('tensor label: sample 1 has label 1.5, and the model has 3 classes (0 to 2)');
    // Float class indices with labels: 'index' train as the same Int32Array does.
    const [a, b] = [mlp({ layers: [D, C], seed: 2 }), mlp({ layers: [D, C], seed: 2 })];
    await a.fit(one({ image, label: Float32Array.of(0, 1, 2, 1) }), { epochs: 1, labels: 'index' });
    await b.fit(one({ image, label: Int32Array.of(0, 1, 2, 1) }), { epochs: 1 });
    expect(await weights(a)).toEqual(await weights(b));
    for (const model of [m, a, b]) model.dispose();
  });
});

describe('the optimizer across fits', () => {
  it('a new lr keeps Adam\'s moments and step, as setting a PyTorch param group\'s lr does', async () => {
    const m = mlp({ layers: [D, 16, C], seed: 1 });
    await m.fit(batches(5), { epochs: 3, lr: 1e-2 });
    expect(m.optimizer!.step).toBe(15);
    await m.fit(batches(N), { epochs: 1, lr: 1e-3 });
    // The same, stepped by hand: the optimizer kept, one step at lr 1e-3.
    const twin = mlp({ layers: [D, 16, C], seed: 1 });
    await twin.fit(batches(5), { epochs: 3, lr: 1e-2 });
    const [x, y] = [twin.backend.wrap(X, N * D, 'x'), twin.backend.wrap(Y, N, 'y')];
    twin.trainStep(x, y, N, 'index', 1e-3);
    expect(m.optimizer!.step).toBe(16);
    expect(m.optimizer!.spec.lr).toBe(1e-3);
    expect(await weights(m)).toEqual(await weights(twin));
    for (const model of [m, twin]) model.dispose();
  });

  it('new betas (or another optimizer) start afresh: new moments, and a step count from 0 for their bias correction', async () => {
    const m = mlp({ layers: [D, 16, C], seed: 1 });
    await m.fit(batches(5), { epochs: 1, lr: 1e-2 });
    await m.fit(batches(N), { epochs: 1, lr: 1e-2, optimizer: { beta1: 0.5 } });
    expect(m.optimizer!.step).toBe(1);
    // Defaults spelled out are the same optimizer: its state is kept.
    await m.fit(batches(N), { epochs: 1, lr: 1e-2, optimizer: { type: 'adam', beta1: 0.5, beta2: 0.999, eps: 1e-8 } });
    expect(m.optimizer!.step).toBe(2);
    m.dispose();
  });
});
