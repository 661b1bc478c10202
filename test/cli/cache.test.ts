import { mkdtempSync, readdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNginx } from '../e2e/servers.js';
import { buildSubsetArgs, cli } from '../support/cli.js';
import { hasCommand, missing } from '../support/system.js';

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
