import { describe, expect, it } from 'vitest';
import { PROXY_RECIPE, proxyScores, type ProxyBatch, type ProxyFactory, type ProxySpec } from '../../src/sampler/proxy.js';
import { head, randomSelect, type ScoreMeasure } from '../../src/index.js';
import { uniform } from '../../src/kernels/index.js';

/** A proxy that records what it was asked and scores row i of n as i / n. */
function recordingProxy(failFit = false) {
  const log = {
    spec: undefined as ProxySpec | undefined, fit: undefined as { epochs: number; lr: number } | undefined, epochs: [] as ProxyBatch[][],
    asked: undefined as { x: Float32Array; n: number; measure: ScoreMeasure; passes: number } | undefined, disposed: false,
  };
  const factory: ProxyFactory = (spec) => {
    log.spec = spec;
    return {
      async fit(batches, options) {
        log.fit = options;
        if (failFit) throw new Error('out of memory');
        for (let e = 0; e < options.epochs; e++) {
          const epoch: ProxyBatch[] = [];
          for await (const b of batches(e)) epoch.push(b);
          log.epochs.push(epoch);
        }
      },
      async uncertainty(x, n, measure, options) {
        log.asked = { x, n, measure, passes: options.passes };
        return Float32Array.from({ length: n }, (_, i) => i / n);
      },
      dispose: () => void (log.disposed = true),
    };
  };
  return { factory, log };
}

// 100 labelled 2-D rows (row i = (i, -i), label i % 3) and 4 pool rows.
const labelled = Float32Array.from({ length: 200 }, (_, i) => (i % 2 ? -1 : 1) * Math.floor(i / 2));
const labels = Int32Array.from({ length: 100 }, (_, i) => i % 3);
const pool = Float32Array.of(0, 0, 1, 1, 2, 2, 3, 3);
const base = { dims: 2, classes: 3, labelled, labels, pool, seed: 5, round: 2 };

describe('proxyScores', () => {
  it('builds the recipe\'s head, trains it on the labelled rows in shuffled batches, and scores the pool', async () => {
    const { factory, log } = recordingProxy();
    const scores = await proxyScores({ ...base, factory, measure: 'margin' });
    expect(Array.from(scores)).toEqual([0, 0.25, 0.5, 0.75]);
    // The seed: the run's seed + round + 1.
    expect(log.spec).toEqual({ dims: 2, classes: 3, hidden: [128], dropout: 0.3, seed: 8 });
    expect(log.fit).toEqual({ epochs: 30, lr: 3e-3, input: 'probe', target: 'label' });
    expect(log.epochs).toHaveLength(PROXY_RECIPE.epochs);
    for (const [e, epoch] of log.epochs.entries()) {
      expect(epoch.map((b) => b.ids.length)).toEqual([64, 36]);
      const order = epoch.flatMap((b) => Array.from(b.ids));
      // Each epoch: every row once, in the order of randomSelect keyed by seed + epoch.
      expect(order).toEqual(Array.from(randomSelect(Uint32Array.from(labels.keys()), 100, 5 + e)));
      for (const b of epoch) {
        b.ids.forEach((i, r) => {
          expect([b.tensors.probe[2 * r], b.tensors.probe[2 * r + 1]]).toEqual([i, -i]);
          expect(b.tensors.label[r]).toBe(i % 3);
        });
      }
    }
    expect(log.asked).toEqual({ x: pool, n: 4, measure: 'margin', passes: 1 });
    expect(log.disposed).toBe(true);
  });

  it('takes MC-dropout passes for BALD only (default 10)', async () => {
    const bald = recordingProxy();
    await proxyScores({ ...base, factory: bald.factory, measure: 'bald' });
    expect(bald.log.asked?.passes).toBe(10);
    await proxyScores({ ...base, factory: bald.factory, measure: 'bald', passes: 3 });
    expect(bald.log.asked?.passes).toBe(3);
    await proxyScores({ ...base, factory: bald.factory, measure: 'entropy', passes: 3 });
    expect(bald.log.asked?.passes).toBe(1);
  });

  it('disposes the proxy when training fails', async () => {
    const { factory, log } = recordingProxy(true);
    await expect(proxyScores({ ...base, factory, measure: 'margin' })).rejects.toThrow('out of memory');
    expect(log.disposed).toBe(true);
  });

  it('rejects rows that do not match the labels or dims, and an empty labelled set', async () => {
    const { factory } = recordingProxy();
    await expect(proxyScores({ ...base, factory, measure: 'margin', labels: labels.subarray(1) })).rejects.toThrow('proxyScores: 200 labelled floats for 99 labels x 2 dims');
    await expect(proxyScores({ ...base, factory, measure: 'margin', pool: pool.subarray(1) })).rejects.toThrow('proxyScores: 7 pool floats, not a multiple of dims 2');
    await expect(proxyScores({ ...base, factory, measure: 'margin', dims: 0 })).rejects.toThrow('proxyScores: dims must be a positive integer, got 0');
    await expect(proxyScores({ ...base, factory, measure: 'margin', labelled: new Float32Array(0), labels: new Int32Array(0) }))
      .rejects.toThrow('proxyScores: nothing labelled to train the proxy on');
  });

  it('with the zoo\'s head: less sure between two classes than inside either', async () => {
    // Class 0 near (-2, 0), class 1 near (2, 0); the boundary is x = 0.
    const n = 640;
    const x = Float32Array.from({ length: 2 * n }, (_, i) => (i % 2 ? 0 : (Math.floor(i / 2) % 2 ? 2 : -2)) + uniform(1, 0, 0, i) - 0.5);
    const y = Int32Array.from({ length: n }, (_, i) => i % 2);
    const scores = await proxyScores({
      factory: (spec) => head(spec), dims: 2, classes: 2, labelled: x, labels: y, pool: Float32Array.of(-2, 0, 0, 0, 2, 0), measure: 'margin', seed: 0, round: 0,
    });
    expect(scores[1]).toBeGreaterThan(scores[0]);
    expect(scores[1]).toBeGreaterThan(scores[2]);
  });
});
