/**
 * A throttling HTTP reverse proxy for benchmarks: it puts a slow link (latency plus a bandwidth
 * cap) between a client and a local origin (nginx, the synthetic server), on 127.0.0.1 only.
 *
 * What it adds, exactly:
 * - Latency: `latencyMs` before the request is forwarded to the origin (the request's one-way
 *   trip) and `latencyMs` again before the response's status and headers go back to the client
 *   (the response's one-way trip). Every request/response exchange, on a new or a kept-alive
 *   connection, so costs 2 x latencyMs more than without the proxy: the round-trip time is
 *   2 x latencyMs (plus the origin's own time). Connection setup (TCP to the proxy) adds nothing:
 *   clients keep connections alive, so this models request round trips, not handshakes.
 * - Bandwidth: response bodies, of all connections together, leave through one shared token
 *   bucket filled at `bytesPerSecond` and holding at most `burstBytes` (default: 5 ms of the cap,
 *   at least 64 KiB): a link cap, not a per-connection cap. A body whose next piece was ready
 *   on time keeps its place on the link's clock even when this process wakes late (on a busy
 *   machine the proxy competes for the CPU with the client it measures; a real link's pacing
 *   does not), so only a link that truly had nothing to send loses capacity. Bodies are cut into `sliceBytes` (default 16 KiB) pieces, each
 *   sent once the bucket holds enough for it, in the order they asked (FIFO), so parallel
 *   connections share the link evenly and the rate is smooth. Over any interval of T seconds at
 *   most burstBytes + T x bytesPerSecond body bytes leave (on the link's clock). Request bodies and headers are not
 *   throttled (downloads are what a loader is limited by).
 * - Everything else passes through: methods, headers (minus hop-by-hop ones; Host is set to the
 *   origin's), Range requests and 206/416 answers, conditional requests and 304s, status codes.
 *
 * It stops by itself after `maxLifetimeMs` (default 30 minutes). `startThrottleProxyProcess`
 * runs the same proxy in a child process, so that the pacing timers do not share an event loop
 * (and a CPU) with the code under test, and the proxy's memory is not counted in its RSS.
 */
import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

export interface ThrottleProxyOptions {
  /** The origin, e.g. 'http://127.0.0.1:8080' (a path prefix is kept and prepended). */
  target: string;
  /** One-way delay in ms, added once to each request and once to each response (RTT + 2 x this). */
  latencyMs: number;
  /** Cap on response-body bytes per second, shared by all connections. */
  bytesPerSecond: number;
  /** Bodies are paced in pieces of at most this many bytes (default 16 KiB). */
  sliceBytes?: number;
  /** Token-bucket depth: bytes that may leave at once after the link was idle (default: 5 ms of the cap, >= 64 KiB). */
  burstBytes?: number;
  /** Stops itself after this long (default 30 minutes). */
  maxLifetimeMs?: number;
}

export interface ThrottleProxyStats {
  /** Requests received. */
  requests: number;
  /** Response-body bytes sent to clients (what the cap limits). */
  responseBytes: number;
  /** Request-body bytes forwarded to the origin. */
  requestBytes: number;
  /** Responses whose body is being sent right now. */
  activeResponses: number;
  /** ms (performance.now() of the proxy) of the first and the latest body byte sent; null before any. */
  firstByteAt: number | null;
  lastByteAt: number | null;
}

export interface ThrottleProxy {
  url: string;
  stats(): ThrottleProxyStats;
  /** Forgets firstByteAt and lastByteAt, so the next stats() time one phase of a run. */
  resetTimes(): void;
  stop(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade']);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The shared token bucket. `take(n)` waits until n bytes may leave and returns the time they
 * leave on the link's clock: reservations are made in call order against one clock (`tail`:
 * when the link has sent everything reserved so far), so a late timer does not lose capacity
 * (its deadline was absolute) and an idle link cannot gain more than the bucket's depth.
 * `readySince`, the previous piece's departure for a body that had its next piece waiting,
 * lets that piece keep its place even if this process woke late: the link was not idle.
 */
export class LinkPacer {
  private tail = 0;
  private readonly bytesPerMs: number;
  private readonly burstMs: number;

  constructor(bytesPerSecond: number, burstBytes: number) {
    if (!(bytesPerSecond > 0)) throw new Error(`bytesPerSecond must be > 0, got ${bytesPerSecond}`);
    this.bytesPerMs = bytesPerSecond / 1000;
    this.burstMs = burstBytes / this.bytesPerMs;
  }

