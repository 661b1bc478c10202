// The browser decode worker (a module Web Worker): decodeApi over comlink; reads open http(s):// and s3:// roots.
import { expose } from 'comlink';
import { openTransport } from '../../../source/open.js';
import { createDecodeApi } from './pool.js';

expose(createDecodeApi(openTransport));
