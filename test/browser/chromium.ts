import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { missing } from '../support/system.js';

/**
 * The one way browser tests get a page: Debian's Chromium driven by playwright-core (never a
 * downloaded browser), a fresh profile per harness, and pages served from 127.0.0.1 because
 * IndexedDB and navigator.storage need a real origin.
 *
 *   describe.skipIf(noChromium)('...', () => { const h = await openBrowser({ '/entry.js': await bundle(file) }) })
 */
export const CHROMIUM = '/usr/bin/chromium';
export const noChromium = missing('chromium', 'apt-get install chromium', existsSync(CHROMIUM));

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--use-webgpu-adapter=swiftshader',
  '--enable-unsafe-swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export interface Browser {
  context: BrowserContext;
  /** http://127.0.0.1:PORT, the origin every page shares. */
  origin: string;
  /** Opens a tab on `path` (default: a page that loads /entry.js as a module) and waits for it to load. */
  open(path?: string): Promise<Page>;
  /** Closes the browser, the server and removes the profile; safe to call twice. */
  close(): Promise<void>;
}

/** Bundles a TypeScript entry (and what it imports) into one browser ES module. */
export async function bundle(entry: string): Promise<string> {
  const result = await build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, logLevel: 'silent' });
  return result.outputFiles[0].text;
}

/** `files` maps URL paths to what the origin serves (JavaScript, or bytes: .wasm and the rest); "/" loads "/entry.js". */
export async function openBrowser(files: Record<string, string | Uint8Array>, timeoutMs = 30_000): Promise<Browser> {
  const server = await serve(files);
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const profile = await mkdtemp(join(tmpdir(), 'edgelake-chromium-'));
  let context: BrowserContext | undefined;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await context?.close().catch(() => {});
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await rm(profile, { recursive: true, force: true });
  };
  try {
    // A persistent context keeps IndexedDB in the profile, so a reload or a second tab sees it.
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: ARGS, headless: true, timeout: timeoutMs });
    context.setDefaultTimeout(timeoutMs);
  } catch (e) {
    await close();
    throw e;
  }
  const ctx = context;
  return {
    context: ctx,
    origin,
    async open(path = '/') {
      const page = await ctx.newPage();
      page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
      await page.goto(origin + path, { waitUntil: 'load' });
      return page;
    },
    close,
  };
}

const TYPES: Record<string, string> = { js: 'text/javascript', mjs: 'text/javascript', wasm: 'application/wasm' };

function serve(files: Record<string, string | Uint8Array>): Promise<Server> {
  const page = '<!doctype html><meta charset="utf-8"><title>edgelake test</title><script type="module" src="/entry.js"></script>';
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const body = path === '/' ? page : files[path];
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    const type = path === '/' ? 'text/html' : TYPES[path.split('.').pop()!] ?? 'application/octet-stream';
    res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}
