import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasetLikeTree, S3RVER_CREDENTIALS, sha256hex, startS3rver } from './servers.js';
import { buildSubsetArgs, cli, SUBSET } from '../support/cli.js';
import { ActiveLearner, Loader, MemoryLabelStore, mlp, openDataset, openSink, openSource, type Source } from '../../src/index.js';

const tree = datasetLikeTree();
const bucket = 'edgelake-e2e';
const decode = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes));

describe('a dataset in an S3-compatible bucket (s3rver)', () => {
  let s3: Awaited<ReturnType<typeof startS3rver>>;
  let source: Source;
  const statuses: number[] = [];

  beforeAll(async () => {
    s3 = await startS3rver(bucket);
    for (const [path, bytes] of tree.files) await s3.put(`datasets/demo/${path}`, bytes);
    // Record statuses to see the 304s; the request itself goes out unchanged.
    const recording = async (request: Request, init?: RequestInit) => {
      const response = await fetch(request, init);
      statuses.push(response.status);
      return response;
    };
    source = openSource(`s3://${bucket}/datasets/demo`, {
      s3: { endpoint: s3.url, region: 'us-east-1', ...S3RVER_CREDENTIALS, fetch: recording, timeoutMs: 10_000 },
    });
  }, 30_000);

  afterAll(() => s3?.stop());

  it('follows edgelake.json to the manifest and its chunks, every byte verified', { timeout: 30_000 }, async () => {
    const refs = decode(await source.read('edgelake.json'));
    const manifestBytes = await source.read(`versions/${refs.refs.main}.json`);
    expect(sha256hex(manifestBytes)).toBe(tree.versionId);
    for (const { hash, bytes } of decode(manifestBytes).tensors.blob.chunks) {
      const chunk = await source.read(`chunks/${hash.slice(0, 2)}/${hash}`, { maxBytes: bytes });
      expect(sha256hex(chunk)).toBe(hash);
    }
  });

  it('reads byte ranges of a multi-megabyte object', { timeout: 30_000 }, async () => {
    const path = tree.chunkPaths[2]!;
    const whole = tree.files.get(path)!;
    const ranges = [[0, 1], [12_345, 100_000], [whole.length - 4096, 4096], [1_000_000, 1_500_000]] as const;
    const pieces = await Promise.all(ranges.map(([offset, length]) => source.readRange(path, offset, length)));
    pieces.forEach((piece, i) => {
      const [offset, length] = ranges[i]!;
      expect(sha256hex(piece)).toBe(sha256hex(whole.subarray(offset, offset + length)));
    });
  });

  it('revalidates edgelake.json with its ETag, and sees a new version once it is uploaded', async () => {
    const first = await source.read('edgelake.json');
    statuses.length = 0;
    expect(await source.read('edgelake.json')).toEqual(first);
    expect(statuses).toEqual([304]);
    await s3.put('datasets/demo/edgelake.json', new TextEncoder().encode(JSON.stringify({ ...decode(first), head: 'v2' })));
    expect(decode(await source.read('edgelake.json')).head).toBe('v2');
  });

  it('says not-found for a missing key, and source for an unknown access key', async () => {
    await expect(source.read(`chunks/00/${'0'.repeat(64)}`)).rejects.toMatchObject({ code: 'not-found' });
    const stranger = openSource(`s3://${bucket}/datasets/demo`, {
      s3: { endpoint: s3.url, accessKeyId: 'NOBODY', secretAccessKey: 'nothing-here' },
    });
    const error = (await stranger.read('edgelake.json').catch((e: Error) => e)) as Error;
    expect(error).toMatchObject({ code: 'source' });
    expect(error.message).toContain(`s3://${bucket}/datasets/demo/edgelake.json`);
    expect(error.message).not.toContain('nothing-here');
  });
});

