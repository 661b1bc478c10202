/*
 * The real Node decode worker, lost on its `after`-th decode or fetch (workerData), as one killed
 * for memory (how: 'exit', code 3) or one that hangs without exiting (how: 'silent': its thread
 * blocks for good, so it never replies again, not even to a ping). The pool tests' lost worker.
 */
import '../../../../src/runtime/loader/workers/decode-worker.node.js';
import { parentPort, workerData } from 'node:worker_threads';

const { after, how } = workerData as { after: number; how: 'exit' | 'silent' };
let calls = 0;
// Registered after comlink's listener: the call has started when the worker is lost, its reply never leaves.
parentPort!.on('message', (m: { path?: string[] }) => {
  if (m.path?.[0] !== 'decode' && m.path?.[0] !== 'fetch') return;
  if (++calls !== after) return;
  if (how === 'exit') process.exit(3);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // alive, and stuck for good
});
