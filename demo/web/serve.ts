/**
 * npm run demo:web: builds the bundled Fashion-MNIST subset (once), bundles the page with Vite and
 * serves both from 127.0.0.1 with Range support, the way an object store would serve the dataset
 * (and takes the labels the page commits, as a bucket takes PUTs).
 *
 *   npx tsx demo/web/serve.ts [--port 8080] [--host 127.0.0.1] [--exit-after SECONDS] [--no-build]
 *
 * Node only; test/browser/demo.test.ts starts the same server with startDemo().
 */
import { createReadStream, existsSync, type Stats } from 'node:fs';
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'vite';
import { buildSubsetArgs, SUBSET_DIR } from '../../scripts/make-subset.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const DEMO_ROOT = join(REPO, '.cache/demo-web');
export const DATASET_DIR = join(DEMO_ROOT, 'fashion-mnist-subset');
export const APP_DIR = join(DEMO_ROOT, 'app');
/** Where the page finds the bundled dataset on its own origin. */
export const DATASET_PATH = '/data/fashion-mnist-subset/';

/** A request the server answered; tests use it to see what reached the network. */
export interface ServedRequest {
  method: string;
  path: string;
  range: string | undefined;
  status: number;
  bytes: number;
  headers: IncomingMessage['headers'];
}

/** Builds the dataset unless it is there (64 KiB chunks, a 32-dim probe); the bundled subset's bytes. */
export async function buildDataset(dir = DATASET_DIR): Promise<void> {
  if (existsSync(join(dir, 'edgelake.json'))) return;
  // buildSubsetArgs names the bundled files relative to the repository: anchor them, whatever the cwd.
  const args = buildSubsetArgs(dir, '--chunk-kib', '64', '--embedding-dims', '32').map((a) => (a.startsWith(`${SUBSET_DIR}/`) ? join(REPO, a) : a));
  const { runCli } = await import('../../src/node.js'); // the whole CLI: load it only when there is something to build
  const code = await runCli(args);
  if (code !== 0) throw new Error(`building the demo dataset into ${dir} failed (exit code ${code})`);
}

/** Bundles demo/web with Vite into `outDir`, as users get it. */
export async function buildApp(outDir = APP_DIR): Promise<void> {
  await build({
    configFile: false,
    root: fileURLToPath(new URL('.', import.meta.url)),
    base: '/',
    logLevel: 'warn',
    // TF.js (for a brought model) is a chunk of its own, loaded only when a run uses one.
    build: { outDir, emptyOutDir: true, target: 'es2022', reportCompressedSize: false, chunkSizeWarningLimit: 1024 },
    worker: { format: 'es' },
  });
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.map': 'application/json',
};

/**
 * A static file server over `mounts` (URL prefix -> folder): GET and HEAD, ETag with
 * If-None-Match, one byte range per request (206, or 416 when it lies outside the file), no
 * directory listings, and no path that leaves its folder. Under the `writable` prefixes PUT
 * stores a file as S3 does, If-Match and If-None-Match: * included (412 when they fail), so a
 * commit's compare-and-swap of edgelake.json holds against other writers.
 */
export function serveStatic(mounts: Record<string, string>, onRequest?: (r: ServedRequest) => void, writable: string[] = []): Server {
  const roots = Object.entries(mounts).sort((a, b) => b[0].length - a[0].length);
  let puts = Promise.resolve(); // one PUT at a time: each compares and renames before the next looks
  return createServer((req, res) => {
    let bytes = 0;
    const path = (req.url ?? '/').split('?')[0];
    res.on('finish', () => onRequest?.({ method: req.method ?? '', path, range: req.headers.range, status: res.statusCode, bytes, headers: req.headers }));
    const done =
      req.method === 'PUT' && writable.some((w) => path.startsWith(w))
        ? (puts = puts.then(() => store(req, res, path, roots), () => store(req, res, path, roots)))
        : answer(req, res, path, roots, (n) => (bytes = n));
    done.catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy(e as Error);
    });
  });
}

