/**
 * A static file server for what the CLI serves (`edgelake view`) and the browser demo: files by
 * URL prefix with HTTP byte ranges, as an object store serves a dataset. Node only.
 */
import { createReadStream, type Stats } from 'node:fs';
import { mkdir, realpath, rename, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';

/** A request the server answered; tests use it to see what reached the network. */
export interface ServedRequest {
  method: string;
  path: string;
  range: string | undefined;
  status: number;
  bytes: number;
  headers: IncomingMessage['headers'];
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.map': 'application/json',
};

/**
 * A static file server over `mounts` (URL prefix -> folder): GET and HEAD, ETag with
 * If-None-Match, one byte range per request (206, or 416 when it lies outside the file), no
 * directory listings, and no path that leaves its folder (by `..` or a symbolic link). Under the
 * `writable` prefixes PUT stores a file as S3 does, If-Match and If-None-Match: * included (412 when they fail), so a
 * commit's compare-and-swap of edgelake.json holds against other writers.
 */
export function serveStatic(mounts: Record<string, string>, onRequest?: (r: ServedRequest) => void, writable: string[] = []): Server {
  const roots = Object.entries(mounts).sort((a, b) => b[0].length - a[0].length).map(([prefix, dir]): Mount => ({ prefix, dir: resolve(dir), real: realOf(resolve(dir)) }));
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

async function answer(req: IncomingMessage, res: ServerResponse, rawPath: string, roots: Mount[], sent: (n: number) => void): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD' }).end();
  const found = locate(rawPath, roots);
  if (found === 'forbidden') return void res.writeHead(403).end();
  let info = found ? await stat(found.file).catch(() => undefined) : undefined;
  let target = found?.file;
  if (info?.isDirectory()) {
    target = join(target!, 'index.html');
    info = await stat(target).catch(() => undefined);
  }
  if (!target || !info?.isFile()) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  if (!(await staysIn(found!.mount, target))) return void res.writeHead(403).end();

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
async function store(req: IncomingMessage, res: ServerResponse, rawPath: string, roots: Mount[]): Promise<void> {
  const found = locate(rawPath, roots);
  if (found === 'forbidden' || !found || rawPath.endsWith('/') || !(await staysIn(found.mount, found.file))) return void res.writeHead(403).end();
  const { file } = found;
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

/** A folder served under a URL prefix. */
interface Mount {
  prefix: string;
  dir: string;
  /** `dir` with its links followed, taken once. */
  real: Promise<string>;
}

/** The file a URL path names under its mount, 'forbidden' for one that would leave it, undefined when unmounted. */
function locate(rawPath: string, roots: Mount[]): { mount: Mount; file: string } | undefined | 'forbidden' {
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return 'forbidden';
  }
  if (path.includes('\0') || path.includes('\\') || path.split('/').includes('..')) return 'forbidden';
  for (const mount of roots) {
    const { prefix, dir } = mount;
    const base = prefix.endsWith('/') ? prefix : `${prefix}/`;
    if (path !== prefix && !path.startsWith(base)) continue;
    const file = resolve(dir, `.${sep}${path.slice(base.length - 1)}`);
    if (!within(dir, file)) return 'forbidden'; // belt and braces after the '..' check
    return { mount, file };
  }
  return undefined;
}

/** Whether `file`, its links followed, is still in its mount's folder: a link may point anywhere. */
async function staysIn(mount: Mount, file: string): Promise<boolean> {
  return within(await mount.real, await realOf(file));
}

function within(root: string, file: string): boolean {
  const rel = relative(root, file);
  return !rel.startsWith('..') && !isAbsolute(rel);
}

/** `path` with its links followed; one not there yet (a PUT's) is its nearest existing folder's real path, then the rest. */
async function realOf(path: string): Promise<string> {
  const real = await realpath(path).catch(() => undefined);
  return real ?? (dirname(path) === path ? path : join(await realOf(dirname(path)), basename(path)));
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
