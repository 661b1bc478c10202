/**
 * npm run demo: active learning on the bundled Fashion-MNIST subset. Builds it into .cache/demo
 * (with an int8 PCA probe), inspects it, then runs rounds of score -> select -> fetch -> label ->
 * train -> evaluate with cost-aware margin sampling, and random sampling beside it, each from an
 * empty cache, on the GPU when there is one (the CPU references otherwise). Prints the curves and
 * draws them into .cache/demo/learning-curves.svg.
 */
import { writeFileSync } from 'node:fs';
import { ActiveLearner, ChunkCache, formatAdapter, MemoryChunkStore, mlp, type RoundResult, type StrategyName } from '../../src/index.js';
import { getNodeDevice, learningCurvesSvg, openDataset, runCli } from '../../src/node.js';
import { buildSubsetArgs } from '../../scripts/make-subset.js';

const out = '.cache/demo/fashion-mnist-subset';
if ((await runCli(buildSubsetArgs(out, '--chunk-kib', '64', '--embedding-dims', '32'))) !== 0) process.exit(1);
await runCli(['inspect', out]);

const gpu = await getNodeDevice();
const device = gpu?.device ?? null;
console.log(`\nactive learning on ${gpu ? formatAdapter(gpu.adapter) : 'the CPU (no WebGPU adapter: the kernels\' CPU references)'}`);
console.log('each round: score the pool from the 32-dim probe, pick 100, fetch their chunks, label, train the MLP, evaluate on 1000 test images\n');

async function run(strategy: StrategyName, costAware: boolean): Promise<RoundResult[]> {
  // Its own empty cache: the bytes each run fetches are its own.
  const dataset = await openDataset(out, { cache: new ChunkCache(new MemoryChunkStore(), { budgetBytes: 2 ** 30 }) });
  const learner = mlp({ layers: [784, 128, 10], seed: 1, device });
  const name = `${strategy}${costAware ? ' (cost-aware)' : ''}`;
  const learning = new ActiveLearner({ dataset, strategy, costAware, roundSize: 100, maxLabels: 600, learner, epochs: 6, seed: 1, device });
  learning.addEventListener('round', (e) => {
    const r = (e as CustomEvent<RoundResult>).detail;
    console.log(`  ${name.padEnd(20)} round ${r.round + 1}: ${String(r.labels).padStart(4)} labels, ${(r.bytesFetched / 1e6).toFixed(2).padStart(5)} MB fetched, test accuracy ${r.accuracy.toFixed(3)}`);
  });
  try {
    return await learning.run();
  } finally {
    learner.dispose();
  }
}

const margin = await run('margin', true);
const random = await run('random', false);
const svg = '.cache/demo/learning-curves.svg';
writeFileSync(svg, learningCurvesSvg([{ name: 'margin (cost-aware)', points: margin }, { name: 'random', points: random }], 'Fashion-MNIST subset'));
const [m, r] = [margin.at(-1)!, random.at(-1)!];
console.log(`\nwith ${m.labels} labels: margin (cost-aware) ${m.accuracy.toFixed(3)} accuracy from ${(m.bytesFetched / 1e6).toFixed(2)} MB; ` +
  `random ${r.accuracy.toFixed(3)} from ${(r.bytesFetched / 1e6).toFixed(2)} MB (probe included in both). Curves: ${svg}`);
device?.destroy();
