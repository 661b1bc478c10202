// The browser decode worker (a module Web Worker): decodeApi over comlink; fetches open http(s):// and s3:// roots.
import { expose } from 'comlink';
import { openSource, type OpenSourceOptions } from '../../source/open.js';
import { createDecodeApi } from './pool.js';

expose(createDecodeApi((root, options) => openSource(root, options as OpenSourceOptions)));
