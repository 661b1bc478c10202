import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCommand, missing } from '../support/system.js';
import { datasetLikeTree, sha256hex, startNginx, writeTree } from './servers.js';
import { type Source } from '../../src/index.js';
import { openSourceNode } from '../../src/node.js';
import { rangeRequests } from '../../src/source/byteranges.js';

const tree = datasetLikeTree();
const decode = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes));

describe.skipIf(missing('nginx', 'apt-get install nginx', hasCommand('nginx')))('a dataset served by nginx', () => {
  let root: string;
  let nginx: Awaited<ReturnType<typeof startNginx>>;
  let source: Source;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'edgelake-www-'));
    await writeTree(root, tree.files);
    nginx = await startNginx(root);
    source = openSourceNode(nginx.url, { http: { timeoutMs: 10_000 } });
  }, 30_000);

  afterAll(async () => {
    await nginx?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('follows edgelake.json to the manifest and its chunks, every byte verified', { timeout: 30_000 }, async () => {
    const refs = decode(await source.read('edgelake.json'));
    const versionId = refs.refs[refs.head];
    const manifestBytes = await source.read(`versions/${versionId}.json`);
    expect(sha256hex(manifestBytes)).toBe(versionId);
    for (const { hash, bytes } of decode(manifestBytes).tensors.blob.chunks) {
      const chunk = await source.read(`chunks/${hash.slice(0, 2)}/${hash}`, { maxBytes: bytes });
      expect(chunk.length).toBe(bytes);
      expect(sha256hex(chunk)).toBe(hash);
    }
  });

  it('reads byte ranges, many at once, equal to the same slices of the file', { timeout: 30_000 }, async () => {
    const path = tree.chunkPaths[2]!;
    const whole = tree.files.get(path)!;
    const ranges = Array.from({ length: 64 }, (_, i) => {
      const offset = (i * 46_337) % whole.length;
      return [offset, Math.min(1 + ((i * 7919) % 200_000), whole.length - offset)] as const;
    });
    ranges.push([0, 1], [whole.length - 1, 1], [0, whole.length]);
    const pieces = await Promise.all(ranges.map(([offset, length]) => source.readRange(path, offset, length)));
    pieces.forEach((piece, i) => {
      const [offset, length] = ranges[i]!;
      expect(sha256hex(piece)).toBe(sha256hex(whole.subarray(offset, offset + length)));
    });
  });

  it('reads many ranges in one request (multipart/byteranges), equal to the same slices, end to end', { timeout: 30_000 }, async () => {
    const path = tree.chunkPaths[2]!;
    const whole = tree.files.get(path)!;
    const ranges = Array.from({ length: 40 }, (_, i) => ({ offset: (i * 46_337) % (whole.length - 5000), length: 1 + ((i * 7919) % 5000) }));
    const got = await source.readRanges!(path, ranges);
    const expected = ranges.map(({ offset, length }) => whole.subarray(offset, offset + length));
    expect(sha256hex(got)).toBe(sha256hex(new Uint8Array(expected.flatMap((piece) => [...piece]))));
    expect((await nginx.accessLog()).trimEnd().split('\n').at(-1)).toMatch(/"GET \/chunks\/\S+ HTTP\/1\.1" 206 /);
  });

  it('reads more ranges than one Range header can carry (nginx refuses a line over 8 KiB) in several requests', { timeout: 30_000 }, async () => {
    const path = tree.chunkPaths[2]!;
    const whole = tree.files.get(path)!;
    const ranges = Array.from({ length: 2000 }, (_, i) => ({ offset: (i * 104_729) % (whole.length - 16), length: 1 + (i % 16) }));
    const before = (await nginx.accessLog()).trimEnd().split('\n').length;
    const got = await source.readRanges!(path, ranges);
    const expected = ranges.map(({ offset, length }) => whole.subarray(offset, offset + length));
    expect(sha256hex(got)).toBe(sha256hex(new Uint8Array(expected.flatMap((piece) => [...piece]))));
    const answers = (await nginx.accessLog()).trimEnd().split('\n').slice(before);
    expect(answers.length).toBe(rangeRequests(ranges).length);
    expect(answers.length).toBeGreaterThan(4);
    for (const line of answers) expect(line).toMatch(/"GET \/chunks\/\S+ HTTP\/1\.1" 206 /);
  });

  it('revalidates edgelake.json: 304 while it is unchanged, the new body once it changes', async () => {
    const first = await source.read('edgelake.json');
    expect(await source.read('edgelake.json')).toEqual(first);
    expect((await nginx.accessLog()).trimEnd().split('\n').at(-1)).toMatch(/"GET \/edgelake\.json HTTP\/1\.1" 304 /);
    const moved = new TextEncoder().encode(JSON.stringify({ ...decode(first), head: 'v2', refs: { v2: tree.versionId } }));
    await writeFile(join(root, 'edgelake.json'), moved);
    expect(decode(await source.read('edgelake.json')).head).toBe('v2');
  });

  it('says not-found for a missing chunk and source for a range past the end', async () => {
    const missingChunk = `chunks/00/${'0'.repeat(64)}`;
    await expect(source.read(missingChunk)).rejects.toMatchObject({ code: 'not-found' });
    const small = tree.chunkPaths[0]!;
    await expect(source.readRange(small, 900, 200)).rejects.toMatchObject({ code: 'source' });
    await expect(source.readRange(small, 5000, 1)).rejects.toMatchObject({ code: 'source' });
  });
});
