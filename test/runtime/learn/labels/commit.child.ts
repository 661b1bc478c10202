/**
 * A writer in its own process, for the commit race in commit.test.ts:
 *
 *   commit.child.ts <dataset dir> <sample id> <label>
 *
 * Opens the dataset's current version, teaches one label, prints "ready", waits for a line on
 * stdin, commits, and prints "won <versionId>" or "conflict <message>".
 */
import { createInterface } from 'node:readline';
import { ActiveLearner, isEdgelakeError, MemoryLabelStore, mlp } from '../../../../src/index.js';
import { FolderSink, openDataset } from '../../../../src/node.js';

const [dir, id, label] = process.argv.slice(2);
const learner = mlp({ layers: [784, 4, 10], seed: 1 });
const al = new ActiveLearner({ dataset: await openDataset(dir), strategy: 'random', roundSize: 1, maxLabels: 10, learner, epochs: 1, target: 'person', labels: new MemoryLabelStore() });
await al.teach([Number(id)], [Number(label)]);
console.log('ready');
await new Promise((resolve) => createInterface({ input: process.stdin }).once('line', resolve));
try {
  console.log(`won ${(await al.commit({ sink: new FolderSink(dir) })).versionId}`);
} catch (e) {
  if (!isEdgelakeError(e, 'conflict')) throw e;
  console.log(`conflict ${e.message}`);
}
learner.dispose();
process.exit(0);
