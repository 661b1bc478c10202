// HttpSink: a dataset root written with HTTP PUT, refs moved by conditional PUT (If-Match), as on S3.
// The server is the demo's static server with a writable mount, which honours If-Match as S3 does;
// then nginx's WebDAV, which ignores it, and where a swap is refused unless one process writes alone.
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { serveStatic, type ServedRequest } from '../../demo/web/serve.js';
import { readDataset } from '../spec-reader/reader.js';
import { buildSubsetArgs, cli } from '../support/cli.js';
import { startNginx, type RunningNginx } from '../support/nginx.js';
import { hasCommand, missing } from '../support/system.js';
import { ActiveLearner, isEdgelakeError, materialize, MemoryLabelStore, mlp, openSink, query, saveView } from '../../src/index.js';
import { buildImageFolder, HttpSink } from '../../src/format/index.js';
import { encodePng } from './image/png-encoder.js';
import { openDataset } from '../../src/node.js';

const root = mkdtempSync(join(tmpdir(), 'edgelake-http-sink-'));
const served: ServedRequest[] = [];
let server: Server;
let base: string;

beforeAll(async () => {
  server = serveStatic({ '/files': join(root, 'files'), '/ds': join(root, 'ds') }, (r) => served.push(r), ['/files/', '/ds/']);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  expect((await cli(...buildSubsetArgs(join(root, 'ds'), '--chunk-kib', '64', '--embedding-dims', '8'))).code).toBe(0);
}, 60_000);
afterAll(() => {
  server?.closeAllConnections();
  server?.close();
  rmSync(root, { recursive: true, force: true });
});

const bytes = (text: string) => new TextEncoder().encode(text);

