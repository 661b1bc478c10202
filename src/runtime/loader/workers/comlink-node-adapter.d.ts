// comlink 4.4.2 ships node-adapter.d.ts beside the .mjs; NodeNext looks for .d.mts, so name its types here.
declare module 'comlink/dist/esm/node-adapter.mjs' {
  import type { Endpoint } from 'comlink';
  import type { MessagePort, Worker } from 'node:worker_threads';
  export default function nodeEndpoint(nep: MessagePort | Worker): Endpoint;
}
