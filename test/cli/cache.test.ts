import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNginx } from '../e2e/servers.js';
import { buildSubsetArgs, cli } from '../support/cli.js';
import { hasCommand, missing } from '../support/system.js';
import { chunkHeaderBytes, chunkPath, deflate, inflateBounded, REFS_PATH, sha256Hex, versionPath } from '../../src/format/index.js';

const root = mkdtempSync(join(tmpdir(), 'edgelake-cli-cache-'));
const cacheDir = join(root, 'cache');
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe.skipIf(missing('nginx', 'apt-get install nginx', hasCommand('nginx')))('edgelake fetch and cache, against nginx', () => {
  let nginx: Awaited<ReturnType<typeof startNginx>> | undefined;
  let url: string;
  beforeAll(async () => {
    expect((await cli(...buildSubsetArgs(join(root, 'www'), '--chunk-kib', '128', '--embedding-dims', '8'))).code).toBe(0);
    nginx = await startNginx(join(root, 'www'));
    url = nginx.url;
  }, 60_000);
  afterAll(async () => nginx?.stop());

  it('prefetches a split into the cache with a progress bar', async () => {
    const r = await cli('fetch', url, '--cache', cacheDir, '--split', 'train', '--budget', '64M');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/fetching 100%/);
    // train = samples 0..4999: image chunks of 167 samples (128 KiB / 784 B) -> 30, plus label and embedding.
    expect(r.stdout).toMatch(/^32 chunks, .*: 0 already cached, 32 fetched/);
    const stats = JSON.parse((await cli('cache', 'stats', '--cache', cacheDir, '--json')).stdout);
    expect(stats).toMatchObject({ entries: 33, budgetBytes: 64 * 2 ** 20 }); // + the version manifest
  });

  it('a second fetch finds everything cached and asks nginx only for edgelake.json', async () => {
    const before = (await nginx!.accessLog()).split('\n').length;
    const r = await cli('fetch', url, '--cache', cacheDir, '--split', 'train');
    expect(r.stdout).toMatch(/32 already cached, 0 fetched/);
    const requests = (await nginx!.accessLog()).split('\n').slice(before - 1).filter(Boolean);
    expect(requests.every((line) => line.includes('/edgelake.json'))).toBe(true);
  });

  it('offline, cached splits still fetch from the cache; others fail saying they are not cached', async () => {
    await nginx!.stop();
    nginx = undefined;
    expect((await cli('fetch', url, '--cache', cacheDir, '--split', 'train')).code).toBe(0);
    const test = await cli('fetch', url, '--cache', cacheDir, '--split', 'test');
    expect(test.code).toBe(1);
    expect(test.stderr).toMatch(/is not cached in .*cache and the remote is unreachable/);
  });

  it('verify finds a damaged entry, removes it, and is clean afterwards; clear empties the cache', async () => {
    const dir = join(cacheDir, 'chunks', readdirSync(join(cacheDir, 'chunks'))[0]);
    const file = join(dir, readdirSync(dir)[0]);
    const bytes = readFileSync(file);
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(file, bytes);
    const first = await cli('cache', 'verify', '--cache', cacheDir, '--json');
    expect(first.code).toBe(1);
    expect(JSON.parse(first.stdout)).toMatchObject({ entries: 32, corrupt: 1 });
    const second = await cli('cache', 'verify', '--cache', cacheDir, '--json');
    expect(JSON.parse(second.stdout)).toMatchObject({ entries: 32, corrupt: 0 });
    expect((await cli('cache', 'clear', '--cache', cacheDir)).stdout).toMatch(/removed 32 chunks/);
    expect(JSON.parse((await cli('cache', 'stats', '--cache', cacheDir, '--json')).stdout)).toMatchObject({ entries: 0, bytes: 0 });
  });

  it('bad arguments are clear errors', async () => {
    expect(await cli('cache', 'shrink', '--cache', cacheDir)).toMatchObject({ code: 2, stderr: expect.stringMatching(/usage: edgelake cache/) });
    expect(await cli('cache', 'stats', '--cache', cacheDir, '--budget', 'lots')).toMatchObject({ code: 2, stderr: expect.stringMatching(/--budget must be a size/) });
  });
});

