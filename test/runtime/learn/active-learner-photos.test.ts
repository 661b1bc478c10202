// The ActiveLearner on photos of any size: the input needs a fit, the probe is the uint8 thumbnail.
import { describe, expect, it } from 'vitest';
import { buildImageFolder, MemorySink } from '../../../src/format/index.js';
import { ActiveLearner, Loader, MemorySource, mlp, openDataset, STRATEGY_REGISTRY, type Batch, type SelectInput, type Strategy } from '../../../src/index.js';
import { cjpeg, noTools } from '../../format/image/jpeg/tools.js';
import { mulberry32 } from '../../support/random.js';

const SIDE = 10;

/** 48 JPEGs of 24-80 px a side in two classes, a warm and a cool colour under seeded noise; 8x8 thumbnails. */
async function photos() {
  const random = mulberry32(5);
  const files = Array.from({ length: 48 }, (_, i) => {
    const [width, height, warm] = [24 + Math.floor(random() * 57), 24 + Math.floor(random() * 57), i % 2 === 0];
    const header = new TextEncoder().encode(`P6\n${width} ${height}\n255\n`);
    const pnm = new Uint8Array(header.length + width * height * 3);
    pnm.set(header);
    for (let p = header.length; p < pnm.length; p += 3) {
      const noise = () => Math.floor(random() * 60);
      pnm.set(warm ? [190 + noise(), 60 + noise(), 40 + noise()] : [40 + noise(), 80 + noise(), 190 + noise()], p);
    }
    const bytes = cjpeg(pnm, ['-quality', '85']);
    return { className: warm ? 'warm' : 'cool', name: `${String(i).padStart(2, '0')}.jpg`, read: async () => bytes };
  });
  const sink = new MemorySink();
  await buildImageFolder(sink, files, { created: '2026-12-05T00:00:00Z', testFraction: 0.25, thumbnailSize: 8, chunkBytes: 8 << 10 });
  return openDataset(new MemorySource(sink.files));
}

