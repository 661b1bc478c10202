// `edgelake view`: the built viewer page and a dataset folder beside it (with byte ranges) on
// 127.0.0.1 until --exit-after; a URL root is handed to the page; mistakes are named.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildViewer } from '../../scripts/build-viewer.js';
import { startViewer } from '../../src/cli/view.js';
import { runCli } from '../../src/node.js';
import { buildSubsetArgs, cli } from '../support/cli.js';

const out = mkdtempSync(join(tmpdir(), 'edgelake-view-'));
const page = join(out, 'page');
const ds = join(out, 'ds');
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** Starts `edgelake view ARGS` in-process; resolves with the URL it printed, and later with how it ended. */
function view(...args: string[]): { url: Promise<string>; done: Promise<{ code: number; stdout: string; stderr: string }> } {
  let stdout = '';
  let stderr = '';
  let found: (url: string) => void = () => {};
  const url = new Promise<string>((ok) => (found = ok));
  const done = runCli(['view', ...args], {
    stdout: (t) => {
      stdout += t;
      const m = /^edgelake viewer: (\S+)/.exec(stdout);
      if (m) found(m[1]);
    },
    stderr: (t) => void (stderr += t),
    isTTY: false,
  }).then((code) => ({ code, stdout, stderr }));
  return { url, done };
}

