import { createHash, createHmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { inspect } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { seededBytes, serveFiles, startTestServer, type TestServer } from './test-server.js';
import { parseS3Url, S3Source } from '../../src/index.js';
import { failure } from '../support/errors.js';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const sessionToken = 'FwoGZXIvYXdzEXAMPLETOKEN';
const chunk = seededBytes(40_000, 5);
const files = new Map([['lake/datasets/demo/chunks/12/1234', chunk]]);

/** An independent SigV4 check (AWS docs, "Create a signed AWS API request"), not aws4fetch's. */
function signatureIsValid(request: IncomingMessage, secret: string): boolean {
  const auth = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/
    .exec(request.headers.authorization ?? '');
  if (!auth) return false;
  const [, , date, region, signedHeaders, signature] = auth as unknown as string[];
  const headerLines = signedHeaders!.split(';').map((name) => `${name}:${String(request.headers[name]).trim()}\n`);
  const [path, query = ''] = (request.url ?? '').split('?');
  const canonical = [request.method, path, query, headerLines.join(''), signedHeaders, request.headers['x-amz-content-sha256']].join('\n');
  const scope = `${date}/${region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', request.headers['x-amz-date'], scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
  let key: Buffer | string = `AWS4${secret}`;
  for (const part of [date!, region!, 's3', 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
  return createHmac('sha256', key).update(toSign).digest('hex') === signature;
}

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
  const serve = serveFiles(files);
  server.handler = (request, response) => {
    if (!signatureIsValid(request, credentials.secretAccessKey)) return void response.writeHead(403).end('<Error><Code>SignatureDoesNotMatch</Code></Error>');
    if (request.headers['x-amz-security-token'] !== sessionToken) return void response.writeHead(403).end();
    serve(request, response);
  };
});

describe('S3Source', () => {
  const endpoint = () => server.url.slice(0, -1);

  it('signs every read with SigV4, Range included', async () => {
    const source = new S3Source('s3://lake/datasets/demo', { endpoint: endpoint(), region: 'eu-west-1', ...credentials, sessionToken });
    expect(source.location).toBe('s3://lake/datasets/demo');
    expect(await source.read('chunks/12/1234')).toEqual(chunk);
    expect(await source.readRange('chunks/12/1234', 100, 900)).toEqual(chunk.subarray(100, 1000));
    expect(server.requests.map((r) => [r.path, r.status])).toEqual([
      ['/lake/datasets/demo/chunks/12/1234', 200],
      ['/lake/datasets/demo/chunks/12/1234', 206],
    ]);
  });

  it('maps a missing key to not-found and a refused signature to source, without showing secrets', async () => {
    const source = new S3Source('s3://lake/datasets/demo/', { endpoint: endpoint(), ...credentials, sessionToken });
    await expect(source.read('chunks/12/ffff')).rejects.toMatchObject({ code: 'not-found' });
    const wrong = new S3Source('s3://lake/datasets/demo', { endpoint: endpoint(), ...credentials, secretAccessKey: 'wrong-secret-key', sessionToken });
    const error = (await wrong.read('chunks/12/1234').catch((e: Error) => e)) as Error;
    expect(error).toMatchObject({ code: 'source' });
    expect(error.message).toContain('s3://lake/datasets/demo/chunks/12/1234');
    for (const text of [inspect(error, { depth: 9 }), inspect(wrong), inspect(source), wrong.location]) {
      for (const secret of ['wrong-secret-key', credentials.secretAccessKey, sessionToken]) expect(text).not.toContain(secret);
    }
  });

  it('uses virtual-hosted URLs on AWS, path style for dotted buckets, and no signature without keys', async () => {
    const seen: Request[] = [];
    const fetch = async (request: Request) => (seen.push(request), new Response('{}', { status: 200 }));
    await new S3Source('s3://my-bucket/data', { region: 'eu-west-1', ...credentials, fetch }).read('edgelake.json');
    await new S3Source('s3://my.dotted.bucket', { region: 'eu-west-1', fetch }).read('edgelake.json');
    expect(seen.map((r) => r.url)).toEqual([
      'https://my-bucket.s3.eu-west-1.amazonaws.com/data/edgelake.json',
      'https://s3.eu-west-1.amazonaws.com/my.dotted.bucket/edgelake.json',
    ]);
    expect(seen[0]!.headers.get('authorization')).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/s3\//);
    expect(seen[1]!.headers.get('authorization')).toBeNull();
  });

  it('refuses half a key pair', () => {
    expect(() => new S3Source('s3://lake', { accessKeyId: 'AKID' })).toThrow(expect.objectContaining({ code: 'invalid-input' }));
  });
});

describe('parseS3Url', () => {
  it('accepts a bucket with an optional prefix, normalised to end in /', () => {
    expect(parseS3Url('s3://lake')).toEqual({ bucket: 'lake', prefix: '' });
    expect(parseS3Url('s3://lake/')).toEqual({ bucket: 'lake', prefix: '' });
    expect(parseS3Url('s3://my-lake.v2/a/b')).toEqual({ bucket: 'my-lake.v2', prefix: 'a/b/' });
    expect(parseS3Url('s3://lake/a/b/')).toEqual({ bucket: 'lake', prefix: 'a/b/' });
  });

  it.each([
    'https://lake/a', 's3:/lake', 's3://', 's3://Lake', 's3://la', 's3://-lake', 's3://lake..x', 's3://192.168.1.1',
    's3://user@lake', 's3://lake:9000/a', 's3://lake/a?x=1', 's3://lake/a#x', 's3://lake//a', 's3://lake/a/../b', 's3://lake/./a',
    's3://lake/a\\b', ' s3://lake',
  ])('refuses %j', (url) => {
    expect(() => parseS3Url(url)).toThrow(expect.objectContaining({ code: 'invalid-input' }));
  });

  it('names the URL it refuses without its keys, user or query', () => {
    expect(failure(() => parseS3Url('s3://KEY:SECRET@bucket/prefix'))).toBe(
      'invalid-input: not an s3://bucket/prefix URL: "s3://…@bucket/prefix" (keys go in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or the s3 options, never in the URL)');
    expect(failure(() => parseS3Url('s3://lake/a/../b'))).toBe("invalid-input: s3://lake/a/../b: the key prefix has an empty, '.' or '..' segment");
    expect(failure(() => parseS3Url('s3://lake/a?X-Amz-Signature=f00'))).toBe('invalid-input: not an s3://bucket/prefix URL: "s3://lake/a?…"');
  });

  it('names an endpoint it refuses without its user, password or query', () => {
    expect(failure(() => new S3Source('s3://lake', { endpoint: 'http://user:password@minio:9000' }))).toBe(
      'invalid-input: S3 endpoint must be a plain http(s)://host[:port] URL, without user or query: "http://…@minio:9000"');
    expect(failure(() => new S3Source('s3://lake', { endpoint: 'https://minio:9000/?sig=abc' }))).toMatch(/: "https:\/\/minio:9000\/\?…"$/);
  });
});
