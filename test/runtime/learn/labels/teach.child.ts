/**
 * A person labelling in a separate process, for the kill test:
 *
 *   teach.child.ts <dataset dir> <labels file> <seed>
 *
 * An ActiveLearner on the dataset with an FsLabelStore; prints "started <labelled>" once it has
 * restored the store, then forever: query 5, answer them, teach, print "taught id:label ...".
 * A line is printed only after teach resolved: every label in it is acknowledged.
 */
import { ActiveLearner, mlp } from '../../../../src/index.js';
import { FsLabelStore, openDataset } from '../../../../src/node.js';

const [dir, path, seed] = process.argv.slice(2);
const labels = await FsLabelStore.open(path);
const dataset = await openDataset(dir);
const learner = mlp({ layers: [784, 8, 10], seed: Number(seed) });
const al = new ActiveLearner({ dataset, strategy: 'random', roundSize: 5, maxLabels: 5000, learner, epochs: 1, seed: Number(seed), target: 'answer', labels });
const { ids: warm } = await al.query(1); // restores the store
console.log(`started ${al.pool.labelledCount} ${warm.length}`);
for (;;) {
  const { ids } = await al.query(5);
  const answers = Array.from(ids, (id) => (id * 7 + 3) % 10);
  await al.teach(ids, answers);
  console.log(`taught ${Array.from(ids, (id, i) => `${id}:${answers[i]}`).join(' ')}`);
}
