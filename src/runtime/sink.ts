import { EdgelakeError } from '../errors.js';
import { HttpSink, type HttpSinkOptions } from '../format/http-sink.js';
import type { Sink } from '../format/sink.js';
import { redactUrl } from '../source/redact.js';
import { s3Endpoint, type S3SourceOptions } from '../source/s3.js';
import { schemeOf } from '../source/open.js';

export interface OpenSinkOptions {
  /**
   * For http(s):// roots, and s3:// ones too (headers, fetch, singleWriter): a server that stores
   * what is PUT. Commits need one that honours If-Match and If-None-Match on PUT, which the sink
   * checks before its first; `singleWriter: true` lets one process alone commit to one that ignores them.
   */
  http?: HttpSinkOptions;
  /** For s3:// roots: endpoint, region and keys, as for reading. */
  s3?: Pick<S3SourceOptions, 'endpoint' | 'region' | 'accessKeyId' | 'secretAccessKey' | 'sessionToken' | 'forcePathStyle'>;
}

/** A writable dataset root (what commits and builders write through) for an http(s):// or s3:// location. */
export function openSink(location: string, options: OpenSinkOptions = {}): Sink {
  const scheme = schemeOf(location);
  if (scheme === 'http' || scheme === 'https') return new HttpSink(location, options.http);
  if (scheme === 's3') {
    const { root, location: where, sign } = s3Endpoint(location, options.s3);
    return new HttpSink(root, { ...options.http, location: where, sign });
  }
  const hint = scheme === undefined || scheme === 'file' ? `; local folders need openSinkNode (or FolderSink) from 'edgelake/node'` : '';
  throw new EdgelakeError('invalid-input', `cannot write to ${JSON.stringify(redactUrl(location))}: expected http://, https:// or s3://${hint}`);
}
