import { EdgelakeError, isEdgelakeError } from '../errors.js';
import { sameBytes, type Sink } from './sink.js';

export interface HttpSinkOptions {
  /** Sent with every request (tokens go here). */
  headers?: Record<string, string>;
  /** Signs each request just before it is sent (SigV4 for S3: see openSink). */
  sign?: (request: Request) => Promise<Request>;
  fetch?: (request: Request) => Promise<Response>;
  /** Shown in messages instead of the URL prefix. */
  location?: string;
  /**
   * Exactly one process writes under this prefix: `swap` skips the check that the server honours
   * If-Match and If-None-Match on PUT, and on a server that ignores them (nginx's WebDAV, s3rver)
   * compares, then PUTs: last writer wins. Without it such a server is refused ('unsupported').
   */
  singleWriter?: boolean;
}

/** A file of the sink's own, directly under its prefix, that the check of conditional PUT writes. */
const CONDITIONAL_PUT_PROBE = '.edgelake-conditional-put';
const PROBE_BYTES = new TextEncoder().encode('edgelake checks with this file that the server refuses a PUT whose If-Match or If-None-Match fails\n');
const NEVER_MATCHES = '"edgelake-never-matches"';

/**
 * Writes a dataset's files with HTTP PUT under a URL prefix: an S3 bucket (signed), or any server
 * that stores what is PUT. `swap` is a conditional PUT: If-Match the ETag of the bytes it compared
 * (If-None-Match: * when the file was absent), so the server decides atomically and a 412 means
 * another writer came first. S3 and Ceph's radosgw honour both. Some servers ignore them (nginx's
 * WebDAV, s3rver 3.7), which would let a commit silently overwrite another writer's: so before its
 * first swap a sink checks once, with PUTs of its own file .edgelake-conditional-put, that the server
 * refuses a failed condition, and swap refuses ('unsupported') a server that does not, unless
 * `singleWriter: true` says one process writes alone (then last writer wins).
 */
export class HttpSink implements Sink {
  readonly location: string;
  readonly #prefix: string;
  readonly #options: HttpSinkOptions;
  #honoursConditions?: Promise<void>;

