// nodeFetch answers as fetch does where HttpSource could tell them apart (test/source/http.test.ts
// runs every HttpSource test over both); these are the parts of fetch it had to write itself.
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeFetch } from '../../src/source/fetch.node.js';
import { HttpSource, isEdgelakeError, withRetry } from '../../src/index.js';
import { seededBytes, serveFiles, startTestServer, type TestServer } from './test-server.js';

const file = seededBytes(50_000, 3);
let [home, elsewhere]: TestServer[] = [];
beforeAll(async () => {
  [home, elsewhere] = await Promise.all([startTestServer(), startTestServer()]);
  elsewhere.handler = serveFiles(new Map([['moved.bin', file]]));
});
afterAll(() => Promise.all([home.close(), elsewhere.close()]));

describe('nodeFetch', () => {
  it('follows redirects, and drops credentials (authorization, cookie, proxy-authorization) when one leaves the origin', async () => {
    home.handler = (request, response) => {
      if (request.url === '/a.bin') return void response.writeHead(302, { location: '/b.bin' }).end();
      response.writeHead(307, { location: `${elsewhere.url}moved.bin` }).end();
    };
    const credentials = { authorization: 'Bearer secret', cookie: 'session=secret', 'proxy-authorization': 'Basic secret' };
    const source = new HttpSource(home.url, { fetch: nodeFetch, headers: credentials });
    expect(await source.readRange('a.bin', 100, 1000)).toEqual(file.subarray(100, 1100));
    expect(home.requests.map((r) => [r.path, r.headers.authorization, r.headers.cookie])).toEqual([['/a.bin', 'Bearer secret', 'session=secret'], ['/b.bin', 'Bearer secret', 'session=secret']]);
    expect(elsewhere.requests.map((r) => [r.path, r.headers.range])).toEqual([['/moved.bin', 'bytes=100-1099']]);
    expect(JSON.stringify(elsewhere.requests[0]!.headers)).not.toContain('secret');
  });

  it('keeps its connection for the next request once a body is read to its end, or has none (304)', async () => {
    const ports = new Set<number>();
    const files = serveFiles(new Map([['f.bin', file], ['edgelake.json', file.subarray(0, 10)]]));
    home.handler = (request, response) => {
      ports.add(request.socket.remotePort!);
      files(request, response);
    };
    const source = new HttpSource(home.url, { fetch: nodeFetch });
    for (let i = 0; i < 10; i++) {
      await source.readRange('f.bin', i * 100, 1000);
      await source.readRanges('f.bin', [{ offset: i, length: 10 }, { offset: 9000, length: 10 }]);
      await source.read('edgelake.json'); // 304 after the first
    }
    expect(ports.size).toBeLessThanOrEqual(2);
  });

  it('gives the bytes a server compressed anyway (Content-Encoding: gzip) as they were', async () => {
    home.handler = (_request, response) => void response.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(file));
    expect(await new HttpSource(home.url, { fetch: nodeFetch }).read('zipped.bin')).toEqual(file);
  });

  it('undoes Content-Encoding in any case, and a list of codings last first (RFC 9110)', async () => {
    const source = new HttpSource(home.url, { fetch: nodeFetch });
    home.handler = (_request, response) => void response.writeHead(200, { 'content-encoding': 'GZIP' }).end(gzipSync(file));
    expect(await source.read('upper.bin')).toEqual(file);
    home.handler = (_request, response) => void response.writeHead(200, { 'content-encoding': 'gzip, identity, br' }).end(brotliCompressSync(gzipSync(file)));
    expect(await source.read('twice.bin')).toEqual(file);
  });

  it("refuses a Content-Encoding it cannot undo ('source', not retried) rather than give compressed bytes as the file", async () => {
    home.handler = (_request, response) => void response.writeHead(200, { 'content-encoding': 'zstd', 'content-length': 4 }).end('ZZZZ');
    const error = await new HttpSource(`${home.url}?sig=secret`, { fetch: nodeFetch }).read('packed.bin').catch((e: Error) => e);
    expect(isEdgelakeError(error, 'source')).toBe(true);
    expect((error as Error).message).toMatch(/\/packed\.bin\?…: the server sent Content-Encoding zstd/);
  });

  it("takes a body its Content-Encoding does not decode for damaged bytes ('integrity', retried), not an unreachable server", async () => {
    home.handler = (_request, response) => void response.writeHead(200, { 'content-encoding': 'gzip', 'content-length': 4 }).end('JFIF');
    const error = await withRetry(new HttpSource(home.url, { fetch: nodeFetch }), { retries: 1, baseDelayMs: 1 }).read('photo.jpg').catch((e: Error) => e);
    expect(isEdgelakeError(error, 'integrity')).toBe(true);
    expect((error as Error).message).toMatch(/\/photo\.jpg: its gzip body could not be decoded: incorrect header check \(the same in every one of 2 attempts\)/);
  });

  it('reads nothing into a 304 that names a Content-Encoding', async () => {
    const etag = '"v1"';
    home.handler = (request, response) => {
      if (request.headers['if-none-match'] === etag) return void response.writeHead(304, { etag, 'content-encoding': 'gzip' }).end();
      response.writeHead(200, { etag, 'content-encoding': 'gzip' }).end(gzipSync(file));
    };
    const source = new HttpSource(home.url, { fetch: nodeFetch });
    expect(await source.read('edgelake.json')).toEqual(file);
    expect(await source.read('edgelake.json')).toEqual(file);
  });
});
