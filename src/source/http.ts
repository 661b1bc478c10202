import { EdgelakeError } from '../errors.js';
import { readBody, RequestTimer, type HttpResponse } from './body.js';
import { byterangeParts, gatherRanges, rangeRequests, type RangePart, type RangeRequest } from './byteranges.js';
import { checkRange, checkRelativePath, encodePath } from './path.js';
import { redactUrl } from './redact.js';
import { CorruptTransferError, RetryLaterError } from './retry.js';
import type { ByteRange, ReadOptions, Source } from './source.js';

export interface HttpSourceOptions {
  /** Sent with every request (tokens go here); never shown in `location`, messages or logs. */
  headers?: Record<string, string>;
  /** Signs each request just before it is sent; S3Source uses it for SigV4. */
  sign?: (request: Request) => Promise<Request>;
  /** How requests are sent: fetch by default; the Node entry sends them with node:http (nodeFetch). */
  fetch?: (request: Request, init?: RequestInit) => Promise<HttpResponse>;
  /** Longest wait for the response, and then for each next piece of its body (fetch takes a body of up to 4 MiB as one piece). */
  timeoutMs?: number;
  /** Files that may change: read with If-None-Match and served from memory on 304. */
  mutablePaths?: readonly string[];
  /** Largest body accepted from a server that ignores Range, when the read gives no maxBytes. */
  maxIgnoredRangeBytes?: number;
  /** Shown in messages instead of the URL prefix (S3Source shows s3://bucket/prefix/). */
  location?: string;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
/** Whole files up to this size are read from fetch in one piece, within the timeout; larger ones stream, the timeout restarting on every piece. */
const ONE_PIECE_BYTES = 4 << 20;
const DEFAULT_MAX_IGNORED_RANGE_BYTES = 16 * 1024 * 1024;
/** Room for one part's boundary and headers in a multipart/byteranges answer (nginx writes about 100 bytes). */
const PART_OVERHEAD_BYTES = 1024;

/** Reads files under an http(s):// prefix with fetch, or the transport its options give. */
export class HttpSource implements Source {
  readonly location: string;
  readonly #prefix: string;
  readonly #query: string;
  readonly #headers: Headers;
  readonly #sign: HttpSourceOptions['sign'];
  readonly #fetch: NonNullable<HttpSourceOptions['fetch']>;
  readonly #timeoutMs: number;
  readonly #mutable: ReadonlySet<string>;
  readonly #maxIgnoredRangeBytes: number;
  readonly #remembered = new Map<string, { etag: string; body: Uint8Array }>();
  /** Set when the server answered several ranges with the whole file or fewer bytes: it serves one range a request. */
  #oneRangeARequest = false;

  constructor(urlPrefix: string, options: HttpSourceOptions = {}) {
    const url = parseHttpPrefix(urlPrefix);
    this.#headers = new Headers(options.headers);
    if (url.username || url.password) {
      // fetch refuses URLs with credentials; they become a Basic header and leave the location.
      const user = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
      const utf8 = String.fromCharCode(...new TextEncoder().encode(user));
      this.#headers.set('authorization', `Basic ${btoa(utf8)}`);
    }
    this.#prefix = `${url.origin}${url.pathname}`;
    this.#query = url.search;
    this.location = (options.location ?? this.#prefix).replace(/\/+$/, '');
    this.#sign = options.sign;
    this.#fetch = options.fetch ?? ((request, init) => fetch(request, init));
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#mutable = new Set(options.mutablePaths ?? ['edgelake.json']);
    this.#maxIgnoredRangeBytes = options.maxIgnoredRangeBytes ?? DEFAULT_MAX_IGNORED_RANGE_BYTES;
  }

  async read(path: string, options: ReadOptions = {}): Promise<Uint8Array> {
    const where = this.#where(path);
    const max = options.maxBytes ?? Infinity;
    const remembered = this.#mutable.has(path) ? this.#remembered.get(path) : undefined;
    const etag = options.ifChanged ?? remembered?.etag;
    const headers: Record<string, string> = etag ? { 'if-none-match': etag } : {};
    return this.#request(path, headers, options.signal, async (response, timer) => {
      if (response.status === 304 && options.ifChanged) throw abandon(response, new EdgelakeError('not-modified', `${where} has not changed (ETag ${options.ifChanged})`));
      if (response.status === 304 && remembered) {
        if (remembered.body.length > max) throw tooLarge(where, remembered.body.length, max);
        return remembered.body.slice();
      }
      if (response.status !== 200) throw await statusError(response, where);
      const declared = declaredLength(response);
      if (declared !== undefined && declared > max) {
        throw abandon(response, tooLarge(where, declared, max));
      }
      // A small declared body from fetch is taken in one piece: Chromium reports a fetch whose body stream was
      // read to its end as aborted (net::ERR_ABORTED) when the reader got there before the load completed.
      // Other transports (nodeFetch) stream it, so a slow but moving body restarts the timer.
      const window = { start: 0, end: Infinity, max, hint: declared };
      const body = response instanceof Response && declared !== undefined && declared <= ONE_PIECE_BYTES
        ? new Uint8Array(await response.arrayBuffer())
        : await readBody(response, timer, window, () => tooLarge(where, `more than ${max}`, max));
      if (declared !== undefined && body.length !== declared) throw truncated(where, body.length, declared);
      if (this.#mutable.has(path)) this.#remember(path, response.headers.get('etag'), body);
      const validator = response.headers.get('etag');
      if (validator) options.onValidator?.(validator);
      return body;
    });
  }