  constructor(urlPrefix: string, options: HttpSinkOptions = {}) {
    this.#prefix = urlPrefix.endsWith('/') ? urlPrefix : `${urlPrefix}/`;
    this.#options = options;
    this.location = (options.location ?? this.#prefix).replace(/\/+$/, '');
  }

  async write(path: string, bytes: Uint8Array): Promise<void> {
    const response = await this.#send('PUT', path, {}, bytes);
    if (!response.ok) throw await failure(response, `${this.location}/${path}: PUT`);
  }

  async read(path: string): Promise<Uint8Array | undefined> {
    return (await this.#get(path)).bytes;
  }

  async checkSwap(): Promise<void> {
    if (!this.#options.singleWriter) await this.#checkConditionalPut();
  }

  async swap(path: string, expected: Uint8Array | undefined, next: Uint8Array): Promise<boolean> {
    await this.checkSwap();
    const current = await this.#get(path);
    if (!sameBytes(current.bytes, expected)) return false;
    if (current.bytes && !current.etag) {
      throw new EdgelakeError('source', `${this.location}/${path}: the server sent no ETag, so the file cannot be replaced only if unchanged`);
    }
    const put = (condition: Record<string, string>) => this.#send('PUT', path, condition, next);
    let response = await put(current.etag ? { 'if-match': current.etag } : { 'if-none-match': '*' });
    // Ceph's radosgw 16 compares If-Match with its ETag stripped of the quotes: a 412 while the
    // ETag is unchanged is that, so ask again unquoted (the server still decides atomically).
    if (response.status === 412 && current.etag?.startsWith('"') && (await this.#send('HEAD', path, {})).headers.get('etag') === current.etag) {
      await response.body?.cancel();
      response = await put({ 'if-match': current.etag.slice(1, -1) });
    }
    if (response.status === 412 || response.status === 409) return false; // S3 answers 409 to a conditional write that raced another
    if (response.status >= 500) {
      // Whether the write landed is unknown (radosgw 16 answers 500 to the loser of two conditional PUTs at once): the file says.
      const after = (await this.#get(path)).bytes;
      if (sameBytes(after, next)) return true;
      if (!sameBytes(after, current.bytes)) return false;
    }
    if (!response.ok) throw await failure(response, `${this.location}/${path}: conditional PUT`);
    return true;
  }

  /** Resolves once the server is known to honour If-Match and If-None-Match on PUT; asked once per sink. */
  #checkConditionalPut(): Promise<void> {
    this.#honoursConditions ??= this.#probeConditionalPut().catch((e: unknown) => {
      if (!isEdgelakeError(e, 'unsupported')) this.#honoursConditions = undefined; // a request that failed is asked again by the next swap
      throw e;
    });
    return this.#honoursConditions;
  }

  async #probeConditionalPut(): Promise<void> {
    const ignored = new Map<string, string>(); // header -> what the probe saw
    // The first may create the file (or be ignored); the second surely finds it there, so only a server that ignores the condition stores it.
    if ((await this.#probePut({ 'if-none-match': '*' })) && (await this.#probePut({ 'if-none-match': '*' }))) ignored.set('If-None-Match', 'with If-None-Match: * replaced the file already there');
    // A tag no file has: radosgw 16, comparing it unquoted, refuses it too, as it should.
    if (await this.#probePut({ 'if-match': NEVER_MATCHES })) ignored.set('If-Match', `with If-Match: ${NEVER_MATCHES} replaced a file whose ETag differs`);
    if (ignored.size === 0) return;
    throw new EdgelakeError('unsupported', `${this.location}: the server ignores ${[...ignored.keys()].join(' and ')} on PUT (a PUT of ${CONDITIONAL_PUT_PROBE} ${[...ignored.values()].join('; one ')}), ` +
      "so a commit here could silently overwrite another writer's. Use a server that honours conditional PUT (S3, MinIO, Ceph radosgw), " +
      'or, if exactly one process writes this dataset, open the sink with singleWriter: true (openSink(url, { http: { singleWriter: true } }) or new HttpSink(url, { singleWriter: true }); for the edgelake CLI, EDGELAKE_SINGLE_WRITER=1): then the last writer wins');
  }

  /** A conditional PUT of the probe file: true if stored, false if refused (412). */
  async #probePut(condition: Record<string, string>): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      const response = await this.#send('PUT', CONDITIONAL_PUT_PROBE, condition, PROBE_BYTES);
      if (response.ok || response.status === 412) {
        await response.body?.cancel();
        return response.ok;
      }
      // S3's 409 and radosgw 16's 500 answer a conditional write that raced another (a sink probing at once): ask again.
      const raced = response.status === 409 || response.status >= 500;
      if (!raced || attempt === 3) throw await failure(response, `${this.location}/${CONDITIONAL_PUT_PROBE}: conditional PUT`);
      await response.body?.cancel();
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    }
  }

  async #get(path: string): Promise<{ bytes?: Uint8Array; etag?: string }> {
    const response = await this.#send('GET', path, {});
    if (response.status === 404) return {};
    if (!response.ok) throw await failure(response, `${this.location}/${path}: GET`);
    return { bytes: new Uint8Array(await response.arrayBuffer()), etag: response.headers.get('etag') ?? undefined };
  }

  async #send(method: string, path: string, headers: Record<string, string>, body?: Uint8Array): Promise<Response> {
    if (path.split('/').some((s) => s === '' || s === '.' || s === '..')) throw new EdgelakeError('invalid-input', `${JSON.stringify(path)}: not a relative file path`);
    const url = this.#prefix + path.split('/').map(encodeURIComponent).join('/');
    // A content type with the body: SigV4 signers (aws4fetch) hash the body only when it has one.
    const typed: Record<string, string> = body ? { 'content-type': path.endsWith('.json') ? 'application/json' : 'application/octet-stream' } : {};
    // no-store: a swap must compare against the file as it is now, never a cached copy.
    let request = new Request(url, { method, headers: { ...typed, ...this.#options.headers, ...headers }, body: body as Uint8Array<ArrayBuffer> | undefined, cache: 'no-store' });
    if (this.#options.sign) request = await this.#options.sign(request);
    try {
      return await (this.#options.fetch ?? fetch)(request);
    } catch (e) {
      throw new EdgelakeError('unreachable', `${this.location}/${path}: ${method} failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  }
}

async function failure(response: Response, what: string): Promise<EdgelakeError> {
  // An object store's XML error says why; a web server's HTML error page only repeats the status.
  const html = /html/i.test(response.headers.get('content-type') ?? '');
  const text = html ? '' : (await response.text().catch(() => '')).slice(0, 200).trim();
  const code = response.status === 404 ? 'not-found' : response.status >= 500 ? 'unreachable' : 'source';
  return new EdgelakeError(code, `${what} answered ${response.status}${text ? `: ${text}` : ''}`);
}
