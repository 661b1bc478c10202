import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSubsetArgs, cli } from '../../support/cli.js';
import { ActiveLearner, byRank, ChunkCache, MemoryChunkStore, mlp, type RoundResult, type SelectInput, STRATEGIES, type Strategy, type StrategyName } from '../../../src/index.js';
import { openDataset } from '../../../src/node.js';

// The CPU path, on the bundled subset: 5000 train images in 64 KiB deflate chunks, a 32-dim probe.
const root = mkdtempSync(join(tmpdir(), 'edgelake-al-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const dir = join(root, 'ds');
beforeAll(async () => {
  expect((await cli(...buildSubsetArgs(dir, '--chunk-kib', '64', '--embedding-dims', '32'))).code).toBe(0);
});

async function learn(strategy: StrategyName | Strategy, options: { costAware?: boolean; oracle?: (ids: Uint32Array) => Promise<ArrayLike<number>>; maxLabels?: number } = {}) {
  const ds = await openDataset(dir, { cache: new ChunkCache(new MemoryChunkStore(), { budgetBytes: 2 ** 30 }) });
  const learner = mlp({ layers: [784, 64, 10], seed: 1 });
  const al = new ActiveLearner({ dataset: ds, strategy, roundSize: 100, maxLabels: options.maxLabels ?? 300, learner, epochs: 4, seed: 2, ...options });
  const events: RoundResult[] = [];
  al.addEventListener('round', (e) => events.push((e as CustomEvent<RoundResult>).detail));
  const rounds = await al.run();
  learner.dispose();
  return { rounds, events, al, ds };
}

describe('ActiveLearner', () => {
  it('rounds of score, select, fetch, label, train, evaluate: labels grow, bytes include the probe, accuracy is measured', async () => {
    const { rounds, events, al } = await learn('margin');
    expect(rounds.map((r) => r.labels)).toEqual([100, 200, 300]);
    expect(events).toEqual(rounds);
    expect(al.pool.labelledCount).toBe(300);
    const probe = rounds[0].probeBytes;
    expect(probe).toBeGreaterThan(5000 * 32 * 0.5); // the int8 embedding of every pool sample, deflated
    for (const [i, r] of rounds.entries()) {
      expect(r.selected).toHaveLength(100);
      expect(r.bytesFetched).toBeGreaterThan(probe);
      if (i > 0) expect(r.bytesFetched).toBeGreaterThanOrEqual(rounds[i - 1].bytesFetched);
    }
    expect(new Set(rounds.flatMap((r) => [...r.selected])).size).toBe(300);
    expect(rounds[2].accuracy).toBeGreaterThan(0.55);
  });

  it('random pays for the probe too, and cost-aware selection fetches fewer bytes than cost-blind selection', async () => {
    const random = await learn('random');
    expect(random.rounds[0].probeBytes).toBeGreaterThan(0);
    const [blind, aware] = [await learn('margin', { maxLabels: 200 }), await learn('margin', { maxLabels: 200, costAware: true })];
    console.log(`bytes for 200 labels: margin ${blind.rounds[1].bytesFetched}, cost-aware margin ${aware.rounds[1].bytesFetched}`);
    expect(aware.rounds[1].bytesFetched).toBeLessThan(0.5 * blind.rounds[1].bytesFetched);
  });

  for (const costAware of [false, true]) {
    it(`${costAware ? 'cost-aware' : 'cost-blind'}: where the proxy's choice fetches, the learner itself ranks every unlabelled sample and labels those it is least sure of`, async () => {
      const ds = await openDataset(dir, { cache: new ChunkCache(new MemoryChunkStore(), { budgetBytes: 2 ** 30 }) });
      const learner = mlp({ layers: [784, 64, 10], seed: 1 });
      const asked: { x: Float32Array; scores: Float32Array }[] = [];
      const uncertainty = learner.uncertainty.bind(learner);
      learner.uncertainty = async (x, n, measure, options) => {
        const scores = await uncertainty(x, n, measure, options);
        asked.push({ x: (x as Float32Array).slice(), scores });
        return scores;
      };
      const al = new ActiveLearner({ dataset: ds, strategy: 'margin', roundSize: 100, maxLabels: 200, learner, epochs: 4, seed: 2, costAware });
      const [, second] = await al.run();
      // Round 0 is a cold start (no learner yet); round 1 asks the learner, batch by batch, about more than it labels.
      expect(asked.length).toBeGreaterThanOrEqual(1);
      const scores = Float32Array.from(asked.flatMap((a) => [...a.scores]));
      const x = new Float32Array(scores.length * 784);
      let rows = 0;
      for (const a of asked) {
        x.set(a.x, rows * 784);
        rows += a.scores.length;
      }
      expect(scores.length).toBeGreaterThan(100);
      // The selected samples carry the 100 highest scores: find each one's row by its pixels.
      const threshold = [...scores].sort((a, b) => b - a)[99];
      const view = ds.view();
      for (const id of second.selected) {
        const image = (await view.get(id, ['image'])).image as Uint8Array;
        const row = scores.findIndex((_, r) => image.every((v, p) => Math.abs(x[r * 784 + p] - v / 255) < 1e-6));
        expect(row, `sample ${id} was scored`).toBeGreaterThanOrEqual(0);
        expect(scores[row]).toBeGreaterThanOrEqual(threshold);
      }
      learner.dispose();
    });
  }

  it('asks a user\'s Strategy object, handing it what its needs ask for', async () => {
    const seen: SelectInput[] = [];
    const lowestIds: Strategy = {
      name: 'lowest ids', needs: { embeddings: true },
      select: (input, k) => (seen.push(input), byRank(input.candidates.slice().sort().slice(0, k))),
    };
    const { rounds } = await learn(lowestIds, { maxLabels: 200 });
    expect(seen).toHaveLength(2);
    for (const [r, input] of seen.entries()) {
      expect(Array.from(rounds[r].selected)).toEqual(Array.from(input.candidates.slice().sort().slice(0, 100)));
      // 32-dim probes of every candidate, and of the 0, then 100, labelled samples.
      expect(input.embeddings).toHaveLength(input.candidates.length * 32);
      expect(input.labelledEmbeddings).toHaveLength(r * 100 * 32);
      expect(input.scores).toBeUndefined();
      expect([input.seed, input.round]).toEqual([2, r]);
    }
  });

  it('refuses an unknown strategy name, naming the known ones', async () => {
    const ds = await openDataset(dir);
    const learner = mlp({ layers: [784, 10], seed: 1 });
    expect(() => new ActiveLearner({ dataset: ds, strategy: 'coreset' as never, roundSize: 10, maxLabels: 10, learner }))
      .toThrow(`unknown strategy "coreset"; expected one of ${STRATEGIES.join(', ')}`);
    learner.dispose();
  });

  it('labels come from the oracle (a person), not from the dataset', async () => {
    const asked: number[] = [];
    const { al } = await learn('entropy', { maxLabels: 100, oracle: async (ids) => (asked.push(...ids), Array.from(ids, () => 7)) });
    expect(asked).toHaveLength(100);
    expect(al.pool.labelled().every((id) => al.pool.labelOf(id) === 7)).toBe(true);
  });
});

describe('edgelake learn', () => {
  it('--json prints rounds of labels, bytes and accuracy; --plot draws the curves against random', async () => {
    const plot = join(root, 'curves.svg');
    const { code, stdout, stderr } = await cli('learn', dir, '--strategy', 'hybrid', '--labels', '200', '--round', '100', '--epochs', '3', '--device', 'cpu', '--json', '--plot', plot);
    expect(code, stderr).toBe(0);
    const result = JSON.parse(stdout) as { rounds: { labels: number; bytesFetched: number; accuracy: number }[]; baseline: unknown[] };
    expect(result.rounds.map((r) => r.labels)).toEqual([100, 200]);
    expect(result.rounds.every((r) => r.bytesFetched > 0 && r.accuracy > 0.2)).toBe(true);
    expect(result.baseline).toHaveLength(2);
    const svg = readFileSync(plot, 'utf8');
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain('>random<');
    expect(svg).toContain('>hybrid<');
    // The help and the error list the registry's strategies.
    expect((await cli('learn')).stderr).toContain(`--strategy ${STRATEGIES.join('|')} --labels`);
    expect((await cli('learn', dir, '--strategy', 'nope')).stderr).toContain(`--strategy must be one of ${STRATEGIES.join(', ')}, not "nope"`);
    expect((await cli('learn', dir, '--cold-start', 'outliers')).stderr).toMatch(/--cold-start must be k-center or random, not "outliers"/);
  });
});
