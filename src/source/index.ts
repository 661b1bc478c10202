// The platform-neutral source layer; FileSource and openSourceNode live in the *.node.ts files.
export type { ByteRange, ReadOptions, Source } from './source.js';
export { HttpSource, DEFAULT_TIMEOUT_MS, parseRetryAfter, type HttpSourceOptions } from './http.js';
export { S3Source, parseS3Url, type S3Location, type S3SourceOptions } from './s3.js';
export { withRetry, RetryLaterError, DEFAULT_RETRY, type RetryOptions } from './retry.js';
export { withConcurrency } from './limit.js';
export { openSource, withDefaults, DEFAULT_CONCURRENCY, type OpenSourceOptions } from './open.js';
export { checkRelativePath } from './path.js';
