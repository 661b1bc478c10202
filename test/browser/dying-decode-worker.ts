/*
 * The browser decode worker (decode-worker.browser.ts, whose bare import esbuild would drop: the
 * package is side-effect free), which closes itself on its 3rd decode or fetch: as a worker killed
 * for memory or whose process crashed, it fires no event, and its replies never come.
 */
import { expose } from 'comlink';
import { createDecodeApi } from '../../src/runtime/loader/workers/pool.js';
import { openTransport } from '../../src/source/open.js';

let calls = 0;
// Registered before comlink's listener, which never sees the fatal call: no reply can leave before the close.
self.addEventListener('message', (e: MessageEvent<{ path?: string[] }>) => {
  const call = e.data.path?.[0];
  if ((call !== 'decode' && call !== 'fetch') || ++calls !== 3) return;
  e.stopImmediatePropagation();
  self.close();
});
expose(createDecodeApi(openTransport));
