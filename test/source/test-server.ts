import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Handler = (request: IncomingMessage, response: ServerResponse) => void;

export interface TestServer {
  /** http://127.0.0.1:<port>/ */
  url: string;
  /** Every request seen, in order. */
  requests: Array<{ method: string; path: string; headers: IncomingHttpHeaders; status?: number }>;
  /** What answers the next requests; tests swap it. */
  handler: Handler;
  close(): Promise<void>;
}

/** A node:http server on 127.0.0.1 whose behaviour each test sets through `handler`. */
export async function startTestServer(): Promise<TestServer> {
  const state: TestServer = {
    url: '',
    requests: [],
    handler: (_request, response) => response.writeHead(500).end(),
    close: async () => {},
  };
  const server = createServer((request, response) => {
    const seen = { method: request.method ?? '', path: request.url ?? '', headers: request.headers, status: 0 };
    state.requests.push(seen);
    response.on('finish', () => (seen.status = response.statusCode));
    state.handler(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  state.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

/**
 * Serves files like a static server: Range -> 206 with Content-Range (or 416), several ranges ->
 * multipart/byteranges as nginx writes it, ETag + If-None-Match -> 304. `ignoreRange` answers 200
 * with the whole file, as some servers do; `severalRanges` answers several ranges with the
 * `first` alone (as a server that serves one range a request) or `merged` into one part.
 */
export function serveFiles(files: Map<string, Uint8Array>, options: { ignoreRange?: boolean; severalRanges?: 'parts' | 'first' | 'merged' } = {}): Handler {
  return (request, response) => {
    const path = decodeURIComponent((request.url ?? '/').slice(1).split('?')[0] ?? '');
    const file = files.get(path);
    if (!file) return void response.writeHead(404).end('not found');
    const etag = `"${file.length}-${checksum(file)}"`;
    if (request.headers['if-none-match'] === etag) return void response.writeHead(304, { etag }).end();
    const asked = /^bytes=\d+-\d+(,\d+-\d+)*$/.test(request.headers.range ?? '') ? request.headers.range!.slice(6).split(',').map((r) => r.split('-').map(Number)) : [];
    if (asked.length === 0 || options.ignoreRange) {
      return void response.writeHead(200, { etag, 'content-length': file.length }).end(file);
    }
    let ranges = asked.filter(([start]) => start < file.length).map(([start, end]) => [start, Math.min(end, file.length - 1)]);
    if (ranges.length === 0) {
      return void response.writeHead(416, { 'content-range': `bytes */${file.length}` }).end();
    }
    if (options.severalRanges === 'first') ranges = ranges.slice(0, 1);
    if (options.severalRanges === 'merged') ranges = [[Math.min(...ranges.map((r) => r[0])), Math.max(...ranges.map((r) => r[1]))]];
    if (ranges.length === 1) {
      const [[start, end]] = ranges;
      response.writeHead(206, { 'content-range': `bytes ${start}-${end}/${file.length}`, 'content-length': end - start + 1 });
      return void response.end(file.subarray(start, end + 1));
    }
    const boundary = '00000000000000000001';
    const parts = ranges.flatMap(([start, end]) => [
      Buffer.from(`\r\n--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes ${start}-${end}/${file.length}\r\n\r\n`),
      file.subarray(start, end + 1),
    ]);
    const body = Buffer.concat([...parts, Buffer.from(`\r\n--${boundary}--\r\n`)]);
    response.writeHead(206, { 'content-type': `multipart/byteranges; boundary=${boundary}`, 'content-length': body.length });
    response.end(body);
  };
}

function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (const byte of bytes) sum = (sum * 31 + byte) >>> 0;
  return sum;
}

/** Deterministic bytes for a seed, so failures reproduce. */
export function seededBytes(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes[i] = state & 0xff;
  }
  return bytes;
}