describe('HttpSink', () => {
  it('writes and reads files; swap replaces a file only while it holds the expected bytes', async () => {
    const sink = new HttpSink(`${base}/files/`);
    expect(await sink.read('a/b.bin')).toBeUndefined();
    await sink.write('a/b.bin', Uint8Array.of(1, 2, 3));
    expect(await sink.read('a/b.bin')).toEqual(Uint8Array.of(1, 2, 3));

    expect(await sink.swap('refs.json', undefined, bytes('one'))).toBe(true); // created: If-None-Match: *
    expect(await sink.swap('refs.json', undefined, bytes('two'))).toBe(false); // it exists now
    expect(await sink.swap('refs.json', bytes('stale'), bytes('two'))).toBe(false);
    expect(await sink.swap('refs.json', bytes('one'), bytes('two'))).toBe(true);
    expect(new TextDecoder().decode(await sink.read('refs.json'))).toBe('two');
    const puts = served.filter((r) => r.method === 'PUT' && r.path === '/files/refs.json');
    expect(puts.map((r) => [r.status, r.headers['if-match'] === undefined ? 'if-none-match' : 'if-match'])).toEqual([[200, 'if-none-match'], [200, 'if-match']]);
  });

  it('a swap that loses the race between its read and its PUT is refused by the server (412), not applied', async () => {
    const sink = new HttpSink(`${base}/files/`);
    await sink.write('race.json', bytes('v1'));
    // Another writer replaces the file just after this swap has read it and before it writes.
    const other = new HttpSink(`${base}/files/`);
    const late = new HttpSink(`${base}/files/`, {
      fetch: async (request) => {
        if (request.method === 'PUT' && request.url.endsWith('/race.json')) await other.write('race.json', bytes('theirs'));
        return fetch(request);
      },
    });
    expect(await late.swap('race.json', bytes('v1'), bytes('mine'))).toBe(false);
    expect(new TextDecoder().decode(await sink.read('race.json'))).toBe('theirs');
    expect(served.filter((r) => r.path === '/files/race.json' && r.method === 'PUT').map((r) => r.status)).toEqual([200, 200, 412]);
  });

  it("a server that compares If-Match without the ETag's quotes (Ceph's radosgw 16) still swaps, and still refuses a stale one", async () => {
    // As radosgw 16 does: a quoted If-Match never matches; a bare one is compared (here by the real server, re-quoted).
    const unquoting = async (request: Request) => {
      const ifMatch = request.headers.get('if-match');
      if (request.method !== 'PUT' || ifMatch === null) return fetch(request);
      if (ifMatch.startsWith('"')) return new Response('PreconditionFailed', { status: 412 });
      const headers = new Headers(request.headers);
      headers.set('if-match', `"${ifMatch}"`);
      return fetch(new Request(request, { headers }));
    };
    const sink = new HttpSink(`${base}/files/`, { fetch: unquoting });
    await sink.write('rgw.json', bytes('v1'));
    expect(await sink.swap('rgw.json', bytes('v1'), bytes('v2'))).toBe(true);
    expect(new TextDecoder().decode(await sink.read('rgw.json'))).toBe('v2');
    // Another writer replaces the file between this swap's read and its first PUT: refused, theirs kept.
    const other = new HttpSink(`${base}/files/`);
    let first = true;
    const late = new HttpSink(`${base}/files/`, {
      fetch: async (request) => {
        if (request.method === 'PUT' && request.url.endsWith('/rgw.json') && first) {
          first = false;
          await other.write('rgw.json', bytes('theirs'));
        }
        return unquoting(request);
      },
    });
    expect(await late.swap('rgw.json', bytes('v2'), bytes('mine'))).toBe(false);
    expect(new TextDecoder().decode(await sink.read('rgw.json'))).toBe('theirs');
  });

  it('after a 5xx to its conditional PUT, swap reads the file back: its bytes landed, or another writer\'s did, or nothing changed (an error)', async () => {
    await new HttpSink(`${base}/files/`).write('ambiguous.json', bytes('v1'));
    // Only the PUTs of the file itself fail (not those that check the server first).
    const putOf = (request: Request) => request.method === 'PUT' && request.url.endsWith('/ambiguous.json');
    // The server applies the PUT, then fails to say so.
    const appliedThen500 = new HttpSink(`${base}/files/`, {
      fetch: async (request) => (putOf(request) ? (await fetch(request), new Response('oops', { status: 500 })) : fetch(request)),
    });
    expect(await appliedThen500.swap('ambiguous.json', bytes('v1'), bytes('v2'))).toBe(true);
    // Another writer's PUT won (as radosgw 16 answers the loser of two at once).
    const other = new HttpSink(`${base}/files/`);
    const lostThen500 = new HttpSink(`${base}/files/`, {
      fetch: async (request) => (putOf(request) ? (await other.write('ambiguous.json', bytes('theirs')), new Response('', { status: 500 })) : fetch(request)),
    });
    expect(await lostThen500.swap('ambiguous.json', bytes('v2'), bytes('mine'))).toBe(false);
    // Nothing changed: the failure is the caller's to see.
    const failed = new HttpSink(`${base}/files/`, { fetch: async (request) => (putOf(request) ? new Response('down', { status: 503 }) : fetch(request)) });
    await expect(failed.swap('ambiguous.json', bytes('theirs'), bytes('mine'))).rejects.toThrow('ambiguous.json: conditional PUT answered 503: down');
    expect(new TextDecoder().decode(await other.read('ambiguous.json'))).toBe('theirs');
  });

  it('checks once per sink, before its first swap reads anything, that the server refuses a PUT whose If-None-Match or If-Match fails', async () => {
    const probe = '/files/once/.edgelake-conditional-put';
    const from = served.length;
    const sink = new HttpSink(`${base}/files/once/`);
    expect(await sink.swap('refs.json', undefined, bytes('one'))).toBe(true);
    expect(await sink.swap('refs.json', bytes('one'), bytes('two'))).toBe(true);
    const seen = () => served.slice(from).map((r) => `${r.method} ${r.path} ${r.status}${r.headers['if-none-match'] ? ` if-none-match ${r.headers['if-none-match']}` : ''}${r.headers['if-match'] && r.path === probe ? ` if-match ${r.headers['if-match']}` : ''}`);
    expect(seen()).toEqual([
      `PUT ${probe} 200 if-none-match *`, // created (or a server that ignores it)
      `PUT ${probe} 412 if-none-match *`, // there now: refused
      `PUT ${probe} 412 if-match "edgelake-never-matches"`,
      'GET /files/once/refs.json 404',
      'PUT /files/once/refs.json 200 if-none-match *',
      'GET /files/once/refs.json 200',
      'PUT /files/once/refs.json 200', // the second swap: no check again
    ]);
    // Another sink checks again; the file is there already, so two requests.
    const next = served.length;
    expect(await new HttpSink(`${base}/files/once/`).swap('refs.json', bytes('two'), bytes('three'))).toBe(true);
    expect(served.slice(next).filter((r) => r.path === probe).map((r) => r.status)).toEqual([412, 412]);
  });

  it("a check that races another writer's (S3's 409) is asked again; one refused for another reason (403) fails the swap as its own PUT would, and the next swap asks again", async () => {
    const answers = [409, 403];
    const sink = new HttpSink(`${base}/files/checked/`, {
      fetch: async (request) => (request.url.endsWith('/.edgelake-conditional-put') && answers.length ? new Response('AccessDenied', { status: answers.shift() }) : fetch(request)),
    });
    await expect(sink.swap('refs.json', undefined, bytes('one'))).rejects.toMatchObject({ code: 'source', message: `${base}/files/checked/.edgelake-conditional-put: conditional PUT answered 403: AccessDenied` });
    expect(await sink.read('refs.json')).toBeUndefined();
    expect(await sink.swap('refs.json', undefined, bytes('one'))).toBe(true);
    expect(served.filter((r) => r.path === '/files/checked/.edgelake-conditional-put').map((r) => r.status)).toEqual([200, 412, 412]);
  });

  it('names what failed: a path outside the root, a server that refuses the PUT', async () => {
    await expect(new HttpSink(`${base}/files/`).write('../x', Uint8Array.of(1))).rejects.toThrow('"../x": not a relative file path');
    await expect(new HttpSink(`${base}/elsewhere/`).write('x', Uint8Array.of(1))).rejects.toThrow(`${base}/elsewhere/x: PUT answered 405`);
    expect(() => openSink('/some/folder')).toThrow("local folders need openSinkNode (or FolderSink) from 'edgelake/node'");
  });
});