  async take(bytes: number, readySince?: number): Promise<number> {
    const now = performance.now();
    const earliest = Math.min(now, readySince ?? now) - this.burstMs;
    this.tail = Math.max(this.tail, earliest) + bytes / this.bytesPerMs;
    const departure = this.tail;
    if (departure > now) await sleep(departure - now);
    return departure;
  }
}

export async function startThrottleProxy(options: ThrottleProxyOptions): Promise<ThrottleProxy> {
  const target = new URL(options.target);
  if (target.protocol !== 'http:') throw new Error(`the throttle proxy forwards to http:// only, not ${target.protocol}`);
  const prefix = target.pathname.replace(/\/$/, '');
  const latencyMs = Math.max(0, options.latencyMs);
  const sliceBytes = options.sliceBytes ?? 16 * 1024;
  const pacer = new LinkPacer(options.bytesPerSecond, options.burstBytes ?? Math.max(64 * 1024, options.bytesPerSecond * 0.005));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const stats: ThrottleProxyStats = { requests: 0, responseBytes: 0, requestBytes: 0, activeResponses: 0, firstByteAt: null, lastByteAt: null };
  const sockets = new Set<Socket>();
  let stopped = false;

  const server = http.createServer((req, res) => {
    stats.requests++;
    void handle(req, res).catch((e: unknown) => {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`throttle proxy: ${e instanceof Error ? e.message : String(e)}\n`);
      } else {
        res.destroy();
      }
    });
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const headers: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(name)) headers[name] = value;
    headers.host = target.host;
    if (latencyMs > 0) await sleep(latencyMs); // the request's trip over the link
    if (stopped || req.destroyed) return;
    const upstream = http.request({
      host: target.hostname, port: target.port, method: req.method, path: prefix + (req.url ?? '/'), headers, agent,
    });
    const aborted = () => upstream.destroy();
    res.once('close', () => {
      if (!res.writableFinished) aborted();
    });
    req.on('data', (d: Buffer) => (stats.requestBytes += d.length));
    req.pipe(upstream);
    const upRes = await new Promise<http.IncomingMessage>((resolve, reject) => {
      upstream.once('response', resolve);
      upstream.once('error', reject);
    });
    upstream.on('error', () => res.destroy());
    if (latencyMs > 0) await sleep(latencyMs); // the response's trip back
    if (stopped || res.destroyed) return void upRes.destroy();
    const out: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(upRes.headers)) if (!HOP_BY_HOP.has(name) && value !== undefined) out[name] = value;
    res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, out);
    res.flushHeaders();
    stats.activeResponses++;
    try {
      for await (const data of upRes as AsyncIterable<Buffer>) {
        // The pieces of one upstream buffer are ready back to back, unless the client pushes back.
        let readySince: number | undefined;
        for (let at = 0; at < data.length; at += sliceBytes) {
          const piece = data.subarray(at, at + sliceBytes);
          const departure = await pacer.take(piece.length, readySince);
          if (stopped || res.destroyed) return void upRes.destroy();
          const now = performance.now();
          stats.firstByteAt ??= now;
          stats.lastByteAt = now;
          stats.responseBytes += piece.length;
          readySince = departure;
          if (!res.write(piece)) {
            await drained(res);
            readySince = undefined; // the client was not reading: the link may have idled
          }
        }
      }
      res.end();
    } finally {
      stats.activeResponses--;
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    clearTimeout(lifetime);
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    agent.destroy();
    await closed;
  };
  const lifetime = setTimeout(() => void stop(), options.maxLifetimeMs ?? 30 * 60_000);
  lifetime.unref();

  const resetTimes = () => {
    stats.firstByteAt = null;
    stats.lastByteAt = null;
  };
  return { url: `http://127.0.0.1:${port}/`, stats: () => ({ ...stats }), resetTimes, stop };
}

function drained(res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

export interface ThrottleProxyProcess {
  url: string;
  /** The proxy's counters, asked of the child process (its times are on the child's clock). */
  stats(): Promise<ThrottleProxyStats>;
  resetTimes(): Promise<void>;
  stop(): Promise<void>;
}

/** The same proxy in a child process; it exits when this process does, or after its lifetime. */
export async function startThrottleProxyProcess(options: ThrottleProxyOptions): Promise<ThrottleProxyProcess> {
  const script = fileURLToPath(new URL('./throttle-proxy.child.ts', import.meta.url));
  const child = fork(script, [JSON.stringify(options)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { request, ready, stop } = childChannel(child, 'throttle proxy');
  const { url } = (await ready) as { url: string };
  return { url, stats: () => request('stats') as Promise<ThrottleProxyStats>, resetTimes: async () => void (await request('resetTimes')), stop };
}

/**
 * Request/response over a forked child's IPC channel: the child sends { type: 'ready', ... } once,
 * then answers { id, type } with { id, result }. Shared by the bench children.
 */
export function childChannel(child: ChildProcess, what: string, readyTimeoutMs = 120_000) {
  let nextId = 1;
  const waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let readyResolve!: (v: unknown) => void;
  let readyReject!: (e: Error) => void;
  const ready = new Promise<unknown>((resolve, reject) => ((readyResolve = resolve), (readyReject = reject)));
  const timer = setTimeout(() => readyReject(new Error(`${what} did not start within ${readyTimeoutMs} ms`)), readyTimeoutMs);
  child.on('message', (m: { type?: string; id?: number; result?: unknown; error?: string }) => {
    if (m.type === 'ready') {
      clearTimeout(timer);
      readyResolve(m);
    } else if (m.type === 'error' && m.id === undefined) {
      clearTimeout(timer);
      readyReject(new Error(`${what}: ${m.error}`));
    } else if (m.id !== undefined) {
      const w = waiting.get(m.id);
      waiting.delete(m.id);
      if (m.error !== undefined) w?.reject(new Error(`${what}: ${m.error}`));
      else w?.resolve(m.result);
    }
  });
  child.once('exit', (code, signal) => {
    clearTimeout(timer);
    const e = new Error(`${what} exited (${signal ?? code})`);
    readyReject(e);
    for (const w of waiting.values()) w.reject(e);
    waiting.clear();
  });
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', kill);
  return {
    ready,
    request(type: string, body?: unknown): Promise<unknown> {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        child.send({ id, type, body });
      });
    },
    async stop(): Promise<void> {
      process.off('exit', kill);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const killer = setTimeout(kill, 5000);
      await exited;
      clearTimeout(killer);
    },
  };
}
