import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveFiles, startTestServer, type TestServer } from './test-server.js';
import { openSource } from '../../src/index.js';
import { openSourceNode, s3FromEnvironment } from '../../src/node.js';

const refs = new TextEncoder().encode('{"format":"edgelake/1"}');
let server: TestServer;
let folder: string;

beforeAll(async () => {
  server = await startTestServer();
  folder = await mkdtemp(join(tmpdir(), 'edgelake-open-'));
  await writeFile(join(folder, 'edgelake.json'), refs);
});
afterAll(async () => {
  await server.close();
  await rm(folder, { recursive: true, force: true });
});

describe('openSource', () => {
  it('opens http(s) prefixes with retries on by default', async () => {
    let failures = 1;
    const serve = serveFiles(new Map([['data/edgelake.json', refs]]));
    server.handler = (request, response) => (failures-- > 0 ? response.writeHead(503).end() : serve(request, response));
    const source = openSource(`${server.url}data`, { retry: { baseDelayMs: 1 } });
    expect(source.location).toBe(`${server.url}data/`);
    expect(await source.read('edgelake.json')).toEqual(refs);
  });

  it('opens s3:// roots', () => {
    expect(openSource('s3://lake/demo', { s3: { region: 'eu-west-1' } }).location).toBe('s3://lake/demo/');
  });

  it('refuses other schemes, and local folders outside Node, without echoing credentials', () => {
    expect(() => openSource('/data/fashion-mnist')).toThrow(/openSourceNode/);
    expect(() => openSource('file:///data')).toThrow(expect.objectContaining({ code: 'invalid-input' }));
    expect(() => openSource('ftp://user:hunter2@host/data?token=abc')).toThrow(/^(?!.*(hunter2|abc)).*$/);
  });
});

describe('openSourceNode', () => {
  it('also opens plain paths and file:// URLs', async () => {
    expect(await openSourceNode(folder).read('edgelake.json')).toEqual(refs);
    expect(await openSourceNode(pathToFileURL(folder).href).read('edgelake.json')).toEqual(refs);
    await expect(openSourceNode(folder).read('missing.json')).rejects.toMatchObject({ code: 'not-found' });
  });

  it('takes S3 settings from the usual AWS_* variables', () => {
    const env = {
      AWS_ACCESS_KEY_ID: 'AKID',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_REGION: 'eu-central-1',
      AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000',
    };
    expect(s3FromEnvironment(env)).toEqual({
      accessKeyId: 'AKID',
      secretAccessKey: 'secret',
      region: 'eu-central-1',
      endpoint: 'http://127.0.0.1:9000',
    });
    expect(s3FromEnvironment({ AWS_ACCESS_KEY_ID: 'AKID' })).toEqual({});
  });
});
