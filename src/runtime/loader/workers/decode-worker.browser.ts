// The browser decode worker (a module Web Worker): decodeApi over comlink; reads open http(s):// and s3:// roots.
// Exported as `edgelake/decode-worker` for bundlers that do not emit it from pool.browser.ts (esbuild).
import { expose } from 'comlink';
import { openTransport } from '../../../source/open.js';
import { createDecodeApi } from './pool.js';

expose(createDecodeApi(openTransport));