describe.skipIf(missing('nginx', 'apt-get install nginx', hasCommand('nginx')))('a server that ignores If-Match and If-None-Match on PUT (nginx with WebDAV)', () => {
  let nginx: RunningNginx;
  const dav = join(root, 'dav');
  beforeAll(async () => {
    cpSync(join(root, 'ds'), join(dav, 'ds'), { recursive: true });
    nginx = await startNginx(dav, { webdav: true });
  });
  afterAll(() => nginx?.stop());
  /** What nginx answered each request for `path`, from its access log: "PUT 201". */
  const answered = async (path: string) =>
    (await nginx.accessLog()).split('\n').filter((line) => line.includes(` ${path} HTTP/`)).map((line) => /"(\w+) \S+ HTTP\/[\d.]+" (\d+)/.exec(line)!.slice(1).join(' '));

  it("refuses every swap ('unsupported'), naming the headers it ignores, before reading or writing the file; it checks once per sink", async () => {
    const sink = new HttpSink(`${nginx.url}files/`);
    await sink.write('refs.json', bytes('v1'));
    const error = (await sink.swap('refs.json', bytes('v1'), bytes('v2')).catch((e: unknown) => e)) as Error;
    expect(isEdgelakeError(error, 'unsupported'), String(error)).toBe(true);
    expect(error.message).toBe(
      `${nginx.url}files: the server ignores If-None-Match and If-Match on PUT (a PUT of .edgelake-conditional-put with If-None-Match: * replaced the file already there; ` +
        `one with If-Match: "edgelake-never-matches" replaced a file whose ETag differs), so a commit here could silently overwrite another writer's. ` +
        'Use a server that honours conditional PUT (S3, MinIO, Ceph radosgw), or, if exactly one process writes this dataset, open the sink with singleWriter: true ' +
        '(openSink(url, { http: { singleWriter: true } }) or new HttpSink(url, { singleWriter: true }); for the edgelake CLI, EDGELAKE_SINGLE_WRITER=1): then the last writer wins',
    );
    await expect(sink.swap('new.json', undefined, bytes('x'))).rejects.toMatchObject({ code: 'unsupported' });
    expect(readFileSync(join(dav, 'files/refs.json'), 'utf8')).toBe('v1');
    expect(existsSync(join(dav, 'files/new.json'))).toBe(false);
    expect(await answered('/files/refs.json')).toEqual(['PUT 201']); // the write alone
    expect(await answered('/files/.edgelake-conditional-put')).toEqual(['PUT 201', 'PUT 204', 'PUT 204']); // created, then replaced twice
  });

  it('with singleWriter: true, swap compares and then PUTs as before, with no check: the last writer wins', async () => {
    const sink = new HttpSink(`${nginx.url}single/`, { singleWriter: true });
    expect(await sink.swap('refs.json', undefined, bytes('one'))).toBe(true);
    expect(await sink.swap('refs.json', bytes('stale'), bytes('two'))).toBe(false);
    expect(await sink.swap('refs.json', bytes('one'), bytes('two'))).toBe(true);
    expect(readFileSync(join(dav, 'single/refs.json'), 'utf8')).toBe('two');
    expect(await answered('/single/.edgelake-conditional-put')).toEqual([]);
    // The same root without it: refused.
    await expect(new HttpSink(`${nginx.url}single/`).swap('refs.json', bytes('two'), bytes('three'))).rejects.toMatchObject({ code: 'unsupported' });
    expect(readFileSync(join(dav, 'single/refs.json'), 'utf8')).toBe('two');
  });

  it('a commit through openSink is refused and leaves edgelake.json as it was; with http: { singleWriter: true } it lands', async () => {
    const url = `${nginx.url}ds/`;
    const refs = readFileSync(join(dav, 'ds/edgelake.json'));
    const dataset = await openDataset(url);
    const update = { label: { ids: [1], values: Int32Array.of(7) } };
    await expect(dataset.commit(openSink(url), { update })).rejects.toMatchObject({ code: 'unsupported', message: expect.stringContaining(`${nginx.url}ds: the server ignores If-None-Match and If-Match on PUT`) });
    expect(readFileSync(join(dav, 'ds/edgelake.json'))).toEqual(refs);
    const committed = await dataset.commit(openSink(url, { http: { singleWriter: true } }), { update });
    const now = await openDataset(url);
    expect([now.version, now.manifest.parent]).toEqual([committed.versionId, dataset.version]);
  });

  it('the CLI commits there alone with EDGELAKE_SINGLE_WRITER=1: edgelake query --save is refused without it', async () => {
    const url = `${nginx.url}ds/`;
    const refused = await cli('query', url, 'select * limit 3', '--save', 'three');
    expect([refused.code, refused.stderr]).toEqual([1, expect.stringContaining('for the edgelake CLI, EDGELAKE_SINGLE_WRITER=1')]);
    vi.stubEnv('EDGELAKE_SINGLE_WRITER', '1');
    try {
      const saved = await cli('query', url, 'select * limit 3', '--save', 'three');
      expect(saved.code, saved.stderr).toBe(0);
    } finally {
      vi.unstubAllEnvs();
    }
    expect(JSON.parse(readFileSync(join(dav, 'ds/views.json'), 'utf8'))).toHaveProperty('three');
  });

  it('a build, a materialize and a saved view are refused before they upload anything: the check comes first', async () => {
    const png = encodePng({ width: 4, height: 3, colorType: 2, bitDepth: 8, samples: Uint16Array.from({ length: 36 }, (_, i) => i * 7) });
    const files = [0, 1, 2].map((i) => ({ className: i % 2 ? 'a' : 'b', name: `${i}.png`, read: async () => png }));
    await expect(buildImageFolder(new HttpSink(`${nginx.url}built/`), files, { created: '2026-01-01T00:00:00Z' })).rejects.toMatchObject({ code: 'unsupported' });
    expect(readdirSync(join(dav, 'built'))).toEqual(['.edgelake-conditional-put']);
    const dataset = await openDataset(`${nginx.url}ds/`);
    const before = readdirSync(join(dav, 'ds'), { recursive: true }).length;
    await expect(materialize(dataset, [0, 1], openSink(`${nginx.url}ds/`), { ref: 'two' })).rejects.toMatchObject({ code: 'unsupported' });
    await expect(saveView(openSink(`${nginx.url}ds/`), await query(dataset, 'select * limit 2'), 'two')).rejects.toMatchObject({ code: 'unsupported' });
    expect(readdirSync(join(dav, 'ds'), { recursive: true }).length).toBe(before);
  });
});

