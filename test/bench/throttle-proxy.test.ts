import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startThrottleProxy, startThrottleProxyProcess, type ThrottleProxy } from '../../bench/throttle-proxy.js';

const MB = 1_000_000;
const BIG = new Uint8Array(8 * MB).map((_, i) => (i * 2654435761) >>> 24);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** An origin on 127.0.0.1: /big (8 MB, honours one Range), /small, and /echo (POST body back). */
let origin: http.Server;
let originUrl: string;
beforeAll(async () => {
  origin = http.createServer((req, res) => {
    if (req.url === '/small') return void res.end('hello');
    if (req.url === '/echo') {
      const parts: Buffer[] = [];
      req.on('data', (d: Buffer) => parts.push(d));
      req.on('end', () => res.writeHead(201, { 'x-method': req.method, 'x-seen': String(req.headers['x-custom']) }).end(Buffer.concat(parts)));
      return;
    }
    if (req.url !== '/big') return void res.writeHead(404).end();
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (!range) return void res.writeHead(200, { 'content-length': BIG.length }).end(BIG);
    const [start, end] = [Number(range[1]), Math.min(Number(range[2]), BIG.length - 1)];
    res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${BIG.length}`, 'content-length': end - start + 1 });
    res.end(BIG.subarray(start, end + 1));
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => origin.close(() => r())));

/** Body bytes per second from the response's headers to its last byte. */
async function download(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { headers });
  const t0 = performance.now();
  const body = new Uint8Array(await response.arrayBuffer());
  return { response, body, seconds: (performance.now() - t0) / 1000, endedAt: performance.now() };
}

describe('the throttle proxy', () => {
  let proxy: ThrottleProxy;
  const cap = 8 * MB;
  beforeAll(async () => {
    proxy = await startThrottleProxy({ target: originUrl, latencyMs: 50, bytesPerSecond: cap });
  });
  afterAll(() => proxy.stop());

  it('passes a big download through intact, never faster than the cap', { timeout: 15_000 }, async () => {
    const { body, seconds, response } = await download(`${proxy.url}big`);
    expect(response.status).toBe(200);
    expect(sha(body)).toBe(sha(BIG));
    const rate = body.length / seconds;
    expect(rate / cap).toBeLessThan(1.1);
  });

  it('caps the link, not each connection: 4 parallel downloads together stay under the cap', { timeout: 15_000 }, async () => {
    const before = proxy.stats().responseBytes;
    const t0 = performance.now();
    const parts = 4;
    const each = 3 * MB;
    const results = await Promise.all(Array.from({ length: parts }, (_, i) =>
      download(`${proxy.url}big`, { range: `bytes=${i * 1000}-${i * 1000 + each - 1}` })));
    // The link is busy from the first body byte (2 x latency after t0) to the last.
    const seconds = (Math.max(...results.map((r) => r.endedAt)) - t0 - 100) / 1000;
    for (const [i, r] of results.entries()) {
      expect(r.response.status).toBe(206);
      expect(sha(r.body)).toBe(sha(BIG.subarray(i * 1000, i * 1000 + each)));
    }
    expect(proxy.stats().responseBytes - before).toBe(parts * each);
    const rate = (parts * each) / seconds;
    expect(rate / cap).toBeLessThan(1.1);
  });

  it('adds latencyMs each way: a small request takes at least 2 x latency', async () => {
    await download(`${proxy.url}small`); // a kept-alive connection, as clients use
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const { body } = await download(`${proxy.url}small`);
      times.push(performance.now() - t0);
      expect(new TextDecoder().decode(body)).toBe('hello');
    }
    times.sort((a, b) => a - b);
    expect(times[0]).toBeGreaterThanOrEqual(99);
  });

  it('passes methods, headers, bodies and statuses through', async () => {
    const response = await fetch(`${proxy.url}echo`, { method: 'POST', headers: { 'x-custom': 'yes' }, body: 'payload' });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-method')).toBe('POST');
    expect(response.headers.get('x-seen')).toBe('yes');
    expect(await response.text()).toBe('payload');
    expect((await fetch(`${proxy.url}missing`)).status).toBe(404);
  });
});

describe('the throttle proxy in a child process', () => {
  it('serves and reports its counters', { timeout: 30_000 }, async () => {
    const proxy = await startThrottleProxyProcess({ target: originUrl, latencyMs: 5, bytesPerSecond: 50 * MB });
    try {
      const { body } = await download(`${proxy.url}big`, { range: 'bytes=0-999999' });
      expect(body.length).toBe(1_000_000);
      const stats = await proxy.stats();
      expect(stats.requests).toBe(1);
      expect(stats.responseBytes).toBe(1_000_000);
    } finally {
      await proxy.stop();
    }
  });
});
