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
 * presigned URLs) and its name in that folder, as Sources name files (percent-decoded, for
 * http(s):// and file:// URLs; other URLs and plain paths as written).
 */
export function splitUrl(url: string): [string, string] {
  let folder: string, name: string;
  if (/^(https?|file):/i.test(url)) {
    const parsed = parseUrl(url);
    const slash = parsed.pathname.lastIndexOf('/');
    name = decodeName(parsed.pathname.slice(slash + 1), url);
    parsed.pathname = parsed.pathname.slice(0, slash + 1);
    parsed.hash = '';
    if (parsed.protocol === 'file:') parsed.search = ''; // a local file has no query: '?' ended its path
    folder = parsed.href;
  } else {
    const slash = url.lastIndexOf('/');
    [folder, name] = [url.slice(0, slash + 1), url.slice(slash + 1)];
  }
  if (name === '') throw refuse(url, 'names a folder, not a file');
  return [folder, name];
}

function parseUrl(url: string): URL {
  try {
    return new URL(url);
  } catch {
    throw refuse(url, 'is not a valid URL');
  }
}

/** A URL's last path segment as the file name it encodes. */
function decodeName(segment: string, url: string): string {
  let name: string;
  try {
    name = decodeURIComponent(segment);
  } catch {
    throw refuse(url, `has a '%' in its file name that starts no UTF-8 escape (a '%' itself is written %25)`);
  }
  // Sources send a name's '/' as a folder separator, so %2F would ask for another file.
  if (name.includes('/')) throw refuse(url, `has an encoded '/' (%2F) in its file name, which edgelake cannot request as written`);
  return name;
}

function refuse(url: string, why: string): EdgelakeError {
  return new EdgelakeError('invalid-input', `${JSON.stringify(redactUrl(url))} ${why}`);
}
