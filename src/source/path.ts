import { EdgelakeError } from '../errors.js';

/** Refuses paths that could leave the root: absolute, `..`, `.`, empty segments, backslashes. */
export function checkRelativePath(path: string, location: string): void {
  const bad =
    typeof path !== 'string' ||
    path === '' ||
    /[\\\0]/.test(path) ||
    /^[A-Za-z]:/.test(path) ||
    path.split('/').some((segment) => segment === '' || segment === '.' || segment === '..');
  if (bad) {
    throw new EdgelakeError(
      'invalid-input',
      `${location}: refusing path ${JSON.stringify(path)} (must be relative, '/'-separated, without '..')`,
    );
  }
}

/** Offsets and lengths are whole, non-negative and exact as doubles. */
export function checkRange(offset: number, length: number, where: string): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new EdgelakeError('invalid-input', `${where}: invalid range offset ${offset}, length ${length}`);
  }
  if (!Number.isSafeInteger(offset + length)) {
    throw new EdgelakeError('invalid-input', `${where}: range end ${offset} + ${length} is too large`);
  }
}

/** Percent-encodes each segment as RFC 3986 (and SigV4) expect, keeping the '/'s. */
export function encodePath(path: string): string {
  return path
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
}
