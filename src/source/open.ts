import { EdgelakeError } from '../errors.js';
import { HttpSource, type HttpSourceOptions } from './http.js';
import { withConcurrency } from './limit.js';
import { withRetry, type RetryOptions } from './retry.js';
import { redactUrl } from './redact.js';
import { S3Source, type S3SourceOptions } from './s3.js';
import type { Source } from './source.js';

export interface OpenSourceOptions {
  /** For http(s):// locations. */
  http?: HttpSourceOptions;
  /** For s3:// locations. */
  s3?: S3SourceOptions;
  /** false turns retries off. */
  retry?: RetryOptions | false;
  /** Reads in flight at once; false removes the cap. */
  concurrency?: number | false;
}

export const DEFAULT_CONCURRENCY = 8;

/** Opens an http(s):// or s3:// dataset root, with retries and a concurrency cap. */
export function openSource(location: string, options: OpenSourceOptions = {}): Source {
  return withDefaults(openTransport(location, options), options);
}

/** The bare transport of an http(s):// or s3:// root: no retries, no cap (a chain adds them). */
export function openTransport(location: string, options: Pick<OpenSourceOptions, 'http' | 's3'> = {}): Source {
  const scheme = schemeOf(location);
  if (scheme === 'http' || scheme === 'https') return new HttpSource(location, options.http);
  if (scheme === 's3') return new S3Source(location, options.s3);
  const hint = scheme === undefined || scheme === 'file' ? `; local folders need openSourceNode from 'edgelake/node'` : '';
  throw new EdgelakeError('invalid-input', `cannot open ${JSON.stringify(redactUrl(location))}: expected http://, https:// or s3://${hint}`);
}

/**
 * Retry inside the cap: a read waiting out a backoff keeps its slot, so a throttled server sees
 * fewer requests, not the same number later.
 */
export function withDefaults(source: Source, options: Pick<OpenSourceOptions, 'retry' | 'concurrency'>): Source {
  const retried = options.retry === false ? source : withRetry(source, options.retry);
  return options.concurrency === false
    ? retried
    : withConcurrency(retried, options.concurrency ?? DEFAULT_CONCURRENCY);
}

/** 'https' for https://..., undefined for plain paths (a Windows drive letter is not a scheme). */
export function schemeOf(location: string): string | undefined {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(location)?.[1];
  return scheme && scheme.length > 1 ? scheme.toLowerCase() : undefined;
}
