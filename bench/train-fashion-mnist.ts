/**
 * Issue 6's must-hold: the MLP and the small CNN trained on all of Fashion-MNIST (60,000 train,
 * 10,000 test, built from the Debian package), streamed through the loader, on the GPU path
 * (`edgelake train --device gpu`), against the accuracy the dataset's benchmark table publishes:
 * MLP 256-128-100: 0.8833; 2 conv + pooling: 0.916. Targets: 0.88 and 0.91.
 *
 *   npx tsx bench/train-fashion-mnist.ts [--models mlp,cnn] [--mlp-epochs 10] [--cnn-epochs 8] [--batch 128] [--seed 0] [--device gpu|cpu]
 */
import { fashionMnist } from './link.js';
import { benchArgs, report, type BenchRow } from './report.js';
import { runCli } from '../src/node.js';

const { values } = benchArgs(import.meta.url, {
  options: {
    models: { type: 'string', default: 'mlp,cnn' }, 'mlp-epochs': { type: 'string', default: '10' }, 'cnn-epochs': { type: 'string', default: '8' },
    batch: { type: 'string', default: '128' }, seed: { type: 'string', default: '0' }, device: { type: 'string', default: 'gpu' }, data: { type: 'string', default: 'full' },
  },
});
const data = await fashionMnist({ chunkKiB: 1024, compression: 'deflate', data: values.data as 'full' | 'subset' });
const targets: Record<string, { target: number; published: string }> = {
  mlp: { target: 0.88, published: 'MLP 256-128-100: 0.8833' },
  cnn: { target: 0.91, published: '2 conv + pooling: 0.916' },
};

const rows: BenchRow[] = [];
const notes = [data.description];
for (const model of values.models!.split(',')) {
  const epochs = values[model === 'cnn' ? 'cnn-epochs' : 'mlp-epochs']!;
  let stdout = '';
  const args = ['train', data.root, '--model', model, '--epochs', epochs, '--batch-size', values.batch!, '--seed', values.seed!, '--device', values.device!, '--json'];
  const code = await runCli(args, { stdout: (t) => void (stdout += t), stderr: (t) => process.stderr.write(t), isTTY: false });
  if (code !== 0) throw new Error(`edgelake ${args.join(' ')} exited with ${code}`);
  const result = JSON.parse(stdout) as { testAccuracy: number; seconds: number; samplesPerSecond: number; adapter: string; device: string; history: { epoch: number; accuracy: number; loss: number; seconds: number }[] };
  rows.push(
    { measure: `${model}: test accuracy after ${epochs} epochs (target >= ${targets[model].target})`, value: result.testAccuracy, unit: '' },
    { measure: `${model}: training + evaluation time`, value: result.seconds, unit: 's' },
    { measure: `${model}: training samples/s`, value: result.samplesPerSecond, unit: 'samples/s' },
  );
  notes.push(`${model}: \`edgelake ${args.slice(0, 1).join(' ')} ROOT ${args.slice(2).join(' ')}\` on ${result.device} (${result.adapter}); published: ${targets[model].published}; ` +
    `per epoch train loss ${result.history.map((h) => h.loss.toFixed(3)).join(', ')}`);
}
report('train-fashion-mnist', 'Fashion-MNIST, trained on the device from streamed batches', rows, notes);
