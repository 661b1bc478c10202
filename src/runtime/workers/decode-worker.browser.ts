// The browser decode worker (a module Web Worker): decodeApi over comlink on the worker's global scope.
import { expose } from 'comlink';
import { decodeApi } from './pool.js';

expose(decodeApi);
