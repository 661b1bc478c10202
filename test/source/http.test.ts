import { inspect } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseRetryAfter } from '../../src/source/index.js';
import { CorruptTransferError } from '../../src/source/retry.js';
import { seededBytes, serveFiles, startTestServer, type TestServer } from './test-server.js';
import { HttpSource, isEdgelakeError, RetryLaterError, type HttpSourceOptions } from '../../src/index.js';
import { nodeFetch } from '../../src/source/fetch.node.js';

const chunk = seededBytes(100_000, 7);
const refs = new TextEncoder().encode('{"format":"edgelake/1","head":"main","refs":{}}');
const files = new Map([
  ['chunks/ab/abcd', chunk],
  ['edgelake.json', refs],
]);

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
  server.handler = serveFiles(files);
});

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the read to fail');
}

// Every test runs with fetch (browsers, and HttpSource's default) and with nodeFetch (what the Node entry sends with).
describe.each([
  ['fetch', undefined],
  ['nodeFetch', nodeFetch],
] as const)('HttpSource over %s', (_name, transport) => {
  const http = (url: string, options: HttpSourceOptions = {}) => new HttpSource(url, { ...(transport && { fetch: transport }), ...options });

  it('reads whole files and byte ranges', async () => {
    const source = http(server.url);
    expect(await source.read('chunks/ab/abcd')).toEqual(chunk);
    expect(await source.readRange('chunks/ab/abcd', 1000, 5000)).toEqual(chunk.subarray(1000, 6000));
    expect(server.requests[1]!.headers.range).toBe('bytes=1000-5999');
  });

  it('reads several ranges in one request (multipart/byteranges), their bytes end to end in the order asked', async () => {
    const source = http(server.url);
    const ranges = [{ offset: 50_000, length: 10 }, { offset: 0, length: 0 }, { offset: 100, length: 20 }, { offset: 99_990, length: 10 }];
    const got = await source.readRanges('chunks/ab/abcd', ranges);
    expect(got).toEqual(new Uint8Array([...chunk.subarray(50_000, 50_010), ...chunk.subarray(100, 120), ...chunk.subarray(99_990)]));
    expect(server.requests.map((r) => r.headers.range)).toEqual(['bytes=50000-50009,100-119,99990-99999']);
  });

  it('takes several ranges from one part when the server merges them into one', async () => {
    server.handler = serveFiles(files, { severalRanges: 'merged' });
    const got = await http(server.url).readRanges('chunks/ab/abcd', [{ offset: 10, length: 5 }, { offset: 900, length: 5 }]);
    expect(got).toEqual(new Uint8Array([...chunk.subarray(10, 15), ...chunk.subarray(900, 905)]));
  });

  it("learns from one answer that a server serves one range a request: 'unsupported', then no more tries", async () => {
    for (const options of [{ ignoreRange: true }, { severalRanges: 'first' as const }]) {
      server.handler = serveFiles(files, options);
      server.requests.length = 0;
      const source = http(server.url);
      const ranges = [{ offset: 10, length: 5 }, { offset: 900, length: 5 }];
      for (let k = 0; k < 2; k++) {
        const error = await failure(source.readRanges('chunks/ab/abcd', ranges));
        expect(isEdgelakeError(error, 'unsupported')).toBe(true);
        expect(error.message).toContain('chunks/ab/abcd');
      }
      expect(server.requests).toHaveLength(1);
      expect(await source.readRange('chunks/ab/abcd', 900, 5)).toEqual(chunk.subarray(900, 905));
    }
  });

  it('names the file and its size when one of several ranges runs past its end', async () => {
    const error = await failure(http(server.url).readRanges('chunks/ab/abcd', [{ offset: 10, length: 5 }, { offset: 99_995, length: 10 }]));
    expect(isEdgelakeError(error, 'source')).toBe(true);
    expect(error.message).toMatch(/chunks\/ab\/abcd \(2 ranges\): file is 100000 bytes, the range needs 100005/);
  });

  it('treats a damaged multipart answer as damaged in transit (a retry layer fetches it again)', async () => {
    const damaged = [
      'no boundary here',
      '\r\n--B\r\nContent-Type: application/octet-stream\r\n\r\n0123456789\r\n--B--\r\n', // no Content-Range
      '\r\n--B\r\nContent-Range: bytes 10-14/100000\r\n\r\n012', // cut short
      '\r\n--B\r\nContent-Range: bytes 10-14/100000\r\n\r\n01234\r\n--B--\r\n', // the second range missing
    ];
    for (const body of damaged) {
      server.handler = (_request, response) => void response.writeHead(206, { 'content-type': 'multipart/byteranges; boundary="B"' }).end(body);
      const error = await failure(http(server.url).readRanges('chunks/ab/abcd', [{ offset: 10, length: 5 }, { offset: 900, length: 5 }]));
      expect(error).toBeInstanceOf(CorruptTransferError);
      expect(error.message).toContain('chunks/ab/abcd (2 ranges)');
    }
  });

  it('slices the body when the server ignores Range, within a limit', async () => {
    server.handler = serveFiles(files, { ignoreRange: true });
    const source = http(server.url, { maxIgnoredRangeBytes: 50_000 });
    expect(await source.readRange('chunks/ab/abcd', 10, 20)).toEqual(chunk.subarray(10, 30));
    const error = await failure(source.readRange('chunks/ab/abcd', 90_000, 10));
    expect(isEdgelakeError(error, 'limit')).toBe(true);
    expect(error.message).toMatch(/ignored Range/);
  });

  it('names the path and sizes when a range runs past the end of the file', async () => {
    const source = http(server.url);
    const past = await failure(source.readRange('chunks/ab/abcd', 99_990, 20));
    expect(isEdgelakeError(past, 'source')).toBe(true);
    expect(past.message).toContain('chunks/ab/abcd');
    expect(past.message).toContain('100000 bytes');
    const beyond = await failure(source.readRange('chunks/ab/abcd', 200_000, 1));
    expect(isEdgelakeError(beyond, 'source')).toBe(true);
  });

  it('maps statuses to error codes: 404 not-found, 403 source, 5xx and 429 unreachable', async () => {
    const source = http(server.url);
    expect(isEdgelakeError(await failure(source.read('missing.bin')), 'not-found')).toBe(true);
    server.handler = (_q, r) => r.writeHead(403).end();
    expect(isEdgelakeError(await failure(source.read('edgelake.json')), 'source')).toBe(true);
    server.handler = (_q, r) => r.writeHead(502).end();
    expect(isEdgelakeError(await failure(source.read('edgelake.json')), 'unreachable')).toBe(true);
    server.handler = (_q, r) => r.writeHead(429, { 'retry-after': '3' }).end();
    const throttled = await failure(source.read('edgelake.json'));
    expect(throttled).toBeInstanceOf(RetryLaterError);
    expect((throttled as RetryLaterError).retryAfterMs).toBe(3000);
  });

  it("names an object store's reason for a refusal, from its XML error document; a refusal without one keeps the status alone", async () => {
    const source = http(server.url);
    server.handler = (_q, r) => r.writeHead(403, { 'content-type': 'application/xml' }).end(
      '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message><StringToSign>AWS4-HMAC-SHA256...</StringToSign></Error>',
    );
    const refused = await failure(source.readRange('chunks/ab/abcd', 0, 10));
    expect(refused).toMatchObject({ code: 'source' });
    expect(refused.message).toMatch(/chunks\/ab\/abcd \[0, 10\): HTTP 403 Forbidden \(SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided\.\)$/);
    server.handler = (_q, r) => r.writeHead(403).end('<html>no</html>');
    expect((await failure(source.read('edgelake.json'))).message).toMatch(/edgelake\.json: HTTP 403 Forbidden$/);
  });

  it('says what an object store says of a missing bucket, a bucket in another region, and a request to try again', async () => {
    const source = http(server.url);
    const xml = (code: string, message: string) => `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;
    server.handler = (_q, r) => r.writeHead(404).end(xml('NoSuchBucket', 'The specified bucket does not exist'));
    expect(await failure(source.read('edgelake.json'))).toMatchObject({ code: 'not-found', message: expect.stringMatching(/edgelake\.json: the bucket does not exist \(HTTP 404, NoSuchBucket\)$/) });
    server.handler = (_q, r) => r.writeHead(404).end(xml('NoSuchKey', 'The specified key does not exist.'));
    expect((await failure(source.read('edgelake.json'))).message).toMatch(/edgelake\.json does not exist \(HTTP 404\)$/);
    server.handler = (_q, r) => r.writeHead(301, { 'x-amz-bucket-region': 'eu-west-1' }).end(xml('PermanentRedirect', 'The bucket you are attempting to access must be addressed using the specified endpoint.'));
    expect((await failure(source.read('edgelake.json'))).message).toMatch(/; the bucket is in region eu-west-1 \(set the region, or AWS_REGION\)$/);
    // S3's RequestTimeout is a 400 that AWS's SDKs retry; a 503 keeps its SlowDown.
    for (const [status, code] of [[400, 'RequestTimeout'], [503, 'SlowDown']] as const) {
      server.handler = (_q, r) => r.writeHead(status).end(xml(code, 'Try again.'));
      const error = await failure(source.read('edgelake.json'));
      expect(error).toBeInstanceOf(RetryLaterError);
      expect(error.message).toMatch(new RegExp(`edgelake\\.json: HTTP ${status} \\(${code}: Try again\\.\\)$`));
    }
  });

  it('parses Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('Wed, 21 Oct 2026 07:28:00 GMT');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Wed, 21 Oct 2026 07:28:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Wed, 21 Oct 2026 07:27:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });

  it('revalidates edgelake.json with its ETag and serves the remembered body on 304', async () => {
    const source = http(server.url);
    expect(await source.read('edgelake.json')).toEqual(refs);
    expect(await source.read('edgelake.json')).toEqual(refs);
    expect(server.requests.map((r) => r.status)).toEqual([200, 304]);
    expect(server.requests[1]!.headers['if-none-match']).toMatch(/^"\d+-\d+"$/);
    // Immutable files are never revalidated.
    await source.read('chunks/ab/abcd');
    await source.read('chunks/ab/abcd');
    expect(server.requests.at(-1)!.headers['if-none-match']).toBeUndefined();
  });

  it('reads a file only if it changed since a validator (ifChanged), and tells the validator of what it read', async () => {
    const source = http(server.url);
    let etag = '';
    expect(await source.read('chunks/ab/abcd', { onValidator: (v) => (etag = v) })).toEqual(await source.read('chunks/ab/abcd'));
    expect(etag).toMatch(/^"\d+-\d+"$/);
    await expect(source.read('chunks/ab/abcd', { ifChanged: etag })).rejects.toMatchObject({ code: 'not-modified' });
    expect(server.requests.at(-1)).toMatchObject({ status: 304, headers: { 'if-none-match': etag } });
    expect((await source.read('chunks/ab/abcd', { ifChanged: '"another"' })).length).toBeGreaterThan(0);
  });

  it('refuses a file over maxBytes from Content-Length, before reading its body', async () => {
    const source = http(server.url);
    const error = await failure(source.read('chunks/ab/abcd', { maxBytes: 1000 }));
    expect(isEdgelakeError(error, 'limit')).toBe(true);
    expect(error.message).toContain('100000');
  });

  it('stops an endless chunked body at maxBytes', async () => {
    let written = 0;
    server.handler = (_request, response) => {
      response.writeHead(200); // no Content-Length: chunked
      const timer = setInterval(() => {
        written += 16_384;
        if (!response.write(new Uint8Array(16_384))) return;
      }, 1);
      response.on('close', () => clearInterval(timer));
    };
    const error = await failure(http(server.url).read('endless.bin', { maxBytes: 100_000 }));
    expect(isEdgelakeError(error, 'limit')).toBe(true);
    expect(written).toBeLessThan(10_000_000);
  });

  it('reports a connection dropped mid-body as unreachable', async () => {
    server.handler = (_request, response) => {
      response.writeHead(200, { 'content-length': chunk.length });
      response.write(chunk.subarray(0, 10_000), () => response.socket?.destroy());
    };
    const error = await failure(http(server.url).read('chunks/ab/abcd'));
    expect(isEdgelakeError(error, 'unreachable')).toBe(true);
    expect(error.message).toContain('chunks/ab/abcd');
  });

  it('times out a server that does not answer, or stalls mid-body', async () => {
    const source = http(server.url, { timeoutMs: 200 });
    server.handler = () => {}; // never answers
    const silent = await failure(source.read('edgelake.json'));
    expect(isEdgelakeError(silent, 'unreachable')).toBe(true);
    expect(silent.message).toMatch(/no answer within 200 ms/);
    server.handler = (_request, response) => {
      response.writeHead(200, { 'content-length': 1000 });
      response.write(new Uint8Array(10)); // and then nothing
    };
    const stalled = await failure(source.read('edgelake.json'));
    expect(isEdgelakeError(stalled, 'unreachable')).toBe(true);
    expect(stalled.message).toMatch(/edgelake\.json: the body came too slowly: over 200 ms for its next piece/);
  });

  it('restarts the timeout on every piece of a slow but moving body (fetch takes a small one whole, within it)', async () => {
    const pieces = Array.from({ length: 10 }, (_, i) => chunk.subarray(i * 1000, (i + 1) * 1000));
    server.handler = (_request, response) => {
      response.writeHead(200, { 'content-length': 10_000 });
      // A piece every 100 ms: 1 s in all, over three times the timeout.
      const timer = setInterval(() => (pieces.length ? response.write(pieces.shift()) : (clearInterval(timer), response.end())), 100);
      response.on('close', () => clearInterval(timer));
    };
    const read = http(server.url, { timeoutMs: 300 }).read('slow.bin');
    if (transport === nodeFetch) expect(await read).toEqual(chunk.subarray(0, 10_000));
    else expect((await failure(read)).message).toMatch(/slow\.bin: the body came too slowly: over 300 ms/);
  });

  it("lets the caller abort, with the caller's reason rather than an EdgelakeError", async () => {
    server.handler = () => {};
    const controller = new AbortController();
    const read = http(server.url).read('edgelake.json', { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('user cancelled')), 50);
    const error = await failure(read);
    expect(error.message).toBe('user cancelled');
    expect(isEdgelakeError(error)).toBe(false);
  });

  it('sends auth headers but never shows them in location, errors or logs', async () => {
    const secret = 'Bearer s3cr3t-token-123';
    const source = http(server.url, { headers: { authorization: secret } });
    await source.read('edgelake.json');
    expect(server.requests[0]!.headers.authorization).toBe(secret);
    server.handler = (_q, r) => r.writeHead(500).end(secret); // even an echoing server
    const errors = [await failure(source.read('edgelake.json')), await failure(source.read('nope/../x'))];
    server.handler = (request) => request.socket.destroy();
    errors.push(await failure(source.read('edgelake.json')));
    for (const text of [source.location, inspect(source), ...errors.map((e) => inspect(e, { depth: 9 }))]) {
      expect(text).not.toContain('s3cr3t');
    }
  });

  it('moves user:password from the URL into a Basic header', async () => {
    const withUser = server.url.replace('http://', 'http://reader:pa55word@');
    const source = http(withUser);
    await source.read('edgelake.json');
    expect(server.requests[0]!.headers.authorization).toBe(`Basic ${btoa('reader:pa55word')}`);
    expect(source.location).toBe(server.url.replace(/\/$/, '')); // a location has no trailing slash
  });

  it('refuses paths that would leave the prefix, without a request', async () => {
    const source = http(`${server.url}data/`);
    for (const path of ['../secret', 'a/../../b', '/etc/passwd', 'a\\b', '', 'a//b', './a']) {
      expect(isEdgelakeError(await failure(source.read(path)), 'invalid-input')).toBe(true);
    }
    expect(server.requests).toHaveLength(0);
  });
});
