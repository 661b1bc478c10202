/**
 * The server's floor for a view over uncompressed chunks: the time to receive, over bare
 * keep-alive sockets, every request the loader makes for the view's samples of one tensor (the
 * same ranges, merged the same way, the same Range headers), with nothing parsed, checked or
 * copied beyond finding where each response ends. No client of that server can read the view's
 * samples faster, so (materialized epoch time) / floor bounds the view / materialized ratio.
 */
import { connect, type Socket } from 'node:net';
import type { Dataset } from '../src/index.js';
import { chunkPath } from '../src/format/index.js';
import { PART_GAP_BYTES, sampleRanges, wantedInChunk } from '../src/runtime/loader/sparse.js';
import { rangeRequests } from '../src/source/byteranges.js';

/** Best of `rounds` of the time (ms) for `lanes` sockets to fetch the view's ranges of `tensor` from `url`. */
export async function rangeFloorMs(url: string, ds: Dataset, tensor: string, ids: ArrayLike<number>, options: { lanes?: number; rounds?: number } = {}): Promise<{ ms: number; requests: number }> {
  const wanted = Uint32Array.from(ids).sort();
  const { host, hostname, port, pathname } = new URL(url);
  const requests: string[] = [];
  let start = 0;
  for (const [chunk, ref] of ds.tensor(tensor).chunks.entries()) {
    const inChunk = wantedInChunk(wanted, start, ref.samples) ?? Uint32Array.from({ length: ref.samples }, (_, i) => i);
    start += ref.samples;
    if (inChunk.length === 0) continue;
    const ranges = sampleRanges(await ds.chunkHeader(tensor, chunk), inChunk, PART_GAP_BYTES).map((r) => ({ offset: r.from, length: r.to - r.from }));
    const path = `${pathname.replace(/\/$/, '')}/${chunkPath(ref.hash)}`;
    for (const { range } of rangeRequests(ranges)) requests.push(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nRange: ${range}\r\n\r\n`);
  }
  const lanes = options.lanes ?? 8;
  let best = Infinity;
  for (let round = 0; round < (options.rounds ?? 7); round++) {
    const started = performance.now();
    await Promise.all(Array.from({ length: lanes }, (_, lane) => fetchInTurn(hostname, Number(port), requests.filter((_, k) => k % lanes === lane))));
    best = Math.min(best, performance.now() - started);
  }
  return { ms: best, requests: requests.length };
}

/** Sends `requests` one after another on one socket, each when the answer before it has ended (at its Content-Length). */
async function fetchInTurn(host: string, port: number, requests: string[]): Promise<void> {
  const socket: Socket = connect(port, host).setNoDelay(true);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let pending: Buffer = Buffer.alloc(0);
  try {
    for (const request of requests) {
      socket.write(request);
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        const onData = (data: Buffer) => {
          pending = pending.length > 0 ? Buffer.concat([pending, data]) : data;
          const headersEnd = pending.indexOf('\r\n\r\n');
          if (headersEnd < 0) return;
          const head = pending.subarray(0, headersEnd).toString('latin1');
          const length = /^content-length:\s*(\d+)/im.exec(head);
          if (!head.startsWith('HTTP/1.1 206') || !length) return reject(new Error(`not a 206 with a Content-Length: ${head.split('\r\n')[0]}`));
          const end = headersEnd + 4 + Number(length[1]);
          if (pending.length < end) return;
          pending = pending.subarray(end);
          socket.off('data', onData).off('error', reject);
          resolve();
        };
        socket.on('data', onData);
      });
    }
  } finally {
    socket.destroy();
  }
}
