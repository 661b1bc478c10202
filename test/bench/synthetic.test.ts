import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startSyntheticServer, syntheticChunk, syntheticDataset, syntheticLabel,
  type SyntheticDataset, type SyntheticParams, type SyntheticServer,
} from '../../bench/synthetic.js';
import { HttpSource } from '../../src/index.js';
import { chunkPath, decodeChunk, DEFAULT_LIMITS, parseJson, sha256Hex, validateManifest, validateRefs } from '../../src/format/index.js';

const params: SyntheticParams = { totalBytes: 20_000_000, sampleBytes: 10_000, chunkBytes: 1 << 20, seed: 7 };
const cacheDir = mkdtempSync(join(tmpdir(), 'edgelake-synthetic-test-'));
afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

describe('the synthetic dataset', () => {
  let ds: SyntheticDataset;
  beforeAll(async () => {
    ds = await syntheticDataset(params, { cacheDir });
  });

  it('lays out 20 MB as 2,000 samples in ~1 MiB chunks, every name a real SHA-256', async () => {
    expect(ds.layout.length).toBe(2000);
    const data = ds.manifest.tensors.data!;
    expect(data.chunks.length).toBe(Math.ceil(2000 / 104));
    expect(data.chunks.reduce((a, c) => a + c.samples, 0)).toBe(2000);
    expect(ds.manifest.tensors.label!.chunks.reduce((a, c) => a + c.samples, 0)).toBe(2000);
    expect(await sha256Hex(syntheticChunk(params, 'data', 3))).toBe(data.chunks[3]!.hash);
    expect(ds.storedBytes).toBeGreaterThan(20_000_000);
  });

  it('is deterministic in its parameters, and cached by them', async () => {
    const again = await syntheticDataset(params, { cacheDir });
    expect(again.versionId).toBe(ds.versionId);
    const elsewhere = mkdtempSync(join(tmpdir(), 'edgelake-synthetic-test-'));
    try {
      expect((await syntheticDataset(params, { cacheDir: elsewhere })).versionId).toBe(ds.versionId);
      expect((await syntheticDataset({ ...params, seed: 8 }, { cacheDir: elsewhere })).versionId).not.toBe(ds.versionId);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });
});

describe('the synthetic server', () => {
  let ds: SyntheticDataset;
  let server: SyntheticServer;
  let source: HttpSource;
  beforeAll(async () => {
    ds = await syntheticDataset(params, { cacheDir });
    server = await startSyntheticServer(ds, { maxLifetimeMs: 60_000 });
    source = new HttpSource(server.url, { timeoutMs: 10_000 });
  }, 60_000);
  afterAll(() => server?.stop());

  it('serves refs and the manifest, named by its SHA-256', async () => {
    const refs = validateRefs(parseJson(await source.read('edgelake.json'), 'edgelake.json', DEFAULT_LIMITS), 'edgelake.json');
    expect(refs.refs[refs.head]).toBe(ds.versionId);
    const bytes = await source.read(`versions/${ds.versionId}.json`);
    expect(await sha256Hex(bytes)).toBe(ds.versionId);
    expect(validateManifest(parseJson(bytes, 'manifest', DEFAULT_LIMITS), 'manifest', DEFAULT_LIMITS).length).toBe(2000);
    // Revalidation: the second read of edgelake.json is a 304 served from HttpSource's memory.
    expect(await source.read('edgelake.json')).toEqual(ds.refsBytes);
  });

  it('serves every chunk so that decodeChunk verifies it (hash, header hash, every crc32)', { timeout: 30_000 }, async () => {
    for (const tensor of ['data', 'label'] as const) {
      const meta = ds.manifest.tensors[tensor]!;
      for (const [index, ref] of meta.chunks.entries()) {
        const stored = await source.read(chunkPath(ref.hash), { maxBytes: ref.bytes });
        const chunk = await decodeChunk(stored, ref, meta, DEFAULT_LIMITS, { tensor, chunk: index });
        expect(chunk.header.samples).toBe(ref.samples);
        if (tensor === 'label') {
          const first = chunk.payload(0);
          const labels = new Int32Array(chunk.body.buffer, chunk.body.byteOffset + chunk.header.payloadStart, ref.samples);
          expect(first.length).toBe(4);
          expect([...labels.slice(0, 50)]).toEqual(Array.from({ length: 50 }, (_, i) => syntheticLabel(params.seed, i)));
        }
      }
    }
  });

  it('answers Range requests, 416 past the end, 404 for unknown files', async () => {
    const ref = ds.manifest.tensors.data!.chunks[5]!;
    const whole = syntheticChunk(params, 'data', 5);
    expect(await source.readRange(chunkPath(ref.hash), 12345, 6789)).toEqual(whole.subarray(12345, 12345 + 6789));
    expect(await source.readRange(chunkPath(ref.hash), ref.bytes - 10, 10)).toEqual(whole.subarray(ref.bytes - 10));
    await expect(source.readRange(chunkPath(ref.hash), ref.bytes, 1)).rejects.toThrow(/range needs/);
    await expect(source.read(chunkPath('0'.repeat(64)))).rejects.toMatchObject({ code: 'not-found' });
    const stats = await server.stats();
    expect(stats.chunkRequests).toBeGreaterThan(20);
    expect(stats.bytesServed).toBeGreaterThan(20_000_000);
  });
});
