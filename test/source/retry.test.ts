import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { seededBytes, serveFiles, startTestServer, type Handler, type TestServer } from './test-server.js';
import { EdgelakeError, HttpSource, isEdgelakeError, type Source, withRetry, withVerify } from '../../src/index.js';

const chunk = seededBytes(50_000, 3);
const files = new Map([['chunks/cd/cdef', chunk]]);

let server: TestServer;
let delays: number[];
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
  delays = [];
});

/** Answers the first requests with `failures`, one each, then serves the files. */
function failingFirst(...failures: Handler[]): Handler {
  const files_ = serveFiles(files);
  return (request, response) => (failures.shift() ?? files_)(request, response);
}

function retried(options: Parameters<typeof withRetry>[1] = {}): Source {
  const recordSleep = async (ms: number) => void delays.push(ms);
  return withRetry(new HttpSource(server.url), { random: () => 0.5, sleep: recordSleep, ...options });
}

describe('withRetry', () => {
  it('retries 5xx until the server recovers, with exponential full-jitter backoff', async () => {
    const unavailable: Handler = (_q, r) => r.writeHead(503).end();
    server.handler = failingFirst(unavailable, unavailable, unavailable);
    const source = retried({ baseDelayMs: 100, maxDelayMs: 300 });
    expect(await source.read('chunks/cd/cdef')).toEqual(chunk);
    expect(server.requests.map((r) => r.status)).toEqual([503, 503, 503, 200]);
    expect(delays).toEqual([50, 100, 150]); // random() = 0.5 of 100, 200, then the 300 cap
  });

  it('resumes after a connection dropped mid-body', async () => {
    server.handler = failingFirst((_request, response) => {
      response.writeHead(206, { 'content-range': 'bytes 0-9999/50000', 'content-length': 10_000 });
      response.write(chunk.subarray(0, 100), () => response.socket?.destroy());
    });
    expect(await retried().readRange('chunks/cd/cdef', 0, 10_000)).toEqual(chunk.subarray(0, 10_000));
    expect(server.requests).toHaveLength(2);
  });

  it('waits exactly as long as Retry-After asks on 429, in seconds or as a date', async () => {
    const inThreeSeconds = new Date(Date.now() + 3000).toUTCString();
    server.handler = failingFirst(
      (_q, r) => r.writeHead(429, { 'retry-after': '2' }).end(),
      (_q, r) => r.writeHead(429, { 'retry-after': inThreeSeconds }).end(),
    );
    expect(await retried().read('chunks/cd/cdef')).toEqual(chunk);
    expect(delays[0]).toBe(2000);
    expect(delays[1]).toBeGreaterThan(1000); // an HTTP date has whole seconds
    expect(delays[1]).toBeLessThanOrEqual(3000);
  });

  it('gives up rather than wait longer than maxRetryAfterMs, saying how long the server asked for', async () => {
    server.handler = (_q, r) => r.writeHead(503, { 'retry-after': '3600' }).end();
    const error = await retried({ retries: 2, maxRetryAfterMs: 60_000 }).read('chunks/cd/cdef').catch((e: Error) => e);
    expect(isEdgelakeError(error, 'unreachable')).toBe(true);
    expect((error as Error).message).toMatch(/HTTP 503 \(the server asked to wait 3600 s, more than maxRetryAfterMs \(60000 ms\) allows\)$/);
    expect(server.requests).toHaveLength(1);
  });

  it('gives up after `retries` more attempts, saying so', async () => {
    server.handler = (_q, r) => r.writeHead(500).end();
    const error = await retried({ retries: 2 }).read('chunks/cd/cdef').catch((e: Error) => e);
    expect(isEdgelakeError(error, 'unreachable')).toBe(true);
    expect((error as Error).message).toMatch(/gave up after 3 attempts/);
    expect(server.requests).toHaveLength(3);
  });

  it('never retries not-found, limit or integrity errors', async () => {
    server.handler = serveFiles(files);
    const source = retried();
    await expect(source.read('chunks/cd/nope')).rejects.toMatchObject({ code: 'not-found' });
    await expect(source.read('chunks/cd/cdef', { maxBytes: 10 })).rejects.toMatchObject({ code: 'limit' });
    let calls = 0;
    const corrupt: Source = {
      location: 'memory:',
      read: async () => {
        calls++;
        throw new EdgelakeError('integrity', 'memory:x: SHA-256 mismatch');
      },
      readRange: async () => new Uint8Array(0),
    };
    await expect(withRetry(corrupt).read('x')).rejects.toMatchObject({ code: 'integrity' });
    expect(calls).toBe(1);
    expect(server.requests).toHaveLength(2);
    expect(delays).toEqual([]);
  });

  it('stops waiting when the caller aborts', async () => {
    server.handler = (_q, r) => r.writeHead(503).end();
    const controller = new AbortController();
    const source = withRetry(new HttpSource(server.url), { baseDelayMs: 60_000, maxDelayMs: 60_000, random: () => 1 });
    const read = source.read('chunks/cd/cdef', { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('stop')), 100);
    await expect(read).rejects.toThrow('stop');
    expect(server.requests).toHaveLength(1);
  });

  it('fetches again bytes damaged in transit (a flipped bit, a wrong Content-Range), telling onRetry; a mismatch that persists is final', async () => {
    const flipped = chunk.slice();
    flipped[7] ^= 1;
    const damaged: Handler = (_q, r) => r.writeHead(200, { 'content-length': String(flipped.length) }).end(flipped);
    const wrongRange: Handler = (_q, r) => r.writeHead(206, { 'content-range': 'bytes 1-10/50000', 'content-length': '10' }).end(chunk.subarray(1, 11));
    // The check stands for a verify layer below: the bytes must be the file's.
    const check = (b: Uint8Array) => {
      if (b.length !== chunk.length || b.some((v, i) => v !== chunk[i])) throw new EdgelakeError('integrity', 'chunks/cd/cdef: damaged');
    };
    const verified: Source = withVerify(new HttpSource(server.url), async (_path, bytes) => check(bytes));
    const reasons: string[] = [];
    server.handler = failingFirst(damaged, damaged);
    const source = withRetry(verified, { random: () => 0.5, sleep: async (ms) => void delays.push(ms) });
    expect(await source.read('chunks/cd/cdef', { onRetry: (e) => reasons.push(`${e.code}: ${e.message}`) })).toEqual(chunk);
    expect(reasons).toEqual(['integrity: chunks/cd/cdef: damaged', 'integrity: chunks/cd/cdef: damaged']);

    server.handler = failingFirst(wrongRange);
    reasons.length = 0;
    expect(await source.readRange('chunks/cd/cdef', 0, 10, { onRetry: (e) => reasons.push(e.code) })).toEqual(chunk.subarray(0, 10));
    expect(reasons).toEqual(['integrity']);

    server.handler = (q, r) => damaged(q, r);
    await expect(withRetry(verified, { retries: 2, sleep: async () => {} }).read('chunks/cd/cdef')).rejects.toMatchObject({
      code: 'integrity', message: 'chunks/cd/cdef: damaged (the same in every one of 3 attempts)',
    });
  });
});
