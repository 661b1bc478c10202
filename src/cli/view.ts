import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EdgelakeError } from '../errors.js';
import { DATASET_KINDS } from '../runtime/dataset/kinds/registry.js';
import { schemeOf } from '../source/open.js';
import { redactUrl } from '../source/redact.js';
import { parseFlags, type Flags } from './flags.js';
import type { CliIo } from './io.js';
import { serveStatic, type ServedRequest } from './serve.js';

export const viewUsage = 'edgelake view ROOT [--port N] [--host H] [--exit-after SECONDS] [--page DIR]  (ROOT: a dataset folder or URL, or WebDataset shards / Parquet files: train-{000..009}.tar)';

/** The longest timer Node keeps (2^31 - 1 ms); a longer one fires at once. */
const MAX_EXIT_AFTER = 2147483;

export const viewFlags = {
  port: { type: 'string', value: 'N', default: '8090', help: 'the port to serve on (0 takes a free one)' },
  host: { type: 'string', value: 'H', default: '127.0.0.1', help: 'the address to listen on' },
  'exit-after': { type: 'string', value: 'SECONDS', help: `stop serving after that many seconds, at most ${MAX_EXIT_AFTER} (default: until Ctrl-C)` },
  page: { type: 'string', value: 'DIR', help: "the built viewer page to serve (default: the package's dist/viewer, which npm run build makes)" },
} as const satisfies Flags;

/** Where a local dataset appears on the viewer's origin. */
export const DATASET_PREFIX = '/data/';

export interface ViewerOptions {
  /** A dataset folder or local WebDataset shards / Parquet files (served beside the page), or a URL the page opens itself. */
  root: string;
  /** The built page (index.html, viewer.js, style.css); default: the package's dist/viewer. */
  pageDir?: string;
  port?: number;
  host?: string;
  onRequest?: (r: ServedRequest) => void;
}

export interface RunningViewer {
  /** The page, opening the dataset: what to give a browser. */
  url: string;
  /** The local folder served at DATASET_PREFIX, when ROOT was one (or named files in one). */
  folder?: string;
  server: Server;
  close(): Promise<void>;
}

/** The built page beside this module (dist/cli -> dist/viewer), or in the clone's dist/ when run from src/. */
export function defaultPageDir(): string {
  const candidates = ['../viewer/', '../../dist/viewer/'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  return candidates.find((dir) => existsSync(join(dir, 'viewer.js'))) ?? candidates[0];
}

/** Serves the viewer page (and a local dataset folder, with byte ranges) until closed. */
export async function startViewer(options: ViewerOptions): Promise<RunningViewer> {
  const pageDir = resolve(options.pageDir ?? defaultPageDir());
  if (!existsSync(join(pageDir, 'index.html')) || !existsSync(join(pageDir, 'viewer.js'))) {
    throw new EdgelakeError('not-found', `the viewer page is not built: ${pageDir} has no index.html and viewer.js; run npm run build in the edgelake folder (or pass --page DIR)`);
  }
  const scheme = schemeOf(options.root);
  const local = scheme === undefined ? resolve(options.root) : scheme === 'file' ? fileURLToPath(options.root) : undefined;
  // Shards or Parquet files read in place: their folder is served, and the page opens their pattern in it.
  const files = local !== undefined && DATASET_KINDS.some((k) => k.claims(local)) ? basename(local) : undefined;
  const folder = files === undefined ? local : dirname(local!);
  if (folder !== undefined) {
    const info = await stat(folder).catch(() => undefined);
    if (!info?.isDirectory()) throw new EdgelakeError('not-found', `${folder} is ${info ? 'not a folder' : 'missing'}: ROOT is a dataset folder, WebDataset shards or Parquet files, or an http(s):// URL`);
    if (files === undefined && !existsSync(join(folder, 'edgelake.json'))) throw new EdgelakeError('not-found', `${folder} holds no dataset (no edgelake.json): build one with edgelake build, or give its URL`);
  }
  const mounts: Record<string, string> = { '/': pageDir, ...(folder !== undefined && { [DATASET_PREFIX.slice(0, -1)]: folder }) };
  const server = serveStatic(mounts, options.onRequest);
  const port = options.port ?? 8090;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, ok);
  }).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EADDRINUSE' && e.code !== 'EACCES') throw e;
    throw new EdgelakeError('invalid-input', `${host}:${port} is ${e.code === 'EADDRINUSE' ? 'in use' : 'not allowed'}; pick another port with --port N (0 takes a free one)`);
  });
  const { address, port: bound } = server.address() as AddressInfo;
  const origin = `http://${address.includes(':') ? `[${address}]` : address}:${bound}`;
  // A local dataset is on the page's origin (a relative URL); a remote one is opened where it is (its host must allow CORS).
  const dataset = folder !== undefined ? `${DATASET_PREFIX.slice(1)}${encodeURIComponent(files ?? '')}` : encodeURIComponent(options.root);
  let closing: Promise<void> | undefined;
  return {
    url: `${origin}/?dataset=${dataset}`,
    folder,
    server,
    close: () => (closing ??= new Promise((done) => {
      server.close(() => done());
      server.closeAllConnections();
    })),
  };
}

/** `edgelake view`: serves the viewer page for a dataset until Ctrl-C (or --exit-after). */
export async function viewCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(viewFlags, args);
  if (positionals.length !== 1) throw new EdgelakeError('invalid-input', `usage: ${viewUsage}`);
  // Number('') is 0: an empty --port would take a free port, an empty --exit-after stop at once.
  const port = /^\d+$/.test(values.port!) ? Number(values.port) : NaN;
  if (!(port <= 65535)) throw new EdgelakeError('invalid-input', `--port must be a whole number 0..65535, got ${JSON.stringify(values.port)}`);
  // An empty host listens on every interface: that must be asked for by name.
  if (!values.host!.trim()) throw new EdgelakeError('invalid-input', `--host must name an address (127.0.0.1, or 0.0.0.0 for every interface), got ${JSON.stringify(values.host)}`);
  const exitAfter = values['exit-after'] === undefined ? undefined : values['exit-after'].trim() ? Number(values['exit-after']) : NaN;
  if (exitAfter !== undefined && !(exitAfter >= 0 && exitAfter <= MAX_EXIT_AFTER)) throw new EdgelakeError('invalid-input', `--exit-after must be a number of seconds 0..${MAX_EXIT_AFTER}, got ${JSON.stringify(values['exit-after'])}`);

  const viewer = await startViewer({ root: positionals[0], pageDir: values.page, port, host: values.host });
  const what = viewer.folder ? `${viewer.folder} at ${DATASET_PREFIX}` : 'the page; the dataset is read from its own URL';
  io.stdout(`edgelake viewer: ${viewer.url}\n  serving ${what} (${exitAfter === undefined ? 'Ctrl-C stops' : `stops after ${exitAfter} s`})\n`);
  if (!viewer.folder) io.stdout(`  ${redactUrl(positionals[0])} must allow this origin (CORS) for the page to read it\n`);
  const why = await new Promise<string>((stop) => {
    const onSignal = (signal: string) => stop(signal);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const timer = exitAfter === undefined ? undefined : setTimeout(() => stop(`--exit-after ${exitAfter}`), exitAfter * 1000);
    viewer.server.once('close', () => {
      clearTimeout(timer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    });
  });
  await viewer.close();
  io.stdout(`stopped (${why})\n`);
  return 0;
}
