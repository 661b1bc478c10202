import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EdgelakeError } from '../errors.js';
import { nodeFetch } from './fetch.node.js';
import { FileSource } from './file.node.js';
import { openTransport, schemeOf, withDefaults, type OpenSourceOptions } from './open.js';
import { redactUrl } from './redact.js';
import type { S3SourceOptions } from './s3.js';
import type { Source } from './source.js';

/**
 * openSource, plus local folders (plain paths and file:// URLs) and S3 settings from the usual
 * AWS_* environment variables when `options.s3` gives no credentials.
 */
export function openSourceNode(location: string, options: OpenSourceOptions = {}): Source {
  return withDefaults(openTransportNode(location, options), options);
}

/** openTransport, plus local folders and S3 settings from the environment (see openSourceNode). */
export function openTransportNode(location: string, options: Pick<OpenSourceOptions, 'http' | 's3'> = {}): Source {
  const scheme = schemeOf(location);
  if (scheme === undefined && /^(localhost|[\d.]+|[\w-]+(\.[\w-]+)+):\d+(\/|$)/.test(location) && !existsSync(location)) {
    // host:port/path is a URL without its scheme, not a folder of that name.
    throw new EdgelakeError('invalid-input', `${JSON.stringify(redactUrl(location))} is not a folder; a URL needs its scheme: http://${redactUrl(location)}`);
  }
  if (scheme === undefined) return new FileSource(location);
  if (scheme === 'file') return new FileSource(filePath(location));
  // Requests go out on node:http (nodeFetch) unless the caller brought its own fetch.
  const http = { fetch: nodeFetch, ...options.http };
  const s3 = { fetch: nodeFetch, ...(scheme === 's3' && options.s3?.accessKeyId === undefined && s3FromEnvironment(process.env)), ...options.s3 };
  return openTransport(location, { http, s3 });
}

/** A file:// URL's path; one that names another host (or none Node can read) is an argument error. */
function filePath(url: string): string {
  try {
    return fileURLToPath(url);
  } catch (e) {
    throw new EdgelakeError('invalid-input', `cannot open ${JSON.stringify(redactUrl(url))}: not a local file:// URL (${(e as Error).message})`, { cause: e });
  }
}

export function s3FromEnvironment(env: NodeJS.ProcessEnv): S3SourceOptions {
  const options: S3SourceOptions = {};
  // An empty variable is unset, as the AWS CLI reads it: it must not hide the fallback after it.
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL;
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION;
  if (endpoint) options.endpoint = endpoint;
  if (region) options.region = region;
  if (!env.AWS_ACCESS_KEY_ID !== !env.AWS_SECRET_ACCESS_KEY) {
    // Half a key pair would go unsigned, and a private bucket would answer 403 with no word of why.
    const missing = env.AWS_ACCESS_KEY_ID ? 'AWS_SECRET_ACCESS_KEY' : 'AWS_ACCESS_KEY_ID';
    throw new EdgelakeError('invalid-input', `partial S3 credentials in the environment: ${missing} is not set (set both, or neither for public buckets)`);
  }
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    options.accessKeyId = env.AWS_ACCESS_KEY_ID;
    options.secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
    if (env.AWS_SESSION_TOKEN) options.sessionToken = env.AWS_SESSION_TOKEN;
  }
  return options;
}
