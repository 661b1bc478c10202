import { isEdgelakeError } from '../../src/index.js';

/** The EdgelakeError code `fn` throws, with its message: "code: message". */
export function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isEdgelakeError(e)) return `${e.code}: ${e.message}`;
    throw e;
  }
  throw new Error('expected an error');
}