async function answer(req: IncomingMessage, res: ServerResponse, rawPath: string, roots: [string, string][], sent: (n: number) => void): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD' }).end();
  const file = locate(rawPath, roots);
  if (file === 'forbidden') return void res.writeHead(403).end();
  let info = file ? await stat(file).catch(() => undefined) : undefined;
  let target = file;
  if (info?.isDirectory()) {
    target = join(file!, 'index.html');
    info = await stat(target).catch(() => undefined);
  }
  if (!target || !info?.isFile()) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');

  const size = info.size;
  const etag = etagOf(info);
  const headers: Record<string, string | number> = {
    'content-type': TYPES[extname(target)] ?? 'application/octet-stream',
    // no-store: the page's own IndexedDB cache is the cache under study; the browser's HTTP cache would hide refetches.
    'accept-ranges': 'bytes', etag, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff',
  };
  if (req.headers['if-none-match']?.split(',').some((t) => t.trim() === etag)) return void res.writeHead(304, headers).end();

  const ifRange = req.headers['if-range'];
  const range = req.headers.range && (ifRange === undefined || ifRange === etag) ? parseRange(req.headers.range, size) : undefined;
  if (range === 'unsatisfiable') return void res.writeHead(416, { ...headers, 'content-range': `bytes */${size}` }).end();
  const [start, end] = range ?? [0, size - 1];
  const length = size === 0 ? 0 : end - start + 1;
  if (range) headers['content-range'] = `bytes ${start}-${end}/${size}`;
  res.writeHead(range ? 206 : 200, { ...headers, 'content-length': length });
  if (req.method === 'HEAD' || length === 0) return void res.end();
  sent(length);
  await new Promise<void>((done, fail) => {
    createReadStream(target, { start, end }).on('error', fail).pipe(res).on('finish', done).on('close', done);
  });
}

/** Inode, size and mtime: a file replaced by rename never keeps its ETag, even within a millisecond. */
function etagOf(info: Stats): string {
  return `"${info.ino.toString(16)}-${info.size.toString(16)}-${Math.floor(info.mtimeMs * 1000).toString(16)}"`;
}

const MAX_PUT_BYTES = 64 * 1024 * 1024;