/**
 * Replaces chunk `index` of `tensor` in the dataset folder `dir` by one whose SHA-256 name and
 * headerHash are right but whose header is malformed (flags 1, where FORMAT.md allows only 0),
 * and commits that manifest as the head. Returns the bad chunk's hash.
 */
async function malformHeader(dir: string, tensor: string, index: number): Promise<string> {
  const write = (path: string, bytes: Uint8Array | string) => (mkdirSync(dirname(join(dir, path)), { recursive: true }), writeFileSync(join(dir, path), bytes));
  const refs = JSON.parse(readFileSync(join(dir, REFS_PATH), 'utf8'));
  const manifest = JSON.parse(readFileSync(join(dir, versionPath(refs.refs[refs.head])), 'utf8'));
  const ref = manifest.tensors[tensor].chunks[index];
  const body = inflateBounded(readFileSync(join(dir, chunkPath(ref.hash))), 1 << 24, 'a test chunk');
  new DataView(body.buffer, body.byteOffset).setUint32(8, 1, true);
  const stored = deflate(body);
  Object.assign(ref, { hash: await sha256Hex(stored), bytes: stored.length, headerHash: await sha256Hex(body.subarray(0, chunkHeaderBytes(ref.samples))) });
  write(chunkPath(ref.hash), stored);
  const json = JSON.stringify(manifest);
  refs.refs[refs.head] = await sha256Hex(new TextEncoder().encode(json));
  write(versionPath(refs.refs[refs.head]), json);
  write(REFS_PATH, JSON.stringify(refs));
  return ref.hash;
}

describe('edgelake stream and fetch into a cache folder with a remembered budget', () => {
  it('stay within the budget that cache stats --budget remembered', async () => {
    const dir = join(root, 'budgeted');
    const cache = join(root, 'budgeted-cache');
    expect((await cli(...buildSubsetArgs(dir, '--chunk-kib', '64'))).code).toBe(0);
    expect((await cli('cache', 'stats', '--cache', cache, '--budget', '300K')).stdout).toMatch(/0 chunks, 0 B of 300\.0 KiB budget/);
    const streamed = await cli('stream', dir, '--cache', cache, '--json');
    expect(JSON.parse(streamed.stdout)).toMatchObject({ samples: 6000 });
    const afterStream = JSON.parse((await cli('cache', 'stats', '--cache', cache, '--json')).stdout);
    expect(afterStream.entries).toBeGreaterThan(0);
    expect(afterStream.bytes).toBeLessThanOrEqual(300 * 1024);
    expect((await cli('fetch', dir, '--cache', cache)).code).toBe(0);
    expect(JSON.parse((await cli('cache', 'stats', '--cache', cache, '--json')).stdout).bytes).toBeLessThanOrEqual(300 * 1024);
    // A lower budget holds at once: the least recently used chunks go now, not at the next write.
    const lowered = await cli('cache', 'stats', '--cache', cache, '--budget', '100K', '--json');
    expect(lowered.stderr).toMatch(/^evicted \d+ chunks to fit the budget of 100\.0 KiB\n$/);
    expect(JSON.parse(lowered.stdout)).toMatchObject({ budgetBytes: 100 * 1024, bytes: expect.toSatisfy((b: number) => b > 0 && b <= 100 * 1024) });
  });
});

