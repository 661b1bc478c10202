/**
 * What a new user does: pack edgelake, install the tarball into an empty project (without the
 * optional dawn-node, as a browser-only user would), compile the README's library snippets in
 * strict TypeScript (exactOptionalPropertyTypes and noUncheckedIndexedAccess too) with skipLibCheck
 * off under node16 and bundler resolution, bundle it for a browser with esbuild, run the first one
 * against a dataset served on 127.0.0.1, and run the installed `edgelake` command.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { serveStatic } from '../../demo/web/serve.js';
import { buildSubsetArgs, cli } from '../support/cli.js';
import { hasCommand, missing } from '../support/system.js';
import { readmeSnippets, snippetModule } from './readme.js';

const REPO = resolve(import.meta.dirname, '../..');
const TSC = join(REPO, 'node_modules/typescript/bin/tsc');
const run = promisify(execFile);
/** Packages a consumer brings for the snippets' own imports, linked from this repo's node_modules rather than downloaded. */
const LINKED = ['@types/node', '@tensorflow/tfjs-core', '@tensorflow/tfjs-layers', '@tensorflow/tfjs-backend-webgpu', 'onnxruntime-web'];
/** Output of a source since deleted, as an earlier build in a developer's clone leaves it. */
const STALE = 'dist/deleted-source.js';

let root = '';
/** The user's project, where commands run. */
let dir = '';
let url = '';
let server: ReturnType<typeof serveStatic> | undefined;
let packed: { filename: string; files: { path: string }[] } = { filename: '', files: [] };
let node16: ReturnType<typeof sh> | undefined;
/** The node16 compile also emits out/, which the run tests execute: once for all of them. */
const compileNode16 = () => (node16 ??= sh(process.execPath, [TSC, '-p', 'tsconfig.node16.json']));

/** Runs a command in the temporary project; resolves with its exit code and output even when it fails. */
async function sh(file: string, args: string[], cwd = dir): Promise<{ code: number; out: string; stdout: string }> {
  try {
    const { stdout, stderr } = await run(file, args, { cwd, maxBuffer: 64 << 20, env: { ...process.env, EDGELAKE_REQUIRE_GPU: '' } });
    return { code: 0, out: stdout + stderr, stdout };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : 1, out: `${x.stdout ?? ''}${x.stderr ?? ''}`, stdout: x.stdout ?? '' };
  }
}

function tsconfig(name: string, options: Record<string, unknown>, include = ['snippets', 'run']): void {
  // exactOptionalPropertyTypes: the snippets pass `device: gpu?.device`, so optional options must take undefined.
  const compilerOptions = { target: 'ES2022', strict: true, exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true, skipLibCheck: false, rootDir: '.', outDir: 'out', ...options };
  writeFileSync(join(dir, name), JSON.stringify({ compilerOptions, include }, null, 2));
}

/** A minified browser bundle from the user's project, in memory. */
const esbuild = (options: { stdin: { contents: string; resolveDir: string } } | { entryPoints: { in: string; out: string }[] }) =>
  build({ ...options, absWorkingDir: dir, bundle: true, platform: 'browser', format: 'esm', minify: true, write: false, outdir: 'out-esbuild', logLevel: 'silent' });

/** TF.js 4's own .d.ts fail skipLibCheck: false (and pin an older @webgpu/types), so its snippet compiles apart. */
const usesTfjs = (code: string) => code.includes("from '@tensorflow/");

