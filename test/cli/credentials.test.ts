// Issue 16 item 6: credentials in a root or an S3 endpoint never reach the terminal. Each command
// is refused as an argument error (exit code 2) that still says which URL it is about.
import { afterEach, describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';

const SECRETS = /KEY:SECRET|user:password|sig=|s3cr3t/;
const saved = { ...process.env };
afterEach(() => {
  for (const k of ['AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_S3']) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

describe('URLs with credentials in argument errors', () => {
  it('an s3://KEY:SECRET@bucket/prefix root', async () => {
    for (const command of ['inspect', 'stream', 'train']) {
      const r = await cli(command, 's3://KEY:SECRET@bucket/prefix');
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('not an s3://bucket/prefix URL: "s3://…@bucket/prefix" (keys go in AWS_ACCESS_KEY_ID');
      expect(r.stderr).not.toMatch(SECRETS);
    }
    // An AWS secret key may hold '/', which ends a URL's authority early.
    const slash = await cli('inspect', 's3://AKIAEXAMPLE:s3cr3t/xyz@bucket/prefix');
    expect(slash).toMatchObject({ code: 2, stderr: expect.stringContaining('"s3://…@bucket/prefix"') });
    expect(slash.stderr).not.toMatch(/AKIA|s3cr3t|xyz/);
  });

  it('an S3 endpoint with user:password@ or a ?sig= query', async () => {
    const cases = [
      ['http://user:password@minio.internal:9000', '"http://…@minio.internal:9000"'],
      ['https://minio.internal:9000/?sig=s3cr3t', '"https://minio.internal:9000/?…"'],
    ];
    for (const [endpoint, shown] of cases) {
      process.env.AWS_ENDPOINT_URL = endpoint;
      const r = await cli('inspect', 's3://bucket/prefix');
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toBe(`edgelake inspect: S3 endpoint must be a plain http(s)://host[:port] URL, without user or query: ${shown}\n`);
      expect(r.stderr).not.toMatch(SECRETS);
    }
  });

  it('a file:// URL that names a user, a host and a query', async () => {
    const r = await cli('inspect', 'file://user:password@host/data?sig=s3cr3t');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^edgelake inspect: cannot open "file:\/\/…@host\/data\?…": not a local file:\/\/ URL/);
    expect(r.stderr).not.toMatch(SECRETS);
  });

  it('an http(s) root that is no URL, with an @ inside its password (the CLI redacts every message it prints)', async () => {
    const r = await cli('inspect', 'https://a@b:hunter2@[bad/data?sig=s3cr3t');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^edgelake inspect: .*"https:\/\/…@\[bad\/data\?…"/);
    expect(r.stderr).not.toMatch(/hunter2|s3cr3t/);
  });

  it('a root with another scheme', async () => {
    const r = await cli('stream', 'ftp://user:password@host/data?sig=s3cr3t#frag');
    expect(r).toMatchObject({ code: 2, stderr: 'edgelake stream: cannot open "ftp://…@host/data?…": expected http://, https:// or s3://\n' });
  });
});