describe('edgelake fetch with a budget smaller than the split', () => {
  it('warns first, fetches only what fits, and its counts add up', async () => {
    const dir = join(root, 'small-budget');
    expect((await cli(...buildSubsetArgs(dir, '--chunk-kib', '64'))).code).toBe(0);
    const r = await cli('fetch', dir, '--cache', join(root, 'small-budget-cache'), '--split', 'train', '--budget', '300K', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^warning: split train \(\d+ chunks, .*\) does not fit the cache's 300\.0 KiB budget: fetching the first \d+ chunks/);
    const result = JSON.parse(r.stdout);
    expect(result.alreadyCached + result.fetched + result.overBudget).toBe(result.chunks);
    expect(result.held).toBe(result.fetched); // nothing fetched only to be evicted by a later chunk
  });
});

describe('edgelake fetch checks chunks as stream does', () => {
  it('a chunk whose hash is right but whose header is malformed is refused, not cached, by fetch and by stream alike', async () => {
    const dir = join(root, 'malformed');
    expect((await cli(...buildSubsetArgs(dir, '--chunk-kib', '64'))).code).toBe(0);
    const bad = await malformHeader(dir, 'image', 1);
    const cache = join(root, 'malformed-cache');
    const fetched = await cli('fetch', dir, '--cache', cache, '--split', 'train');
    expect(fetched.code).toBe(1);
    expect(fetched.stderr).toMatch(/tensor image, chunk 1.*has flags 1; version 1 allows only 0/);
    expect(readdirSync(join(cache, 'chunks')).flatMap((shard) => readdirSync(join(cache, 'chunks', shard)))).not.toContain(bad);
    const streamed = await cli('stream', dir, '--split', 'train', '--cache', cache, '--workers', '0');
    expect(streamed.code).toBe(1);
    expect(streamed.stderr).toMatch(/tensor image, chunk 1.*has flags 1; version 1 allows only 0/);
  });
});

describe('edgelake cache and fetch on a folder that is not a cache', () => {
  it("refuse a dataset's folder, leaving its chunks alone, and any other folder that holds files", async () => {
    const dataset = join(root, 'not-a-cache');
    expect((await cli(...buildSubsetArgs(dataset, '--chunk-kib', '256'))).code).toBe(0);
    const before = readdirSync(dataset, { recursive: true }).sort();
    const refused = `${dataset} holds a dataset (edgelake.json, versions), not a chunk cache`;
    expect(await cli('cache', 'clear', '--cache', dataset)).toMatchObject({ code: 2, stderr: expect.stringContaining(refused) });
    expect(await cli('fetch', dataset, '--cache', dataset, '--budget', '1K')).toMatchObject({ code: 2, stderr: expect.stringContaining(refused) });
    expect(readdirSync(dataset, { recursive: true }).sort()).toEqual(before);
    expect((await cli('stream', dataset, '--workers', '0')).code).toBe(0);

    const folder = join(root, 'some-folder');
    mkdirSync(folder);
    writeFileSync(join(folder, 'todo.txt'), '');
    expect(await cli('cache', 'stats', '--cache', folder)).toMatchObject({ code: 2, stderr: expect.stringContaining(`${folder} is not an edgelake chunk cache`) });
    expect(readdirSync(folder)).toEqual(['todo.txt']);
  });

  it('name a damaged budget note by its path, and --budget sets it again', async () => {
    const cache = join(root, 'damaged-note');
    expect((await cli('cache', 'stats', '--cache', cache, '--budget', '1M')).code).toBe(0);
    const note = join(cache, 'notes', createHash('sha256').update('config').digest('hex'));
    for (const damage of ['{"budgetBytes":', '{}']) {
      writeFileSync(note, damage);
      expect(await cli('cache', 'stats', '--cache', cache)).toMatchObject({
        code: 2,
        stderr: `edgelake cache: ${note}: the budget this cache remembers is damaged (it should hold {"budgetBytes": N}); set it again with edgelake cache stats --cache ${cache} --budget SIZE\n`,
      });
    }
    expect((await cli('cache', 'stats', '--cache', cache, '--budget', '2M')).code).toBe(0);
    expect(JSON.parse((await cli('cache', 'stats', '--cache', cache, '--json')).stdout)).toMatchObject({ budgetBytes: 2 * 2 ** 20 });
  });

  it('name the path where a file stands for a folder, or a folder for a chunk file', async () => {
    const file = join(root, 'a-file');
    writeFileSync(file, '');
    expect(await cli('cache', 'stats', '--cache', file, '--budget', '1M')).toMatchObject({ code: 2, stderr: `edgelake cache: cache folder ${file} is a file, or inside one: a cache needs a folder\n` });

    const cache = join(root, 'folder-for-a-chunk');
    expect((await cli('cache', 'stats', '--cache', cache, '--budget', '1M')).code).toBe(0);
    const hash = createHash('sha256').update('hello').digest('hex');
    const entry = join(cache, 'chunks', hash.slice(0, 2), hash);
    mkdirSync(entry, { recursive: true });
    expect(await cli('cache', 'verify', '--cache', cache)).toMatchObject({ code: 2, stderr: expect.stringContaining(`the cache folder ${cache} is damaged: ${entry} is a folder, not a file`) });
  });
});