describe.skipIf(missing('npm', 'install Node.js with npm', hasCommand('npm')))('the packed package, installed', () => {
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'edgelake-package-'));
    expect((await cli(...buildSubsetArgs(join(root, 'served/fashion-mnist')))).code).toBe(0);
    server = serveStatic({ '/fashion-mnist/': join(root, 'served/fashion-mnist') });
    await new Promise<void>((ok) => server!.listen(0, '127.0.0.1', ok));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fashion-mnist`;

    // npm pack runs `prepare`, which builds dist/ afresh from the sources as they are now: a
    // deleted source's output, left from an earlier build, must not ship.
    mkdirSync(join(REPO, 'dist'), { recursive: true });
    writeFileSync(join(REPO, STALE), 'export const deleted = true;\n');
    const pack = await sh('npm', ['pack', '--json', '--pack-destination', root], REPO);
    expect(pack.code, pack.out).toBe(0);
    [packed] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('\n[') + 1));
    const tarball = join(root, packed.filename);

    const app = join(root, 'app');
    mkdirSync(join(app, 'snippets'), { recursive: true });
    mkdirSync(join(app, 'run'));
    mkdirSync(join(app, 'snippets-tfjs'));
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'edgelake-user', private: true, type: 'module' }));
    dir = app;
    const install = await sh('npm', ['install', '--no-audit', '--no-fund', '--omit=optional', tarball]);
    expect(install.code, install.out).toBe(0);
    for (const name of LINKED) {
      mkdirSync(dirname(join(dir, 'node_modules', name)), { recursive: true });
      symlinkSync(join(REPO, 'node_modules', name), join(dir, 'node_modules', name), 'dir');
    }
    // The README imports the TF.js umbrella package; its types are tfjs-core's and tfjs-layers' together.
    mkdirSync(join(dir, 'node_modules/@tensorflow/tfjs'));
    writeFileSync(join(dir, 'node_modules/@tensorflow/tfjs/package.json'), JSON.stringify({ name: '@tensorflow/tfjs', version: '4.22.0', types: 'index.d.ts' }));
    writeFileSync(join(dir, 'node_modules/@tensorflow/tfjs/index.d.ts'), "export * from '@tensorflow/tfjs-core';\nexport * from '@tensorflow/tfjs-layers';\n");

    const snippets = readmeSnippets(readFileSync(join(REPO, 'README.md'), 'utf8'));
    snippets.forEach((code, i) => writeFileSync(join(dir, `${usesTfjs(code) ? 'snippets-tfjs' : 'snippets'}/snippet-${i + 1}.ts`), snippetModule(code, i)));
    expect(snippets.filter(usesTfjs)).toHaveLength(1);
    // The first snippet as written, but against the served subset, and saying what it saw.
    const first = snippets[0].replace("'https://example.org/fashion-mnist'", `'${url}'`);
    expect(first).not.toBe(snippets[0]);
    const report = "\nconsole.log(JSON.stringify({ samples: loader.stats().samples, train: ds.view({ split: 'train' }).length, gpu }));\n";
    writeFileSync(join(dir, 'run/first.ts'), first + report);
    writeFileSync(
      join(dir, 'run/required-gpu.ts'),
      "import { getNodeDevice } from 'edgelake/node';\n" +
        'console.log(JSON.stringify({ plain: await getNodeDevice(), required: await getNodeDevice({ required: true }).then(() => null, (e: { code: string; message: string }) => ({ code: e.code, message: e.message })) }));\n',
    );
    tsconfig('tsconfig.node16.json', { module: 'node16', moduleResolution: 'node16' });
    tsconfig('tsconfig.bundler.json', { module: 'esnext', moduleResolution: 'bundler', noEmit: true });
    tsconfig('tsconfig.tfjs.json', { module: 'node16', moduleResolution: 'node16', noEmit: true, skipLibCheck: true }, ['snippets-tfjs']);
  }, 180_000);

  afterAll(async () => {
    await new Promise((ok) => (server ? server.close(ok) : ok(undefined)));
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test('the tarball holds the LICENSE and dist, and depends on neither dawn-node nor a peer', () => {
    const files = packed.files.map((f) => f.path);
    expect(files).toContain('LICENSE');
    expect(files).toContain('dist/index.d.ts');
    expect(readFileSync(join(dir, 'node_modules/edgelake/LICENSE'), 'utf8')).toMatch(/^MIT License\n\nCopyright \(c\) the edgelake authors/);
    const manifest = JSON.parse(readFileSync(join(dir, 'node_modules/edgelake/package.json'), 'utf8'));
    expect(manifest.license).toBe('MIT');
    expect(Object.keys(manifest.dependencies)).not.toContain('webgpu');
    expect(Object.keys(manifest.dependencies)).toContain('@webgpu/types');
    expect(manifest.optionalDependencies).toEqual({ webgpu: expect.any(String) });
    for (const peer of Object.keys(manifest.peerDependencies)) expect(manifest.peerDependenciesMeta[peer]).toEqual({ optional: true });
    expect(() => readFileSync(join(dir, 'node_modules/webgpu/package.json'))).toThrow(); // --omit=optional left it out
  });

  test('the tarball holds dist without source maps, the docs, the model and its README, the LICENSE: nothing else', () => {
    const files = packed.files.map((f) => f.path);
    expect(files.filter((f) => !f.startsWith('dist/')).sort()).toEqual(
      ['LICENSE', 'README.md', 'docs/FORMAT.md', 'docs/LAYOUT.md', 'docs/LOADER.md', 'models/README.md', 'models/fashion-mnist-0-4.cnn.safetensors', 'package.json'],
    );
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]); // their sources (src/) are not shipped
    expect(files).not.toContain(STALE);
  });

  test('the model and package.json resolve through the exports', async () => {
    const script = "for (const s of ['edgelake/models/fashion-mnist-0-4.cnn.safetensors', 'edgelake/package.json']) console.log(import.meta.resolve(s));";
    const { code, out } = await sh(process.execPath, ['--input-type=module', '-e', script]);
    expect(code, out).toBe(0);
    expect(out.trim().split('\n').map((u) => readFileSync(new URL(u)).length > 0)).toEqual([true, true]);
  });

  test('a browser bundle keeps only what it imports (sideEffects: false)', async () => {
    const small = await esbuild({ stdin: { contents: "import { batchArray } from 'edgelake'; console.log(batchArray);", resolveDir: dir } });
    expect(small.outputFiles[0].text.length).toBeLessThan(4096); // 73 kB when every module counted as having side effects
  });

  test('esbuild bundles the edgelake/decode-worker export, the worker it does not emit from the pool, as an entry or imported for its effect', async () => {
    const worker = await esbuild({ entryPoints: [{ in: 'edgelake/decode-worker', out: 'decode-worker' }] });
    expect(worker.outputFiles[0].text).toMatch(/postMessage/);
    // An app's own worker file that sets something up first, then imports the worker: the import is its side effect, kept.
    const own = await esbuild({ stdin: { contents: "self.addEventListener('error', () => {}); import 'edgelake/decode-worker';", resolveDir: dir } });
    expect(own.outputFiles[0].text).toMatch(/postMessage/);
  });

  test('the entry .d.ts files reference @webgpu/types for TypeScript < 6 only: from 6 on, lib.dom declares WebGPU and the two clash', () => {
    const manifest = JSON.parse(readFileSync(join(dir, 'node_modules/edgelake/package.json'), 'utf8'));
    for (const entry of ['index', 'node', 'kernels/index', 'format/index', 'tfjs', 'onnx']) {
      const name = entry === 'index' ? '.' : `./${entry.replace(/\/index$/, '')}`;
      expect(Object.keys(manifest.exports[name])).toEqual(['types@<6', 'types', 'default']); // the first condition that applies wins
      const [ts5, ts6] = [manifest.exports[name]['types@<6'], manifest.exports[name].types].map((f: string) => readFileSync(join(dir, 'node_modules/edgelake', f), 'utf8'));
      expect(ts5).toMatch(/^\/\/\/ <reference types="@webgpu\/types"/);
      expect(ts6).not.toMatch(/@webgpu\/types/);
      expect(ts5.endsWith(ts6)).toBe(true);
    }
  });

  test.each(['node16', 'bundler'])('the README snippets compile strictly, skipLibCheck off, moduleResolution %s', async (resolution) => {
    const { code, out } = await (resolution === 'node16' ? compileNode16() : sh(process.execPath, [TSC, '-p', `tsconfig.${resolution}.json`]));
    expect(out).toBe('');
    expect(code).toBe(0);
  }, 120_000);

  test('the TF.js snippet compiles strictly (skipLibCheck on: TF.js 4.22 declarations have errors of their own)', async () => {
    const { code, out } = await sh(process.execPath, [TSC, '-p', 'tsconfig.tfjs.json']);
    expect(out).toBe('');
    expect(code).toBe(0);
  }, 120_000);

  test('the first snippet streams the served training split, on the CPU without dawn-node', async () => {
    expect((await compileNode16()).code).toBe(0);
    const { code, out } = await sh(process.execPath, ['out/run/first.js']);
    expect(code, out).toBe(0);
    const seen = JSON.parse(out.trim().split('\n').at(-1)!);
    expect(seen).toEqual({ samples: 5000, train: 5000, gpu: null });
  }, 120_000);

  test("without dawn-node, a required GPU is an error that says to install 'webgpu'", async () => {
    expect((await compileNode16()).code).toBe(0);
    const { code, out } = await sh(process.execPath, ['out/run/required-gpu.js']);
    expect(code, out).toBe(0);
    const { plain, required } = JSON.parse(out.trim().split('\n').at(-1)!);
    expect(plain).toBeNull();
    expect(required.code).toBe('gpu-unavailable');
    expect(required.message).toMatch(/optional 'webgpu' package \(dawn-node\) is not installed: npm install webgpu/);
  }, 120_000);

  test('the installed edgelake command runs', async () => {
    const { code, out } = await sh(join(dir, 'node_modules/.bin/edgelake'), ['--help']);
    expect(code, out).toBe(0);
    expect(out).toMatch(/edgelake/);
  }, 30_000);

  test('the tarball holds the built viewer page, and the installed edgelake view serves it until Ctrl-C', async () => {
    const files = packed.files.map((f) => f.path);
    for (const file of ['index.html', 'viewer.js', 'style.css']) expect(files).toContain(`dist/viewer/${file}`);
    const child = spawn(join(dir, 'node_modules/.bin/edgelake'), ['view', join(root, 'served/fashion-mnist'), '--port', '0'], { cwd: dir });
    let out = '';
    const ended = new Promise<number | null>((ok) => child.on('exit', ok));
    const url = await new Promise<string>((ok, fail) => {
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        const m = /^edgelake viewer: (\S+)/.exec(out);
        if (m) ok(m[1]);
      });
      child.stderr.on('data', (b: Buffer) => (out += b.toString()));
      void ended.then(() => fail(new Error(`edgelake view ended: ${out}`)));
    });
    try {
      expect(await (await fetch(url)).text()).toContain('viewer.js');
      expect((await fetch(new URL('viewer.js', url))).status).toBe(200);
      expect((await (await fetch(new URL('data/edgelake.json', url))).json()).name).toBe('fashion-mnist-subset');
    } finally {
      child.kill('SIGINT');
    }
    expect(await ended).toBe(0);
    expect(out).toMatch(/stopped \(SIGINT\)\n$/);
  }, 30_000);
});
