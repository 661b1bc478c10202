/**
 * npm run demo:web: builds the bundled Fashion-MNIST subset (once), bundles the page with Vite and
 * serves both from 127.0.0.1 with Range support, the way an object store would serve the dataset
 * (and takes the labels the page commits, as a bucket takes PUTs).
 *
 *   npx tsx demo/web/serve.ts [--port 8080] [--host 127.0.0.1] [--exit-after SECONDS] [--no-build]
 *
 * Node only; test/browser/demo.test.ts starts the same server with startDemo().
 */
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'vite';
import { serveStatic, type ServedRequest } from '../../src/cli/serve.js';
import { buildSubsetArgs, SUBSET_DIR } from '../../scripts/make-subset.js';

// The static server (ranges, ETags, PUTs) is the CLI's, shared with `edgelake view`.
export { parseRange, serveStatic, type ServedRequest } from '../../src/cli/serve.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const DEMO_ROOT = join(REPO, '.cache/demo-web');
export const DATASET_DIR = join(DEMO_ROOT, 'fashion-mnist-subset');
export const APP_DIR = join(DEMO_ROOT, 'app');
/** Where the page finds the bundled dataset on its own origin. */
export const DATASET_PATH = '/data/fashion-mnist-subset/';

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
