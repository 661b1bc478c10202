import { AwsClient } from 'aws4fetch';
import { EdgelakeError } from '../errors.js';
import { HttpSource, type HttpSourceOptions } from './http.js';
import { encodePath } from './path.js';
import { redactUrl } from './redact.js';
import type { ReadOptions, Source } from './source.js';

export interface S3SourceOptions extends Omit<HttpSourceOptions, 'sign' | 'location'> {
  /** Defaults to AWS: https://s3.<region>.amazonaws.com. */
  endpoint?: string;
  region?: string;
  /** Both or neither: without them requests go unsigned (public buckets). */
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /** endpoint/bucket/key instead of bucket.endpoint/key; the default with a custom endpoint. */
  forcePathStyle?: boolean;
}

export interface S3Location {
  bucket: string;
  /** '' or a key prefix ending in '/'. */
  prefix: string;
}

/** Reads objects under s3://bucket/prefix: an HttpSource whose requests are signed with SigV4. */
export class S3Source implements Source {
  readonly location: string;
  readonly #http: HttpSource;

  constructor(url: string, options: S3SourceOptions = {}) {
    const { endpoint, region, accessKeyId, secretAccessKey, sessionToken, forcePathStyle, ...http } = options;
    const target = s3Endpoint(url, { endpoint, region, accessKeyId, secretAccessKey, sessionToken, forcePathStyle });
    this.location = target.location;
    this.#http = new HttpSource(target.root, { ...http, location: this.location, sign: target.sign });
  }

  read(path: string, options?: ReadOptions): Promise<Uint8Array> {
    return this.#http.read(path, options);
  }

  readRange(path: string, offset: number, length: number, options?: ReadOptions): Promise<Uint8Array> {
    return this.#http.readRange(path, offset, length, options);
  }
}

/** Where an s3:// URL's objects are over HTTPS, and how requests to them are signed (none without keys). */
export function s3Endpoint(url: string, options: Pick<S3SourceOptions, 'endpoint' | 'region' | 'accessKeyId' | 'secretAccessKey' | 'sessionToken' | 'forcePathStyle'> = {}): {
  root: string;
  location: string;
  sign?: (request: Request) => Promise<Request>;
} {
  const { bucket, prefix } = parseS3Url(url);
  const { endpoint, region = 'us-east-1', accessKeyId, secretAccessKey, sessionToken, forcePathStyle } = options;
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new EdgelakeError('invalid-input', `s3://${bucket}/${prefix}: give both accessKeyId and secretAccessKey, or neither`);
  }
  const base = parseEndpoint(endpoint ?? `https://s3.${region}.amazonaws.com`);
  // Buckets with dots break TLS certificates of virtual-hosted URLs, so they go path-style.
  const pathStyle = forcePathStyle ?? (endpoint !== undefined || bucket.includes('.'));
  const keys = encodePath(prefix);
  const root = pathStyle
    ? `${base.origin}${base.pathname}${bucket}/${keys}`
    : `${base.protocol}//${bucket}.${base.host}${base.pathname}${keys}`;
  const client =
    accessKeyId !== undefined && secretAccessKey !== undefined
      ? new AwsClient({ accessKeyId, secretAccessKey, sessionToken, service: 's3', region })
      : undefined;
  return {
    root,
    location: `s3://${bucket}/${prefix}`.replace(/\/+$/, ''), // no trailing slash, as every location
    sign: client && ((request) => client.sign(request)),
  };
}

const BUCKET = /^(?!xn--)(?!.*\.\.)(?!\d+\.\d+\.\d+\.\d+$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** s3://bucket or s3://bucket/some/prefix[/]; nothing else (no user, port, query, '..'). */
export function parseS3Url(url: string): S3Location {
  const match = /^s3:\/\/([^/?#]*)(?:\/([^?#]*))?$/.exec(url);
  const bucket = match?.[1] ?? '';
  if (!match || !BUCKET.test(bucket)) {
    const hint = /^[^?#]*@/.test(url) ? ' (keys go in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or the s3 options, never in the URL)' : '';
    throw new EdgelakeError('invalid-input', `not an s3://bucket/prefix URL: ${JSON.stringify(redactUrl(url))}${hint}`);
  }
  const path = match[2] ?? '';
  const segments = path.split('/');
  if (segments.at(-1) === '') segments.pop();
  const bad = segments.some((s) => s === '' || s === '.' || s === '..' || /[\\\0]/.test(s));
  if (bad) throw new EdgelakeError('invalid-input', `${redactUrl(url)}: the key prefix has an empty, '.' or '..' segment`);
  return { bucket, prefix: segments.map((s) => `${s}/`).join('') };
}

function parseEndpoint(endpoint: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.search) {
    throw new EdgelakeError('invalid-input', `S3 endpoint must be a plain http(s)://host[:port] URL, without user or query: ${JSON.stringify(redactUrl(endpoint))}`);
  }
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}
