// The Node decode worker: decodeApi over comlink on this thread's parentPort; reads open folders and URLs.
import { expose } from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { parentPort } from 'node:worker_threads';
import { useNodeCodecs } from '../../../format/codecs.node.js';
import { openTransportNode } from '../../../source/open.node.js';
import { createDecodeApi } from './pool.js';

if (!parentPort) throw new Error('decode-worker.node.js runs only as a worker_threads Worker');
useNodeCodecs();
expose(createDecodeApi(openTransportNode), nodeEndpoint(parentPort));