  async readRange(path: string, offset: number, length: number, options: ReadOptions = {}): Promise<Uint8Array> {
    checkRange(offset, length, this.#where(path));
    const where = `${this.#where(path)} [${offset}, ${offset + length})`;
    if (options.maxBytes !== undefined && length > options.maxBytes) {
      throw tooLarge(where, length, options.maxBytes);
    }
    if (length === 0) return new Uint8Array(0);
    const end = offset + length;
    const headers = { range: `bytes=${offset}-${end - 1}` };
    return this.#request(path, headers, options.signal, async (response, timer) => {
      if (response.status === 206) {
        const range = parseContentRange(response.headers.get('content-range'));
        if (range && range.start === offset && range.end + 1 < end && range.total !== undefined && range.total < end) {
          throw abandon(response, shortFile(where, range.total, end));
        }
        // Any other answer than the range asked is damaged in transit (a proxy, a flaky link): fetched again.
        if (!range || range.start !== offset || range.end + 1 < end) {
          const got = response.headers.get('content-range') ?? 'none';
          throw abandon(response, new CorruptTransferError(`${where}: the server answered Content-Range ${got}, not bytes ${offset}-${end - 1}`));
        }
        const window = { start: 0, end: length, max: length };
        const body = await readBody(response, timer, window, () => tooLarge(where, 'more', length));
        if (body.length < length) throw truncated(where, body.length, length);
        return body;
      }
      if (response.status === 416) {
        const total = parseContentRange(response.headers.get('content-range'))?.total;
        throw abandon(response, shortFile(where, total, end));
      }
      if (response.status !== 200) throw await statusError(response, where);
      // The server ignored Range: read the start of the whole file, within a limit.
      const max = options.maxBytes ?? this.#maxIgnoredRangeBytes;
      const declared = declaredLength(response);
      if (declared !== undefined && declared < end) throw abandon(response, shortFile(where, declared, end));
      if (end > max) {
        const size = declared ?? `at least ${end}`;
        throw abandon(response, tooLarge(`${where} (server ignored Range)`, size, max));
      }
      const body = await readBody(response, timer, { start: offset, end, max }, () => tooLarge(where, 'more', max));
      if (body.length < length) throw shortFile(where, offset + body.length, end);
      return body;
    });
  }

