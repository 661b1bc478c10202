import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveFiles, startTestServer, type TestServer } from './test-server.js';
import { openSource } from '../../src/index.js';
import { openSourceNode, s3FromEnvironment } from '../../src/node.js';
import { redactUrl, redactUrls } from '../../src/source/redact.js';
import { failure } from '../support/errors.js';

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
    expect(source.location).toBe(`${server.url}data`);
    expect(await source.read('edgelake.json')).toEqual(refs);
  });

  it('opens s3:// roots', () => {
    expect(openSource('s3://lake/demo', { s3: { region: 'eu-west-1' } }).location).toBe('s3://lake/demo');
  });

  it('refuses other schemes, and local folders outside Node, without echoing credentials', () => {
    expect(() => openSource('/data/fashion-mnist')).toThrow(/openSourceNode/);
    expect(() => openSource('file:///data')).toThrow(expect.objectContaining({ code: 'invalid-input' }));
    expect(() => openSource('ftp://user:hunter2@host/data?token=abc')).toThrow(/^(?!.*(hunter2|abc)).*$/);
    expect(failure(() => openSource('ftp://a@b:hunter2@host/data#token=abc'))).toBe('invalid-input: cannot open "ftp://…@host/data?…": expected http://, https:// or s3://');
  });
});

describe('redactUrl', () => {
  it.each([
    ['s3://KEY:SECRET@bucket/prefix', 's3://…@bucket/prefix'],
    ['http://user:password@minio:9000', 'http://…@minio:9000'],
    ['https://minio:9000/data?sig=abc', 'https://minio:9000/data?…'],
    ['https://host/data#access_token=abc', 'https://host/data?…'],
    ['https://TOKEN@host/data/', 'https://…@host/data/'],
    ['http://a@b:c@host/x', 'http://…@host/x'],
    ['s3://AKIA:wJalr/K7MDENG+bPxR@bucket/p', 's3://…@bucket/p'], // AWS secrets may hold '/'
    ['https://user:pass/word@host:8443/p', 'https://…@host:8443/p'],
    ['http:user:pw@host/x', 'http:…@host/x'], // WHATWG parsers read this as http://user:pw@host/x
    ['https:\\\\user:pw@host\\x', 'https:\\\\…@host\\x'],
    ['//user:pw@host/x', '//…@host/x'],
    ['not a url: http://[', 'not a url: http://['],
  ])('%s -> %s', (url, shown) => {
    expect(redactUrl(url)).toBe(shown);
  });

  it('keeps what holds no credential: hosts, paths with @, local paths', () => {
    for (const url of ['https://host:8443/pkg@1.0/x', 's3://bucket/a@b', '/data/sets/a@b', 'C:\\data\\x', 'data/x']) expect(redactUrl(url)).toBe(url);
  });

  it('redactUrls finds every URL in a message', () => {
    expect(redactUrls('copy "s3://K:S@b/p" to http://u:p@h/x?sig=1 then /tmp/a?b'))
      .toBe('copy "s3://…@b/p" to http://…@h/x?… then /tmp/a?b');
  });
});

describe('openSourceNode', () => {
  it('also opens plain paths and file:// URLs', async () => {
    expect(await openSourceNode(folder).read('edgelake.json')).toEqual(refs);
    expect(await openSourceNode(pathToFileURL(folder).href).read('edgelake.json')).toEqual(refs);
    await expect(openSourceNode(folder).read('missing.json')).rejects.toMatchObject({ code: 'not-found' });
  });

  it('refuses file:// URLs of other hosts as argument errors, without their credentials', () => {
    expect(failure(() => openSourceNode('file://user:hunter2@host/data?sig=abc'))).toMatch(/^invalid-input: cannot open "file:\/\/…@host\/data\?…": not a local file:\/\/ URL/);
    expect(failure(() => openSourceNode('file://elsewhere/data'))).toMatch(/^invalid-input: cannot open "file:\/\/elsewhere\/data": not a local file:\/\/ URL \(File URL host must be/);
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
    // An empty variable is unset (the AWS CLI's reading); half a key pair is refused, not sent unsigned.
    expect(s3FromEnvironment({ AWS_REGION: '', AWS_DEFAULT_REGION: 'us-west-2', AWS_ENDPOINT_URL_S3: '', AWS_ENDPOINT_URL: 'http://127.0.0.1:9000' })).toEqual({ region: 'us-west-2', endpoint: 'http://127.0.0.1:9000' });
    expect(failure(() => s3FromEnvironment({ AWS_ACCESS_KEY_ID: 'AKID' }))).toBe('invalid-input: partial S3 credentials in the environment: AWS_SECRET_ACCESS_KEY is not set (set both, or neither for public buckets)');
    expect(failure(() => s3FromEnvironment({ AWS_SECRET_ACCESS_KEY: 'secret' }))).toMatch(/AWS_ACCESS_KEY_ID is not set/);
  });
});
