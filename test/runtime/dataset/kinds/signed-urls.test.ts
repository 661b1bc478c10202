// Files read in place at URLs with a query string: a signed URL's token, or Hugging Face's
// ?download=true. The query applies to the folder: every file, and the index beside them, is
// requested with it; the file names and the index's name are the path's alone.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../../../support/cli.js';
import { hasCommand, missing } from '../../../support/system.js';
import { shardLayout } from '../../../../src/format/webdataset/shards.js';
import type { Dataset } from '../../../../src/index.js';
import { openDataset } from '../../../../src/node.js';

/** Serves `dir` on 127.0.0.1 (one byte range a request) only to requests whose query has token=abc; `log` keeps each request's URL. */
async function serveSigned(dir: string): Promise<{ url: string; log: string[]; close: () => void }> {
  const log: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://127.0.0.1');
    log.push(req.url!);
    if (url.searchParams.get('token') !== 'abc') return void res.writeHead(403).end('a signed URL needs its token');
    let body: Buffer;
    try {
      body = readFileSync(join(dir, decodeURIComponent(url.pathname)));
    } catch {
      return void res.writeHead(404).end();
    }
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? ''); // several ranges: the whole file, as many servers do
    if (!range) return void res.writeHead(200, { 'content-length': body.length }).end(body);
    const [from, to] = [Number(range[1]), Math.min(body.length - 1, range[2] ? Number(range[2]) : Infinity)];
    res.writeHead(206, { 'content-range': `bytes ${from}-${to}/${body.length}`, 'content-length': to - from + 1 }).end(body.subarray(from, to + 1));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  server.unref();
  setTimeout(() => server.close(), 120_000).unref(); // stops by itself, whatever the tests do
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, log, close: () => server.close() };
}

/** Each sample's [label, text], in the dataset's order. */
async function samples(ds: Dataset, label: string, text: string): Promise<[number, string][]> {
  const view = ds.view();
  return Promise.all(Array.from({ length: ds.length }, async (_, id) => {
    const s = await view.get(id, [label, text]);
    return [new DataView(s[label].buffer, s[label].byteOffset).getInt32(0, true), new TextDecoder().decode(s[text])] as [number, string];
  }));
}

describe('files at a URL with a query string', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgelake-signed-'));
  let server: Awaited<ReturnType<typeof serveSigned>>;
  beforeAll(async () => (server = await serveSigned(dir)));
  afterAll(() => {
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the query is the folder\'s: the files and the index are named without it', () => {
    expect(shardLayout('https://host/x/train-{00000..00001}-of-00002.parquet?download=true')).toEqual({
      base: 'https://host/x?download=true',
      file: 'train-{00000..00001}-of-00002.parquet',
      shards: ['train-00000-of-00002.parquet', 'train-00001-of-00002.parquet'],
      index: 'train.edgelake-index.json.gz',
      own: expect.stringMatching(/^train\.[0-9a-f]{8}\.edgelake-index\.json\.gz$/),
    });
  });

  it.skipIf(missing('python3', 'apt-get install python3', hasCommand('python3')))('WebDataset shards open with the token on every request, the index\'s too', async () => {
    for (const s of [0, 1]) {
      execFileSync('python3', ['-c', `import io, sys, tarfile
with tarfile.open(sys.argv[1], 'w') as t:
    for i in range(int(sys.argv[2]), int(sys.argv[2]) + 3):
        for ext, body in (('cls', str(i).encode()), ('txt', b's%d' % i)):
            m = tarfile.TarInfo('%05d.%s' % (i, ext)); m.size = len(body); t.addfile(m, io.BytesIO(body))`, join(dir, `lab-00${s}.tar`), String(3 * s)]);
    }
    const pattern = `${server.url}/lab-{000..001}.tar?token=abc`;
    const expected = [0, 1, 2, 3, 4, 5].map((i) => [i, `s${i}`]);
    const read = await openDataset(pattern); // no index: the shards read whole
    expect(await samples(read, 'cls', 'txt')).toEqual(expected);
    expect((await cli('index', pattern, '--out', join(dir, 'lab.edgelake-index.json.gz'))).code).toBe(0);
    server.log.length = 0;
    expect(await samples(await openDataset(pattern), 'cls', 'txt')).toEqual(expected);
    expect(server.log).toContain('/lab.edgelake-index.json.gz?token=abc');
  });

  it('a Hugging Face download link (?download=true) opens, and edgelake index reads it', async () => {
    const ids = [0, 1, 2, 3];
    const columnData = [{ name: 'label', data: ids.map(BigInt), type: 'INT64' as const }, { name: 'text', data: ids.map((i) => `s${i}`), type: 'STRING' as const }];
    writeFileSync(join(dir, 'train-00000-of-00001.parquet'), new Uint8Array(parquetWriteBuffer({ columnData })));
    const link = `${server.url}/train-00000-of-00001.parquet?download=true&token=abc`;
    expect(await samples(await openDataset(link), 'label', 'text')).toEqual(ids.map((i) => [i, `s${i}`]));
    const r = await cli('index', link, '--json', '--out', join(dir, 'train.edgelake-index.json.gz'));
    expect([r.code, JSON.parse(r.stdout).samples], r.stderr).toEqual([0, 4]);
  });
});
