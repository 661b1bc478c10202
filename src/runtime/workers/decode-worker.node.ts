// The Node decode worker: decodeApi over comlink on this thread's parentPort.
import { expose } from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { parentPort } from 'node:worker_threads';
import { decodeApi } from './pool.js';

if (!parentPort) throw new Error('decode-worker.node.js runs only as a worker_threads Worker');
expose(decodeApi, nodeEndpoint(parentPort));
