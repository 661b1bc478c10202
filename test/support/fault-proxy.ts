import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { pcgHash } from '../../src/kernels/index.js';

/** What a flaky network and a flaky server do to a response. */
export const FAULTS = ['reset', '503', '429', 'stall', 'truncate', 'flip', 'range'] as const;
export type Fault = (typeof FAULTS)[number];

export interface FaultProxyOptions {
  /** The origin, e.g. nginx's 'http://127.0.0.1:8080'. */
  target: string;
  /** Share of responses that get a fault, in [0, 1]. */
  rate: number;
  seed: number;
  /** The kinds to draw from, equally likely (default all). 'range' hits range reads only; others then pass clean. */
  kinds?: readonly Fault[];
  /** Retry-After of a 429, in seconds (default 1). */
  retryAfterSeconds?: number;
  /** How long a stalled body stays silent before the proxy drops the connection (default 3000 ms). */
  stallMs?: number;
  /** Stops itself after this long (default 10 minutes). */
  maxLifetimeMs?: number;
}

export interface FaultProxy {
  url: string;
  /** Faults injected so far, by kind, and requests seen. */
  stats(): { requests: number; faults: Record<Fault, number> };
  stop(): Promise<void>;
}

/**
 * A reverse proxy on 127.0.0.1 that damages a seeded share of responses: connection resets, 503s,
 * 429s with Retry-After, bodies that stall, bodies cut short, one flipped bit in a body of the
 * right length, and wrong Content-Range headers on range reads. Request n's fate is a pure
 * function of (seed, n), so a run is reproducible for one client order.
 */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const kinds = options.kinds ?? FAULTS;
  const target = new URL(options.target);
  const faults = Object.fromEntries(FAULTS.map((k) => [k, 0])) as Record<Fault, number>;
  const sockets = new Set<Socket>();
  let requests = 0;
  const server = http.createServer((req, res) => {
    const n = requests++;
    const draw = (salt: number) => pcgHash((pcgHash(options.seed ^ salt) ^ n) >>> 0) / 2 ** 32;
    const isRange = req.headers.range !== undefined;
    let fault: Fault | undefined = draw(1) < options.rate ? kinds[Math.floor(draw(2) * kinds.length)] : undefined;
    if (fault === 'range' && !isRange) fault = undefined;
    if (fault) faults[fault]++;
    if (fault === 'reset') return void req.socket.destroy();
    if (fault === '503' || fault === '429') {
      const headers = fault === '429' ? { 'retry-after': String(options.retryAfterSeconds ?? 1) } : {};
      res.writeHead(Number(fault), headers).end();
      return;
    }
    const upstream = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (c: Buffer) => chunks.push(c));
      answer.on('end', () => {
        const body = Buffer.concat(chunks);
        const headers = { ...answer.headers };
        delete headers['transfer-encoding'];
        delete headers.connection;
        headers['content-length'] = String(body.length);
        if (fault === 'flip' && body.length > 0) body[Math.floor(draw(3) * body.length)] ^= 1 << Math.floor(draw(4) * 8);
        if (fault === 'range' && headers['content-range']) headers['content-range'] = shifted(String(headers['content-range']));
        res.writeHead(answer.statusCode ?? 502, headers);
        if (fault === 'truncate' || fault === 'stall') {
          res.write(body.subarray(0, Math.floor(body.length / 2)));
          const wait = fault === 'stall' ? options.stallMs ?? 3000 : 10;
          setTimeout(() => req.socket.destroy(), wait).unref();
          return;
        }
        res.end(body);
      });
    });
    upstream.on('error', () => req.socket.destroy());
    req.pipe(upstream);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const lifetime = setTimeout(() => void stop(), options.maxLifetimeMs ?? 600_000);
  lifetime.unref();
  const stop = async () => {
    clearTimeout(lifetime);
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  const { port } = server.address() as AddressInfo;
  const prefix = target.pathname.replace(/\/$/, '');
  return { url: `http://127.0.0.1:${port}${prefix}`, stats: () => ({ requests, faults: { ...faults } }), stop };
}

/** A Content-Range one byte off from what was asked ("bytes 10-19/100" -> "bytes 11-20/100"). */
function shifted(range: string): string {
  const m = /^bytes (\d+)-(\d+)\/(\S+)$/.exec(range);
  return m ? `bytes ${Number(m[1]) + 1}-${Number(m[2]) + 1}/${m[3]}` : 'bytes */0';
}
