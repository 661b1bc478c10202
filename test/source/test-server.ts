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
 * Serves files like a static server: Range -> 206 with Content-Range (or 416), ETag +
 * If-None-Match -> 304. `ignoreRange` answers 200 with the whole file, as some servers do.
 */
export function serveFiles(files: Map<string, Uint8Array>, options: { ignoreRange?: boolean } = {}): Handler {
  return (request, response) => {
    const path = decodeURIComponent((request.url ?? '/').slice(1).split('?')[0] ?? '');
    const file = files.get(path);
    if (!file) return void response.writeHead(404).end('not found');
    const etag = `"${file.length}-${checksum(file)}"`;
    if (request.headers['if-none-match'] === etag) return void response.writeHead(304, { etag }).end();
    const range = /^bytes=(\d+)-(\d+)$/.exec(request.headers.range ?? '');
    if (!range || options.ignoreRange) {
      return void response.writeHead(200, { etag, 'content-length': file.length }).end(file);
    }
    const start = Number(range[1]);
    const end = Math.min(Number(range[2]), file.length - 1);
    if (start >= file.length) {
      return void response.writeHead(416, { 'content-range': `bytes */${file.length}` }).end();
    }
    response.writeHead(206, {
      'content-range': `bytes ${start}-${end}/${file.length}`,
      'content-length': end - start + 1,
    });
    response.end(file.subarray(start, end + 1));
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
