/**
 * Fuzzing the JPEG decoder: mutated real JPEGs (test/support/jpeg-mutate.ts) through the CPU
 * decode path, in a worker watched from here, so a hang is caught (and the run goes on from the
 * next input) instead of stopping the benchmark. Counts crashes (anything but an EdgelakeError
 * naming the input), hangs (an input over 1 s) and errors that do not name the input.
 *
 *   npx tsx bench/jpeg-fuzz.ts [--inputs 100000] [--seed S]
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { decodeJpeg } from '../src/format/index.js';
import { isEdgelakeError } from '../src/index.js';
import { fuzzCorpus } from '../test/support/jpeg-corpus.js';
import { mutateJpeg } from '../test/support/jpeg-mutate.js';
import { benchArgs } from './report.js';

const HANG_MS = 1000;

interface Job { seed: number; from: number; to: number; progress: SharedArrayBuffer }
type Finding = { index: number; kind: 'crash' | 'unnamed'; message: string; mutations: string[] };

if (isMainThread) await main();
else run(workerData as Job);

async function main(): Promise<void> {
  const { values } = benchArgs(import.meta.url, { options: { inputs: { type: 'string', default: '100000' }, seed: { type: 'string' } } });
  const inputs = Number(values.inputs);
  const seed = Number(values.seed ?? Date.now() % 2 ** 32);
  console.log(`fuzzing the JPEG decoder: ${inputs} mutated inputs, seed ${seed} (replay one: EDGELAKE_SEED=${seed})`);
  const findings: Finding[] = [];
  const hangs: number[] = [];
  let decoded = 0;
  let slowest = 0;
  const started = performance.now();
  for (let from = 0; from < inputs;) {
    // progress: [index being decoded, decoded so far, slowest ms, done flag]; the clock is read here.
    const progress = new SharedArrayBuffer(16);
    const state = new Int32Array(progress);
    state[0] = from - 1;
    // tsx registered by an eval entry: a worker's execArgv does not reach a .ts entry on Node 20.
    const entry = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); });`;
    const worker = new Worker(entry, { eval: true, workerData: { seed, from, to: inputs, progress } satisfies Job });
    worker.on('message', (f: Finding) => findings.push(f));
    const exited = new Promise<number>((resolve) => worker.on('exit', resolve));
    let seen = state[0];
    let since = performance.now();
    for (;;) {
      const done = await Promise.race([exited.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 100))]);
      if (done) break;
      if (Atomics.load(state, 0) !== seen) [seen, since] = [Atomics.load(state, 0), performance.now()];
      else if (seen >= from && performance.now() - since > HANG_MS) {
        hangs.push(seen);
        await worker.terminate();
        break;
      }
    }
    decoded += Atomics.load(state, 1);
    slowest = Math.max(slowest, Atomics.load(state, 2));
    from = Atomics.load(state, 3) === 1 ? inputs : Atomics.load(state, 0) + 1;
  }
  const seconds = (performance.now() - started) / 1000;
  const crashes = findings.filter((f) => f.kind === 'crash');
  const unnamed = findings.filter((f) => f.kind === 'unnamed');
  console.log(`${inputs} inputs in ${seconds.toFixed(1)} s: ${decoded} decoded, ${inputs - decoded - findings.length - hangs.length} refused with an error naming the input`);
  console.log(`crashes: ${crashes.length}; hangs (over ${HANG_MS} ms): ${hangs.length}; errors not naming the input: ${unnamed.length}; slowest input ${slowest} ms`);
  for (const f of findings.slice(0, 20)) console.log(`  input ${f.index} (${f.mutations.join(', ')}): ${f.kind}: ${f.message}`);
  for (const h of hangs.slice(0, 20)) console.log(`  input ${h}: hang`);
  process.exitCode = findings.length + hangs.length > 0 ? 1 : 0;
}

function run({ seed, from, to, progress }: Job): void {
  const state = new Int32Array(progress);
  const corpus = fuzzCorpus();
  for (let i = from; i < to; i++) {
    Atomics.store(state, 0, i);
    const { bytes, mutations } = mutateJpeg(corpus, seed, i);
    const name = `fuzz input ${i}`;
    const t0 = performance.now();
    try {
      decodeJpeg(bytes, { name });
      Atomics.add(state, 1, 1);
    } catch (e) {
      const named = isEdgelakeError(e) && e.message.startsWith(`${name}: `);
      if (!named) parentPort!.postMessage({ index: i, kind: isEdgelakeError(e) ? 'unnamed' : 'crash', message: String(e), mutations } satisfies Finding);
    }
    const ms = Math.round(performance.now() - t0);
    if (ms > Atomics.load(state, 2)) Atomics.store(state, 2, ms);
  }
  Atomics.store(state, 3, 1);
}
