/**
 * Serves a synthetic dataset (see synthetic.ts) over HTTP on 127.0.0.1, generating each chunk
 * when asked. argv: <cache file written by syntheticDataset> <lifetime ms>. Exits when the
 * parent goes away (its IPC channel closes), on SIGTERM, or when the lifetime is up.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadSyntheticDataset, syntheticChunk, type SyntheticServerStats, type SyntheticTensor } from './synthetic.js';
import { REFS_PATH, versionPath } from '../src/format/index.js';

const send = (m: unknown) => process.send?.(m);
const [file = '', lifetime = '3600000'] = process.argv.slice(2);
const dataset = loadSyntheticDataset(file);
if (!dataset) {
  send({ type: 'error', error: `cannot read the synthetic dataset ${file}` });
  process.exit(1);
}
const { params, layout } = dataset;
const fixed = new Map<string, { bytes: Uint8Array; etag: string }>([
  [`/${REFS_PATH}`, { bytes: dataset.refsBytes, etag: `"refs-${dataset.versionId}"` }],
  [`/${versionPath(dataset.versionId)}`, { bytes: dataset.manifestBytes, etag: `"${dataset.versionId}"` }],
]);
const chunks = new Map<string, { tensor: SyntheticTensor; index: number }>();
for (const tensor of ['data', 'label'] as const) {
  dataset.manifest.tensors[tensor].chunks.forEach((c, index) => chunks.set(`/chunks/${c.hash.slice(0, 2)}/${c.hash}`, { tensor, index }));
}

// The last few chunks generated, for readers that fetch a header and then ranges of one chunk.
const recent = new Map<string, Uint8Array>();
function chunkBytes(path: string, tensor: SyntheticTensor, index: number): Uint8Array {
  let bytes = recent.get(path);
  if (!bytes) {
    bytes = syntheticChunk(params, tensor, index, layout);
    recent.set(path, bytes);
    if (recent.size > 4) recent.delete(recent.keys().next().value!);
  }
  return bytes;
}

const stats: SyntheticServerStats = { requests: 0, bytesServed: 0, chunkRequests: 0 };
const server = http.createServer((req, res) => {
  stats.requests++;
  const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD' }).end();
  let entry = fixed.get(path);
  const chunk = chunks.get(path);
  if (!entry && chunk) {
    stats.chunkRequests++;
    entry = { bytes: chunkBytes(path, chunk.tensor, chunk.index), etag: `"${path.slice(-64)}"` };
  }
  if (!entry) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  const { bytes, etag } = entry;
  const headers: http.OutgoingHttpHeaders = { etag, 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
  if (req.headers['if-none-match'] === etag) return void res.writeHead(304, headers).end();
  let body = bytes;
  let status = 200;
  const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range?.trim() ?? '');
  if (range && (range[1] || range[2])) {
    let start: number;
    let end: number;
    if (range[1] === '') {
      start = Math.max(0, bytes.length - Number(range[2]));
      end = bytes.length - 1;
    } else {
      start = Number(range[1]);
      end = range[2] === '' ? bytes.length - 1 : Math.min(Number(range[2]), bytes.length - 1);
    }
    if (start >= bytes.length || end < start) {
      return void res.writeHead(416, { ...headers, 'content-range': `bytes */${bytes.length}` }).end();
    }
    status = 206;
    headers['content-range'] = `bytes ${start}-${end}/${bytes.length}`;
    body = bytes.subarray(start, end + 1);
  }
  headers['content-length'] = body.length;
  res.writeHead(status, headers);
  if (req.method === 'HEAD') return void res.end();
  stats.bytesServed += body.length;
  res.end(body);
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => {
  const exit = () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on('disconnect', exit);
  process.on('SIGTERM', exit);
  setTimeout(exit, Number(lifetime)).unref();
  process.on('message', (m: { id: number; type: string }) => {
    if (m.type === 'stats') send({ id: m.id, result: { ...stats } });
    else send({ id: m.id, error: `unknown request ${m.type}` });
  });
  send({ type: 'ready', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` });
});