  /**
   * Several ranges in as few requests as servers take (Range: bytes=a-b,c-d, each answered as
   * multipart/byteranges, or one part that holds them all): one, unless the Range header would be
   * longer than a server reads.
   */
  async readRanges(path: string, ranges: readonly ByteRange[], options: ReadOptions = {}): Promise<Uint8Array> {
    const where = this.#where(path);
    for (const { offset, length } of ranges) checkRange(offset, length, where);
    const total = ranges.reduce((a, r) => a + r.length, 0);
    const described = `${where} (${ranges.length} ranges)`;
    if (options.maxBytes !== undefined && total > options.maxBytes) throw tooLarge(described, total, options.maxBytes);
    const asked = ranges.filter((r) => r.length > 0);
    if (asked.length === 0) return new Uint8Array(0);
    if (this.#oneRangeARequest) throw oneRangeOnly(where);
    const answers = await Promise.all(rangeRequests(asked).map((request) => this.#rangeParts(path, request, described, options.signal)));
    const gathered = gatherRanges(answers.flat(), ranges);
    if (!gathered) throw new CorruptTransferError(`${described}: the server's parts do not hold every range asked`);
    return gathered;
  }

  /** The parts of one request's answer for `request.ranges`, each checked to lie within the file. */
  #rangeParts(path: string, request: RangeRequest, described: string, signal: AbortSignal | undefined): Promise<RangePart[]> {
    const where = this.#where(path);
    const last = Math.max(...request.ranges.map((r) => r.offset + r.length));
    return this.#request(path, { range: request.range }, signal, async (response, timer) => {
      if (response.status === 416) throw abandon(response, shortFile(described, parseContentRange(response.headers.get('content-range'))?.total, last));
      if (response.status === 200) {
        this.#oneRangeARequest = true;
        throw abandon(response, oneRangeOnly(where));
      }
      if (response.status !== 206) throw await statusError(response, where);
      const boundary = /^multipart\/byteranges\s*;(?:.*;)?\s*boundary=(?:"([^"]+)"|([^\s;]+))/i.exec(response.headers.get('content-type') ?? '');
      let parts: RangePart[];
      if (boundary) {
        const max = request.ranges.reduce((a, r) => a + r.length, 0) + PART_OVERHEAD_BYTES * (request.ranges.length + 1);
        const body = await readBody(response, timer, { start: 0, end: Infinity, max, hint: declaredLength(response) }, () => tooLarge(described, 'more', max));
        try {
          parts = byterangeParts(body, boundary[1] ?? boundary[2]);
        } catch (e) {
          throw new CorruptTransferError(`${described}: the multipart/byteranges answer is damaged: ${(e as Error).message}`);
        }
      } else {
        // One part: a server may merge the ranges into one; any smaller answer means one range a request.
        const range = parseContentRange(response.headers.get('content-range'));
        if (range?.total !== undefined && range.total < last) throw abandon(response, shortFile(described, range.total, last));
        if (!range || !request.ranges.every((r) => range.start <= r.offset && r.offset + r.length <= range.end + 1)) {
          this.#oneRangeARequest = true;
          throw abandon(response, oneRangeOnly(where));
        }
        const length = range.end + 1 - range.start;
        const body = await readBody(response, timer, { start: 0, end: length, max: length }, () => tooLarge(described, 'more', length));
        if (body.length < length) throw truncated(described, body.length, length);
        parts = [{ start: range.start, bytes: body, size: range.total }];
      }
      const size = parts.find((p) => p.size !== undefined)?.size;
      if (size !== undefined && size < last) throw shortFile(described, size, last);
      return parts;
    });
  }

  #remember(path: string, etag: string | null, body: Uint8Array): void {
    if (etag) this.#remembered.set(path, { etag, body: body.slice() });
    else this.#remembered.delete(path);
  }

  #where(path: string): string {
    checkRelativePath(path, this.location);
    return `${this.location}/${path}`;
  }

  async #request<T>(
    path: string,
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
    handle: (response: HttpResponse, timer: RequestTimer) => Promise<T>,
  ): Promise<T> {
    const where = this.#where(path);
    const timer = new RequestTimer(this.#timeoutMs, signal);
    let answered = false;
    try {
      const url = `${this.#prefix}${encodePath(path)}${this.#query}`;
      const all = new Headers(this.#headers);
      for (const [name, value] of Object.entries(headers)) all.set(name, value);
      let request = new Request(url, { headers: all });
      if (this.#sign) request = await this.#sign(request).catch((e: unknown) => {
        throw new EdgelakeError('source', `${where}: could not sign the request`, { cause: e });
      });
      const response = await this.#fetch(request, { signal: timer.signal });
      answered = true;
      timer.touch();
      return await handle(response, timer);
    } catch (e) {
      if (signal?.aborted) throw signal.reason;
      if (e instanceof EdgelakeError) throw e;
      if (timer.timedOut && answered) {
        throw new EdgelakeError('unreachable', `${where}: the body came too slowly: over ${this.#timeoutMs} ms for its next piece`);
      }
      if (timer.timedOut) {
        throw new EdgelakeError('unreachable', `${where}: no answer within ${this.#timeoutMs} ms`);
      }
      throw new EdgelakeError('unreachable', `${where}: ${describeNetworkError(e)}`, { cause: e });
    } finally {
      timer.dispose();
    }
  }
}