describe.skipIf(noTools())('ActiveLearner on photos of any size', () => {
  it('fits the input (random crop to train, centre crop to score and evaluate) and scores from the thumbnail as floats in [0, 1]', async () => {
    const ds = await photos();
    const learner = mlp({ layers: [3 * SIDE * SIDE, 2], seed: 1 });
    const scored: Float32Array[] = [];
    const uncertainty = learner.uncertainty.bind(learner);
    learner.uncertainty = async (x, n, measure, options) => (scored.push(...rowsOf(x as Float32Array)), uncertainty(x, n, measure, options));
    const evaluated: Float32Array[] = [];
    const evaluate = learner.evaluate.bind(learner);
    learner.evaluate = async (source, options) => evaluate(recorded(source, evaluated), options);
    const trained: Float32Array[] = [];
    const fit = learner.fit.bind(learner);
    learner.fit = async (source, options) => fit((epoch: number) => recorded((source as (epoch: number) => AsyncIterable<Batch>)(epoch), trained), options);
    // Margin, with a look at the probe rows the sampler hands it.
    const seen: SelectInput[] = [];
    const look: Strategy = {
      name: 'margin, looking', needs: { measure: 'margin', embeddings: true }, rerank: true,
      select: (input, k) => (seen.push(input), STRATEGY_REGISTRY.margin.select(input, k)),
    };
    const al = new ActiveLearner({
      dataset: ds, strategy: look, roundSize: 12, maxLabels: 24, learner, epochs: 6, seed: 3, probe: 'thumbnail',
      inputTransform: { fit: { size: [SIDE, SIDE], crop: 'random', scale: [0.5, 1] } },
    });
    const rounds = await al.run();
    expect(rounds.map((r) => r.labels)).toEqual([12, 24]);
    expect(rounds[1].accuracy).toBeGreaterThan(0.9); // warm against cool: easy once the pixels arrive as [0, 1] floats
    expect(rounds[0].probeBytes).toBeGreaterThan(0);
    expect(rounds[0].bytesFetched).toBeGreaterThan(rounds[0].probeBytes);

    // The probe: each sample's 8x8x3 thumbnail / 255.
    const thumbs = new Map<number, Uint8Array>();
    for await (const b of new Loader(ds.view(), { batchSize: 64, tensors: ['thumbnail'] })) b.ids.forEach((id, i) => thumbs.set(id, (b.tensors.thumbnail as Uint8Array).slice(i * 192, (i + 1) * 192)));
    expect(seen.length).toBeGreaterThan(0);
    for (const input of seen) {
      expect(input.dims).toBe(192);
      input.candidates.forEach((id, r) => thumbs.get(id)!.forEach((v, j) => expect(input.embeddings![r * 192 + j]).toBeCloseTo(v / 255, 6)));
    }

    // Scoring and evaluation read the centre crop, as a centre-fit loader gives it; training reads random crops, new ones each epoch.
    const center = new Set<string>();
    for await (const b of new Loader(ds.view(), { batchSize: 64, tensors: ['image'], transform: { image: { fit: { size: [SIDE, SIDE] }, scale: 1 / 255 } } })) {
      for (const row of rowsOf(b.tensors.image as Float32Array)) center.add(key(row));
    }
    expect(scored.length).toBeGreaterThan(0);
    expect(evaluated).toHaveLength(2 * ds.view({ split: 'test' }).length);
    for (const row of [...scored, ...evaluated]) expect(center.has(key(row))).toBe(true);
    expect(trained).toHaveLength(6 * (12 + 24));
    expect(trained.every((r) => r.every((v) => v >= 0 && v <= 1))).toBe(true);
    expect(trained.filter((r) => center.has(key(r))).length).toBeLessThan(trained.length / 4);
    // One crop per sample and round would give at most 36 distinct rows of the 216.
    expect(new Set(trained.map(key)).size).toBeGreaterThan(trained.length / 2);
    learner.dispose();
  });

  it('with augment, scores and evaluates in the layout it trains in ([C, H, W] planes); mixup is refused', async () => {
    const ds = await photos();
    const learner = mlp({ layers: [3 * SIDE * SIDE, 2], seed: 1 });
    const [trained, scored] = [[] as Float32Array[], [] as Float32Array[]];
    const [fit, uncertainty] = [learner.fit.bind(learner), learner.uncertainty.bind(learner)];
    learner.fit = async (source, options) => fit((epoch: number) => recorded((source as (epoch: number) => AsyncIterable<Batch>)(epoch), trained), options);
    learner.uncertainty = async (x, n, measure, options) => (scored.push(...rowsOf(x as Float32Array)), uncertainty(x, n, measure, options));
    const inputTransform = { fit: { size: [SIDE, SIDE] as [number, number], crop: 'center' as const }, augment: [{ op: 'flip' as const, p: 0 }] };
    await new ActiveLearner({ dataset: ds, strategy: 'margin', roundSize: 12, maxLabels: 24, learner, epochs: 1, seed: 3, probe: 'thumbnail', inputTransform }).run();
    const planes = new Set<string>();
    for await (const b of new Loader(ds.view(), { batchSize: 64, tensors: ['image'], transform: { image: { fit: { size: [SIDE, SIDE] }, scale: 1 / 255, toCHW: true } } })) {
      for (const row of rowsOf(b.tensors.image as Float32Array)) planes.add(key(row));
    }
    expect(scored.length).toBeGreaterThan(0);
    for (const row of [...trained, ...scored]) expect(planes.has(key(row))).toBe(true);
    const mixed = { ...inputTransform, augment: [{ op: 'mixup' as const, alpha: 0.4 }] };
    expect(() => new ActiveLearner({ dataset: ds, strategy: 'margin', roundSize: 12, maxLabels: 24, learner, inputTransform: mixed })).toThrow('inputTransform: mixup is not supported by the active learner');
    learner.dispose();
  });
});

const key = (x: Float32Array) => Array.from(x, (v) => v.toFixed(4)).join(',');
const rowsOf = (x: Float32Array) => Array.from({ length: x.length / (3 * SIDE * SIDE) }, (_, i) => x.slice(i * 3 * SIDE * SIDE, (i + 1) * 3 * SIDE * SIDE));

/** The batches as they pass, each input row kept in `rows`. */
async function* recorded(source: AsyncIterable<Batch>, rows: Float32Array[]): AsyncGenerator<Batch> {
  for await (const b of source) {
    rows.push(...rowsOf(b.tensors.image as Float32Array));
    yield b;
  }
}