describe('labels committed into an S3 bucket (s3rver)', () => {
  it('a commit writes the label chunks and the version with signed PUTs, and moves the ref', { timeout: 60_000 }, async () => {
    const s3 = await startS3rver(bucket);
    const folder = mkdtempSync(join(tmpdir(), 'edgelake-s3-commit-'));
    try {
      expect((await cli(...buildSubsetArgs(folder, '--chunk-kib', '64', '--embedding-dims', '8'))).code).toBe(0);
      for (const file of readdirSync(folder, { recursive: true, withFileTypes: true })) {
        if (file.isFile()) await s3.put(`ds/${join(file.parentPath, file.name).slice(folder.length + 1)}`, readFileSync(join(file.parentPath, file.name)));
      }
      const s3Options = { endpoint: s3.url, region: 'us-east-1', ...S3RVER_CREDENTIALS };
      const dataset = await openDataset(`s3://${bucket}/ds`, { s3: s3Options });
      const learner = mlp({ layers: [784, 8, 10], seed: 1 });
      const al = new ActiveLearner({ dataset, strategy: 'random', roundSize: 10, maxLabels: 100, learner, epochs: 1, target: 'person', labels: new MemoryLabelStore() });
      await al.teach([5, 6], [7, 8]);
      // s3rver ignores If-Match and If-None-Match on PUT: a sink finds that out before moving the ref, and refuses.
      const refs = await openSource(`s3://${bucket}/ds`, { s3: s3Options }).read('edgelake.json');
      const refused = await al.commit({ sink: openSink(`s3://${bucket}/ds`, { s3: s3Options }) }).catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: 'unsupported', message: expect.stringMatching(/^s3:\/\/edgelake-e2e\/ds: the server ignores If-None-Match and If-Match on PUT .*singleWriter: true/) });
      expect(await openSource(`s3://${bucket}/ds`, { s3: s3Options }).read('edgelake.json')).toEqual(refs);
      // This test is the only writer, so it says so (singleWriter: true) to commit through signed PUTs as one process alone may.
      const committed = await al.commit({ sink: openSink(`s3://${bucket}/ds`, { s3: s3Options, http: { singleWriter: true } }) });
      learner.dispose();
      // A fresh reader of the bucket sees the new version, child of the one read. (Two writers
      // racing cannot be shown on s3rver: test/e2e/rgw.test.ts runs that race against Ceph's
      // radosgw, which honours conditional PUT as S3 does.)
      const child = await openDataset(`s3://${bucket}/ds`, { s3: s3Options });
      expect([child.version, child.manifest.parent]).toEqual([committed.versionId, dataset.version]);
      expect(await child.view().get(6, ['person', 'person_mask'])).toEqual({ person: Int32Array.of(8), person_mask: Uint8Array.of(1) });
    } finally {
      await s3.stop();
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe('WebDataset shards in an S3 bucket (s3rver)', () => {
  it('open in place with signed range reads, after edgelake index wrote the index into the bucket', { timeout: 60_000 }, async () => {
    const s3 = await startS3rver(bucket);
    const folder = mkdtempSync(join(tmpdir(), 'edgelake-s3-wds-'));
    try {
      execFileSync('python3', ['scripts/webdataset-shards.py', join(SUBSET, 't10k-images-idx3-ubyte.gz'), join(SUBSET, 't10k-labels-idx1-ubyte.gz'), folder, 'test', '2']);
      for (const name of readdirSync(folder)) await s3.put(`wds/${name}`, readFileSync(join(folder, name)));
      const env = { AWS_ENDPOINT_URL_S3: s3.url, AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey, AWS_REGION: 'us-east-1' };
      const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
      Object.assign(process.env, env); // the CLI takes S3 keys from the environment, as the AWS tools do
      try {
        const r = await cli('index', `s3://${bucket}/wds/test-{000..001}.tar`, '--json');
        expect(r.code, r.stderr).toBe(0);
      } finally {
        for (const [k, v] of Object.entries(saved)) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
      }
      const ds = await openDataset(`s3://${bucket}/wds/test-{000..001}.tar`, { s3: { endpoint: s3.url, region: 'us-east-1', ...S3RVER_CREDENTIALS } });
      expect(ds.splits).toEqual({ test: [[0, ds.length]] });
      let n = 0;
      for await (const b of new Loader(ds.view(), { batchSize: 256, tensors: ['png', 'cls'] })) n += b.ids.length;
      expect(n).toBe(ds.length);
      expect(ds.network.requests).toBeLessThan(2 + ds.tensor('png').chunks.length + 2); // the index, then one range read per image chunk
    } finally {
      await s3.stop();
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