/** Retry-After as milliseconds from `now`: delay-seconds or an HTTP date; undefined if unparsable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function parseHttpPrefix(urlPrefix: string): URL {
  let url: URL;
  try {
    url = new URL(urlPrefix);
  } catch {
    throw new EdgelakeError('invalid-input', `not a URL: ${JSON.stringify(redactUrl(urlPrefix))}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new EdgelakeError('invalid-input', `HttpSource needs an http(s):// URL, not ${url.protocol}`);
  }
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  url.hash = '';
  return url;
}

function parseContentRange(value: string | null) {
  const match = value && /^bytes (?:(\d+)-(\d+)|\*)\/(\d+|\*)$/.exec(value.trim());
  if (!match) return undefined;
  const total = match[3] === '*' ? undefined : Number(match[3]);
  return { start: Number(match[1] ?? NaN), end: Number(match[2] ?? NaN), total };
}

/** Content-Length when it counts the bytes we will see (not when the body is re-encoded). */
function declaredLength(response: HttpResponse): number | undefined {
  const value = response.headers.get('content-length');
  const encoding = response.headers.get('content-encoding');
  if (value === null || (encoding && encoding !== 'identity') || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

async function statusError(response: HttpResponse, where: string): Promise<EdgelakeError> {
  const { status } = response;
  const reason = await storeReason(response);
  if (status === 404 || status === 410) {
    // An object store says whether the bucket or the key is missing (NoSuchBucket, NoSuchKey).
    if (reason.startsWith(' (NoSuchBucket')) return new EdgelakeError('not-found', `${where}: the bucket does not exist (HTTP ${status}, NoSuchBucket)`);
    return new EdgelakeError('not-found', `${where} does not exist (HTTP ${status})`);
  }
  // S3's RequestTimeout (a 400) is the server tiring of a slow upload or download: AWS's SDKs retry it too.
  if (status === 408 || status === 429 || status >= 500 || reason.startsWith(' (RequestTimeout')) {
    return new RetryLaterError(`${where}: HTTP ${status}${reason}`, parseRetryAfter(response.headers.get('retry-after')));
  }
  const region = response.headers.get('x-amz-bucket-region');
  const hint = status === 301 && region ? `; the bucket is in region ${region} (set the region, or AWS_REGION)` : '';
  return new EdgelakeError('source', `${where}: HTTP ${status} ${response.statusText}`.trimEnd() + reason + hint);
}

/**
 * Why an object store refused (S3 and its kin send an XML error document): " (Code: Message)"
 * from the first 4 KiB of the body, or '' when it has none. SignatureDoesNotMatch and
 * AccessDenied both come as a bare 403; only this tells a wrong secret from a missing grant.
 */
async function storeReason(response: HttpResponse): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (let part = await reader.read(); !part.done && text.length < 4096; part = await reader.read()) text += decoder.decode(part.value, { stream: true });
  } catch {
    return '';
  } finally {
    reader.cancel().catch(() => {});
  }
  const element = (name: string) => new RegExp(`<${name}>([^<]{1,300})</${name}>`).exec(text)?.[1].trim();
  const [code, message] = [element('Code'), element('Message')];
  return code ? ` (${code}${message ? `: ${message}` : ''})` : '';
}

/** Frees the connection of a response whose body we will not read. */
function abandon(response: HttpResponse, error: EdgelakeError): EdgelakeError {
  response.body?.cancel().catch(() => {});
  return error;
}

function tooLarge(where: string, size: number | string, max: number): EdgelakeError {
  return new EdgelakeError('limit', `${where} is ${size} bytes, over the limit of ${max}`);
}

function shortFile(where: string, size: number | undefined, needed: number): EdgelakeError {
  const has = size === undefined ? 'shorter' : `${size} bytes`;
  return new EdgelakeError('source', `${where}: file is ${has}, the range needs ${needed} bytes`);
}

function oneRangeOnly(where: string): EdgelakeError {
  return new EdgelakeError('unsupported', `${where}: the server serves one range a request, not several`);
}

function truncated(where: string, got: number, expected: number): EdgelakeError {
  return new EdgelakeError('unreachable', `${where}: connection ended after ${got} of ${expected} bytes`);
}

function describeNetworkError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const cause = e.cause as { code?: string; message?: string } | undefined;
  return cause ? `${e.message} (${cause.code ?? cause.message})` : e.message;
}
