// The browser decode worker (a module Web Worker): decodeApi over comlink; fetches open http(s):// and s3:// roots.
import { expose } from 'comlink';
import { openSource } from '../../../source/open.js';
import { createDecodeApi } from './pool.js';

expose(createDecodeApi(openSource));