/** PUT: the body to a temporary file renamed into place, if If-Match / If-None-Match: * hold. */
async function store(req: IncomingMessage, res: ServerResponse, rawPath: string, roots: [string, string][]): Promise<void> {
  const file = locate(rawPath, roots);
  if (file === 'forbidden' || !file || rawPath.endsWith('/')) return void res.writeHead(403).end();
  const parts: Buffer[] = [];
  let length = 0;
  for await (const part of req as AsyncIterable<Buffer>) {
    length += part.length;
    if (length > MAX_PUT_BYTES) return void res.writeHead(413, { connection: 'close' }).end(`a body over ${MAX_PUT_BYTES} bytes\n`);
    parts.push(part);
  }
  const info = await stat(file).catch(() => undefined);
  const ifMatch = req.headers['if-match'];
  const ifNoneMatch = req.headers['if-none-match'];
  if ((ifMatch !== undefined && (!info || !ifMatch.split(',').some((t) => t.trim() === etagOf(info)))) || (ifNoneMatch === '*' && info)) {
    return void res.writeHead(412, { 'content-type': 'text/plain' }).end('precondition failed: the file changed\n');
  }
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.put-${process.pid}-${Math.random().toString(36).slice(2)}`;
  await writeFile(tmp, Buffer.concat(parts));
  await rename(tmp, file);
  res.writeHead(200, { etag: etagOf(await stat(file)) }).end();
}

/** The file a URL path names under its mount, 'forbidden' for one that would leave it, undefined when unmounted. */
function locate(rawPath: string, roots: [string, string][]): string | undefined | 'forbidden' {
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return 'forbidden';
  }
  if (path.includes('\0') || path.includes('\\') || path.split('/').includes('..')) return 'forbidden';
  for (const [prefix, dir] of roots) {
    const base = prefix.endsWith('/') ? prefix : `${prefix}/`;
    if (path !== prefix && !path.startsWith(base)) continue;
    const root = resolve(dir);
    const file = resolve(root, `.${sep}${path.slice(base.length - 1)}`);
    const rel = relative(root, file);
    if (rel.startsWith('..') || isAbsolute(rel)) return 'forbidden'; // belt and braces after the '..' check
    return file;
  }
  return undefined;
}

/** One `bytes=` range of a `size`-byte file as [first, last]; undefined (serve it all) when malformed or multiple. */
export function parseRange(header: string, size: number): [number, number] | 'unsatisfiable' | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return [Math.max(0, size - suffix), size - 1];
  }
  const first = Number(m[1]);
  const last = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < first) return undefined; // syntactically invalid: ignore it (RFC 9110 14.1.1)
  if (first >= size) return 'unsatisfiable';
  return [first, last];
}

export interface DemoOptions {
  port?: number;
  host?: string;
  /** Where the bundled page goes (default APP_DIR). */
  appDir?: string;
  /** Skip the Vite build (use the app already in `appDir`). */
  build?: boolean;
  /** The dataset served (and committed into) at DATASET_PATH; default DATASET_DIR, built if missing. */
  datasetDir?: string;
  /** More folders to serve, read-only (URL prefix -> folder), such as models to bring. */
  mounts?: Record<string, string>;
  onRequest?: (r: ServedRequest) => void;
}

export interface RunningDemo {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/**
 * Builds what is missing and serves the app at / and the dataset at DATASET_PATH, writable: the
 * page commits labels into it with PUTs (If-Match on edgelake.json), as into an S3 bucket.
 */
export async function startDemo(options: DemoOptions = {}): Promise<RunningDemo> {
  const appDir = options.appDir ?? APP_DIR;
  const datasetDir = options.datasetDir ?? DATASET_DIR;
  await buildDataset(datasetDir);
  if (options.build !== false || !existsSync(join(appDir, 'index.html'))) await buildApp(appDir);
  const server = serveStatic({ ...options.mounts, '/': appDir, [DATASET_PATH.slice(0, -1)]: datasetDir }, options.onRequest, [DATASET_PATH]);
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 8080, options.host ?? '127.0.0.1', ok);
  });
  const { address, port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}/`,
    server,
    close: () => (closing ??= new Promise((done) => {
      server.close(() => done());
      server.closeAllConnections();
    })),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: { port: { type: 'string', default: '8080' }, host: { type: 'string', default: '127.0.0.1' }, 'exit-after': { type: 'string' }, 'no-build': { type: 'boolean' } },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535, got ${values.port}`);
  const demo = await startDemo({ port, host: values.host, build: !values['no-build'] }).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EADDRINUSE' && e.code !== 'EACCES') throw e;
    console.error(`npm run demo:web: ${values.host}:${port} is ${e.code === 'EADDRINUSE' ? 'in use' : 'not allowed'}; pick another port: npm run demo:web -- --port N (0 takes a free one)`);
    process.exit(1);
  });
  console.log(`edgelake browser demo: ${demo.url}  (dataset at ${demo.url.slice(0, -1)}${DATASET_PATH}; Ctrl-C stops)`);
  const stop = (why: string) => {
    console.log(`stopping (${why})`);
    void demo.close().then(() => process.exit(0));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  if (values['exit-after'] !== undefined) {
    const seconds = Number(values['exit-after']);
    if (!(seconds >= 0)) throw new Error(`--exit-after must be a number of seconds, got ${values['exit-after']}`);
    setTimeout(() => stop(`--exit-after ${seconds}`), seconds * 1000).unref();
  }
}
