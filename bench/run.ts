/** npm run bench: every benchmark in bench/, one after another; results land in bench/results/. */
import { execFileSync } from 'node:child_process';

const benches = [
  'bench/cache-read.ts',
  'bench/loader-first-batch.ts',
  'bench/loader-throughput.ts',
  'bench/loader-vs-download.ts',
  'bench/loader-memory.ts',
  'bench/kernels.ts',
  'bench/jpeg.ts',
  'bench/jpeg-fuzz.ts',
  'bench/jpeg-memory.ts',
  'bench/photo-loader.ts',
  'bench/train-vs-tfjs.ts',
  'bench/train-fashion-mnist.ts',
  'bench/fine-tune.ts',
  'bench/tfjs-learner.ts',
  'bench/active-learning.ts',
  'bench/active-learning-photos.ts',
];
for (const bench of benches) {
  console.log(`\n# ${bench}`);
  execFileSync(process.execPath, ['--import', 'tsx', bench, ...process.argv.slice(2)], { stdio: 'inherit' });
}
