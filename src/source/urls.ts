import { EdgelakeError } from '../errors.js';
import { redactUrl } from './redact.js';
import type { ReadOptions, Source } from './source.js';

/** Transports kept at once, one per folder; past it the oldest is dropped (they hold no connections of their own). */
const MAX_FOLDERS = 1024;

/**
 * A Source whose paths are whole URLs (what linked tensors name): each file is read by the
 * transport `open` gives for its folder (http(s)://, s3://, and where `open` allows, local
 * files), so wrappers around this one Source (retry, a concurrency cap, metrics) cover them all.
 */
export function urlSource(open: (folder: string) => Source, location = 'linked files'): Source {
  const folders = new Map<string, Source>();
  const transport = (url: string): [Source, string] => {
    const [folder, name] = splitUrl(url);
    let source = folders.get(folder);
    if (!source) {
      if (folders.size >= MAX_FOLDERS) folders.delete(folders.keys().next().value!);
      folders.set(folder, (source = open(folder)));
    }
    return [source, name];
  };
  return {
    location,
    read(url: string, options?: ReadOptions) {
      const [source, name] = transport(url);
      return source.read(name, options);
    },
    readRange(url: string, offset: number, length: number, options?: ReadOptions) {
      const [source, name] = transport(url);
      return source.readRange(name, offset, length, options);
    },
  };
}

/**
 * A file's URL as its folder (a transport's root, with an http(s) URL's query, which signs
 * presigned URLs) and its name in that folder, as Sources name files (percent-decoded).
 */
export function splitUrl(url: string): [string, string] {
  if (/^https?:\/\//i.test(url)) {
    const folder = new URL(url);
    const slash = folder.pathname.lastIndexOf('/');
    const name = decodeURIComponent(folder.pathname.slice(slash + 1));
    if (name === '') throw new EdgelakeError('invalid-input', `${JSON.stringify(redactUrl(url))} names a folder, not a file`);
    folder.pathname = folder.pathname.slice(0, slash + 1);
    folder.hash = '';
    return [folder.href, name];
  }
  const slash = url.lastIndexOf('/');
  const name = url.slice(slash + 1);
  if (name === '') throw new EdgelakeError('invalid-input', `${JSON.stringify(redactUrl(url))} names a folder, not a file`);
  return [url.slice(0, slash + 1), name];
}