describe('edgelake view', () => {
  beforeAll(async () => {
    await buildViewer(page);
    expect((await cli(...buildSubsetArgs(ds, '--chunk-kib', '256'))).code).toBe(0);
  }, 120_000);

  it('serves the page and the dataset folder (ranges included) on 127.0.0.1, then stops after --exit-after', async () => {
    const started = performance.now();
    const run = view(ds, '--port', '0', '--exit-after', '2', '--page', page);
    const url = await run.url;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?dataset=data\/$/);
    const html = await (await fetch(url)).text();
    expect(html).toContain('<script type="module" src="viewer.js">');
    const script = await fetch(new URL('viewer.js', url));
    expect([script.status, script.headers.get('content-type')]).toEqual([200, 'text/javascript; charset=utf-8']);
    expect((await fetch(new URL('style.css', url))).status).toBe(200);
    // The dataset, where the page's ?dataset=data/ points, answering ranges as an object store would.
    const dataset = new URL('data/', url);
    const refs = await (await fetch(new URL('edgelake.json', dataset))).json() as { name: string; head: string; refs: Record<string, string> };
    expect(refs.name).toBe('fashion-mnist-subset');
    const manifest = await (await fetch(new URL(`versions/${refs.refs[refs.head]}.json`, dataset))).json() as { tensors: Record<string, { chunks: { hash: string; bytes: number }[] }> };
    const chunk = manifest.tensors.image.chunks[0];
    const part = await fetch(new URL(`chunks/${chunk.hash.slice(0, 2)}/${chunk.hash}`, dataset), { headers: { range: 'bytes=0-99' } });
    expect([part.status, part.headers.get('content-range'), (await part.arrayBuffer()).byteLength]).toEqual([206, `bytes 0-99/${chunk.bytes}`, 100]);

    const { code, stdout } = await run.done;
    expect(code).toBe(0);
    expect(stdout).toBe(`edgelake viewer: ${url}\n  serving ${ds} at /data/ (stops after 2 s)\nstopped (--exit-after 2)\n`);
    expect(performance.now() - started).toBeGreaterThan(1900);
    await expect(fetch(url)).rejects.toThrow(); // closed
  });

  it('serves no file that a symbolic link puts outside the folder; a link that stays inside is served', async () => {
    const folder = join(out, 'linked');
    mkdirSync(folder);
    writeFileSync(join(folder, 'edgelake.json'), '{}');
    writeFileSync(join(out, 'secret.txt'), 'outside');
    symlinkSync('edgelake.json', join(folder, 'same.json'));
    symlinkSync(join(out, 'secret.txt'), join(folder, 'secret.txt'));
    symlinkSync(out, join(folder, 'up'));
    const viewer = await startViewer({ root: folder, pageDir: page, port: 0 });
    try {
      const status = async (path: string) => (await fetch(new URL(path, viewer.url))).status;
      expect([await status('/data/same.json'), await status('/data/secret.txt'), await status('/data/up/secret.txt')]).toEqual([200, 403, 403]);
    } finally {
      await viewer.close();
    }
  });

  it('hands a URL root to the page, which opens it itself', async () => {
    const run = view('https://example.org/data/fashion-mnist', '--port', '0', '--exit-after', '0', '--page', page);
    expect(await run.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?dataset=https%3A%2F%2Fexample\.org%2Fdata%2Ffashion-mnist$/);
    const { code, stdout } = await run.done;
    expect(code).toBe(0);
    expect(stdout).toContain('serving the page; the dataset is read from its own URL');
    expect(stdout).toContain('https://example.org/data/fashion-mnist must allow this origin (CORS)');
  });

  it('names what is wrong: a missing folder, a folder with no dataset, an unbuilt page, a bad port', async () => {
    const missing = await cli('view', join(out, 'no-such-folder'), '--page', page);
    expect([missing.code, missing.stderr]).toEqual([1, `edgelake view: ${join(out, 'no-such-folder')} is missing: ROOT is a dataset folder, WebDataset shards or Parquet files, or an http(s):// URL\n`]);
    mkdirSync(join(out, 'empty'));
    const empty = await cli('view', join(out, 'empty'), '--page', page);
    expect(empty.stderr).toBe(`edgelake view: ${join(out, 'empty')} holds no dataset (no edgelake.json): build one with edgelake build, or give its URL\n`);
    writeFileSync(join(out, 'a-file'), '');
    expect((await cli('view', join(out, 'a-file'), '--page', page)).stderr).toContain('is not a folder');
    const unbuilt = await cli('view', ds, '--page', join(out, 'empty'));
    expect([unbuilt.code, unbuilt.stderr]).toEqual([1, `edgelake view: the viewer page is not built: ${join(out, 'empty')} has no index.html and viewer.js; run npm run build in the edgelake folder (or pass --page DIR)\n`]);
    expect(await cli('view', ds, '--port', '70000', '--page', page)).toMatchObject({ code: 2, stderr: 'edgelake view: --port must be a whole number 0..65535, got "70000"\n' });
    expect((await cli('view', ds, '--exit-after', 'soon', '--page', page)).code).toBe(2);
    expect((await cli('view')).stderr).toBe(`edgelake view: usage: edgelake view ROOT [--port N] [--host H] [--exit-after SECONDS] [--page DIR]  (ROOT: a dataset folder or URL, or WebDataset shards / Parquet files: train-{000..009}.tar)\n`);
  });

  it('refuses an empty --host, --port or --exit-after, and an --exit-after past what a timer holds', async () => {
    const cases: [string[], string][] = [
      // --exit-after 0: were one of these taken, the viewer would stop at once rather than serve on.
      [['--host', '', '--exit-after', '0'], '--host must name an address (127.0.0.1, or 0.0.0.0 for every interface), got ""'],
      [['--port', '', '--exit-after', '0'], '--port must be a whole number 0..65535, got ""'],
      [['--port', ' ', '--exit-after', '0'], '--port must be a whole number 0..65535, got " "'],
      [['--exit-after', ''], '--exit-after must be a number of seconds 0..2147483, got ""'],
      [['--exit-after', '1e10'], '--exit-after must be a number of seconds 0..2147483, got "1e10"'],
      [['--exit-after', 'Infinity'], '--exit-after must be a number of seconds 0..2147483, got "Infinity"'],
    ];
    for (const [flags, message] of cases) expect(await cli('view', ds, ...flags, '--page', page), flags.join(' ')).toEqual({ code: 2, stdout: '', stderr: `edgelake view: ${message}\n` });
  });

  it('an address it cannot listen on is one line and exit 1', async () => {
    // 192.0.2.1 is a documentation address (TEST-NET-1), on no interface of this machine.
    expect(await cli('view', ds, '--port', '0', '--host', '192.0.2.1', '--page', page)).toEqual({ code: 1, stdout: '', stderr: expect.stringMatching(/^edgelake view: listen EADDRNOTAVAIL: address not available 192\.0\.2\.1\S*\n$/) });
  });

  it('a port in use is an error that says to pick another', async () => {
    const first = view(ds, '--port', '0', '--exit-after', '2', '--page', page);
    const port = new URL(await first.url).port;
    const second = await cli('view', ds, '--port', port, '--page', page);
    expect([second.code, second.stderr]).toEqual([2, `edgelake view: 127.0.0.1:${port} is in use; pick another port with --port N (0 takes a free one)\n`]);
    expect((await first.done).code).toBe(0);
  });
});