describe('labels committed to a dataset served over HTTP', () => {
  /** A learner on the served dataset's current version whose labels come from teach alone. */
  async function learnerOn() {
    const dataset = await openDataset(`${base}/ds/`);
    const learner = mlp({ layers: [784, 8, 10], seed: 1 });
    const al = new ActiveLearner({ dataset, strategy: 'random', roundSize: 10, maxLabels: 100, learner, epochs: 1, seed: 1, target: 'person', labels: new MemoryLabelStore() });
    return { al, dataset, learner };
  }

  it('two writers on one version: exactly one commit lands, the other gets a conflict; the winner reads back anywhere', async () => {
    const [a, b] = [await learnerOn(), await learnerOn()];
    await a.al.teach([1, 2], [1, 2]);
    await b.al.teach([3], [3]);
    const results = await Promise.allSettled([a.al.commit({ sink: openSink(`${base}/ds/`) }), b.al.commit({ sink: openSink(`${base}/ds/`) })]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect([won.length, lost.length]).toEqual([1, 1]);
    expect(isEdgelakeError(lost[0].reason, 'conflict'), String(lost[0].reason)).toBe(true);
    expect(String(lost[0].reason.message)).toMatch(/^ref main moved on since version [0-9a-f]{64} was read/);
    const now = await openDataset(`${base}/ds/`);
    expect([now.version, now.manifest.parent]).toEqual([won[0].value.versionId, a.dataset.version]);
    const winner = results[0].status === 'fulfilled' ? { ids: [1, 2], labels: [1, 2] } : { ids: [3], labels: [3] };
    for (const [i, id] of winner.ids.entries()) expect(await now.view().get(id, ['person', 'person_mask'])).toEqual({ person: Int32Array.of(winner.labels[i]), person_mask: Uint8Array.of(1) });
    const spec = readDataset(join(root, 'ds')); // the folder behind the server, by the independent reader
    spec.verifyAll();
    expect(spec.versionId).toBe(now.version);
    a.learner.dispose();
    b.learner.dispose();
  });

  it('edgelake learn URL --commit writes the bought labels into the served dataset', async () => {
    const parent = (await openDataset(`${base}/ds/`)).version;
    const r = await cli('learn', `${base}/ds/`, '--strategy', 'random', '--labels', '20', '--round', '10', '--epochs', '1', '--device', 'cpu', '--commit', '--json');
    expect(r.code, r.stderr).toBe(0);
    const { committed } = JSON.parse(r.stdout) as { committed: string };
    const child = await openDataset(`${base}/ds/`);
    expect([child.version, child.manifest.parent]).toEqual([committed, parent]);
    expect(readDataset(join(root, 'ds')).readTensorBytes('label_mask').reduce((a, v) => a + v, 0)).toBe(20);
  }, 60_000);
});
