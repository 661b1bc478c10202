/**
 * A synthetic dataset of any size that needs no disk: every chunk is generated on demand from
 * (seed, tensor, chunk index), so a 10 GB dataset costs a manifest of a few hundred kilobytes.
 *
 * Tensors (chunkCompression none, so no CPU goes into inflating random bytes):
 * - `data`: uint8, shape [sampleBytes], htype generic; payloads are xorshift32 noise.
 * - `label`: int32 class_label (10 classes), a hash of (seed, sample index).
 * One split, `train`, covers every sample. The manifest carries real SHA-256 names, header hashes
 * and crc32s, so a reader verifies every byte exactly as for a built dataset. Computing them
 * means generating every chunk once (a few seconds per GB); the result is cached under
 * os.tmpdir()/edgelake-bench-synthetic/, keyed by the parameters, so reruns start at once.
 *
 * startSyntheticServer serves the dataset over HTTP on 127.0.0.1 from a child process
 * (synthetic-server.child.ts), so that generating chunks costs the measured process neither CPU
 * time on its event loop nor memory.
 */
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import { childChannel } from './throttle-proxy.js';
import { type Manifest, type TensorMeta } from '../src/index.js';
import { chunkHeaderBytes, type ChunkRef, commitVersion, MemorySink, REFS_PATH, versionPath } from '../src/format/index.js';

/** Bump when the bytes a (params) produces change: it keys the manifest cache. */
const GENERATOR = 'edgelake-bench-synthetic/1';

export interface SyntheticParams {
  /** Bytes of `data` payloads in all (rounded down to whole samples; at least one sample). */
  totalBytes: number;
  /** Bytes of one `data` sample. */
  sampleBytes: number;
  /** Target payload bytes of a chunk (at least one sample per chunk). */
  chunkBytes: number;
  seed: number;
}

export type SyntheticTensor = 'data' | 'label';

export interface SyntheticLayout {
  length: number;
  samplesPerChunk: Record<SyntheticTensor, number>;
  chunks: Record<SyntheticTensor, number>;
}

export interface SyntheticDataset {
  params: SyntheticParams;
  layout: SyntheticLayout;
  name: string;
  versionId: string;
  manifest: Manifest;
  /** The exact bytes of edgelake.json and versions/<versionId>.json. */
  refsBytes: Uint8Array;
  manifestBytes: Uint8Array;
  /** Sum of the stored bytes of every chunk. */
  storedBytes: number;
  /** The cache file holding all of the above (what the server child reads). */
  file: string;
}

const SAMPLE_BYTES: Record<SyntheticTensor, (p: SyntheticParams) => number> = { data: (p) => p.sampleBytes, label: () => 4 };
const TENSOR_ID: Record<SyntheticTensor, number> = { data: 1, label: 2 };

export function syntheticLayout(p: SyntheticParams): SyntheticLayout {
  for (const [k, v] of Object.entries(p)) {
    if (!Number.isSafeInteger(v) || v < (k === 'seed' ? 0 : 1)) throw new Error(`synthetic dataset: ${k} must be a positive integer, got ${v}`);
  }
  const length = Math.max(1, Math.floor(p.totalBytes / p.sampleBytes));
  const samplesPerChunk = {
    data: Math.max(1, Math.floor(p.chunkBytes / p.sampleBytes)),
    label: Math.max(1, Math.floor(p.chunkBytes / 4)),
  };
  return {
    length,
    samplesPerChunk,
    chunks: { data: Math.ceil(length / samplesPerChunk.data), label: Math.ceil(length / samplesPerChunk.label) },
  };
}

/** murmur3's finalizer: a well-mixed u32 from a u32. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The label of sample i: deterministic in (seed, i), 0..9. */
export function syntheticLabel(seed: number, i: number): number {
  return fmix32(fmix32(seed ^ 0x9e3779b9) ^ i) % 10;
}

/**
 * The stored bytes (= the body: no chunk compression) of chunk `index` of `tensor`, as FORMAT.md
 * lays a chunk out: magic, count, flags, offsets, crc32s, then the payloads.
 */
export function syntheticChunk(p: SyntheticParams, tensor: SyntheticTensor, index: number, layout = syntheticLayout(p)): Uint8Array {
  const per = layout.samplesPerChunk[tensor];
  const first = index * per;
  const n = Math.min(per, layout.length - first);
  if (!Number.isInteger(index) || index < 0 || n < 1) throw new Error(`synthetic dataset: no chunk ${index} of ${tensor}`);
  const s = SAMPLE_BYTES[tensor](p);
  const P = chunkHeaderBytes(n); // 12 + 4(n+1) + 4n: a multiple of 4
  const total = P + n * s;
  const buffer = new ArrayBuffer(Math.ceil(total / 4) * 4);
  const body = new Uint8Array(buffer, 0, total);
  const view = new DataView(buffer);
  view.setUint32(0, 0x31434c45, true); // "ELC1"
  view.setUint32(4, n, true);
  view.setUint32(8, 0, true);
  if (tensor === 'data') {
    // xorshift32 over whole u32s; the tail beyond `total` (at most 3 bytes) is not part of the body.
    const u32 = new Uint32Array(buffer, P, (buffer.byteLength - P) / 4);
    let x = fmix32(fmix32(p.seed) ^ fmix32(TENSOR_ID[tensor] * 0x1000193 + index)) || 1;
    for (let i = 0; i < u32.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      u32[i] = x;
    }
  } else {
    for (let i = 0; i < n; i++) view.setInt32(P + 4 * i, syntheticLabel(p.seed, first + i), true);
  }
  for (let i = 0; i <= n; i++) view.setUint32(12 + 4 * i, i * s, true);
  for (let i = 0; i < n; i++) view.setUint32(12 + 4 * (n + 1) + 4 * i, crc32(body.subarray(P + i * s, P + (i + 1) * s)), true);
  return body;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

export function syntheticCacheFile(p: SyntheticParams, dir = join(tmpdir(), 'edgelake-bench-synthetic')): string {
  const key = sha256(new TextEncoder().encode(JSON.stringify([GENERATOR, p.totalBytes, p.sampleBytes, p.chunkBytes, p.seed]))).slice(0, 20);
  return join(dir, `${key}.json`);
}

interface CacheFile {
  generator: string;
  params: SyntheticParams;
  versionId: string;
  refs: string;
  manifest: string;
}

/** Reads a dataset computed before (the file syntheticDataset wrote); undefined if absent or stale. */
export function loadSyntheticDataset(file: string, expected?: SyntheticParams): SyntheticDataset | undefined {
  let c: CacheFile;
  try {
    c = JSON.parse(readFileSync(file, 'utf8')) as CacheFile;
  } catch {
    return undefined;
  }
  const params: SyntheticParams = { totalBytes: c.params.totalBytes, sampleBytes: c.params.sampleBytes, chunkBytes: c.params.chunkBytes, seed: c.params.seed };
  if (c.generator !== GENERATOR) return undefined;
  if (expected && JSON.stringify(params) !== JSON.stringify({ totalBytes: expected.totalBytes, sampleBytes: expected.sampleBytes, chunkBytes: expected.chunkBytes, seed: expected.seed })) return undefined;
  const manifestBytes = new TextEncoder().encode(c.manifest);
  if (sha256(manifestBytes) !== c.versionId) return undefined;
  const manifest = JSON.parse(c.manifest) as Manifest;
  const storedBytes = Object.values(manifest.tensors).reduce((a, t) => a + t.chunks.reduce((b, ch) => b + ch.bytes, 0), 0);
  const refsBytes = new TextEncoder().encode(c.refs);
  const name = (JSON.parse(c.refs) as { name: string }).name;
  return { params, layout: syntheticLayout(params), name, versionId: c.versionId, manifest, refsBytes, manifestBytes, storedBytes, file };
}

/**
 * The dataset's manifest, computed (every chunk generated once and hashed) or read from the cache.
 * `onProgress(done, total)` counts chunks while computing.
 */
export async function syntheticDataset(
  params: SyntheticParams,
  options: { cacheDir?: string; onProgress?: (done: number, total: number) => void } = {},
): Promise<SyntheticDataset> {
  const file = syntheticCacheFile(params, options.cacheDir);
  const cached = loadSyntheticDataset(file, params);
  if (cached) return cached;

  const layout = syntheticLayout(params);
  const total = layout.chunks.data + layout.chunks.label;
  let done = 0;
  const tensorMeta = (tensor: SyntheticTensor, spec: Omit<TensorMeta, 'chunks'>): TensorMeta => {
    const chunks: ChunkRef[] = [];
    for (let c = 0; c < layout.chunks[tensor]; c++) {
      const body = syntheticChunk(params, tensor, c, layout);
      const n = new DataView(body.buffer, body.byteOffset).getUint32(4, true);
      chunks.push({ hash: sha256(body), bytes: body.length, samples: n, headerHash: sha256(body.subarray(0, chunkHeaderBytes(n))) });
      options.onProgress?.(++done, total);
    }
    return { ...spec, chunks };
  };
  const tensors: Manifest['tensors'] = {
    data: tensorMeta('data', { htype: 'generic', dtype: 'uint8', shape: [params.sampleBytes], sampleCompression: 'none', chunkCompression: 'none' }),
    label: tensorMeta('label', {
      htype: 'class_label', dtype: 'int32', shape: [], classNames: Array.from({ length: 10 }, (_, i) => `class-${i}`),
      sampleCompression: 'none', chunkCompression: 'none',
    }),
  };
  const name = `synthetic-${params.totalBytes}`;
  const sink = new MemorySink();
  const { versionId } = await commitVersion(sink, { length: layout.length, splits: { train: [[0, layout.length]] }, tensors }, {
    name, message: `synthetic ${JSON.stringify(params)}`, created: '2024-01-01T00:00:00Z',
  });
  const dec = new TextDecoder();
  const cache: CacheFile = {
    generator: GENERATOR, params, versionId,
    refs: dec.decode(sink.files.get(REFS_PATH)), manifest: dec.decode(sink.files.get(versionPath(versionId))),
  };
  mkdirSync(join(file, '..'), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(cache));
  renameSync(tmp, file);
  const loaded = loadSyntheticDataset(file, params);
  if (!loaded) throw new Error(`synthetic dataset: could not read back ${file}`);
  return loaded;
}

export interface SyntheticServerStats {
  requests: number;
  /** Body bytes sent. */
  bytesServed: number;
  /** Chunk requests (whole or ranged). */
  chunkRequests: number;
}

export interface SyntheticServer {
  /** The dataset root, ending in '/'. */
  url: string;
  stats(): Promise<SyntheticServerStats>;
  stop(): Promise<void>;
}

/**
 * Serves the dataset on 127.0.0.1 from a child process: edgelake.json, versions/<id>.json and
 * chunks/xx/<hash>, generated per request; GET and HEAD, one Range per request (206/416),
 * ETag + If-None-Match (304). The child exits with this process, or after `maxLifetimeMs`.
 */
export async function startSyntheticServer(dataset: SyntheticDataset, options: { maxLifetimeMs?: number } = {}): Promise<SyntheticServer> {
  const script = fileURLToPath(new URL('./synthetic-server.child.ts', import.meta.url));
  const lifetime = String(options.maxLifetimeMs ?? 60 * 60_000);
  const child = fork(script, [dataset.file, lifetime], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { ready, request, stop } = childChannel(child, 'synthetic server');
  const { url } = (await ready) as { url: string };
  return { url, stats: () => request('stats') as Promise<SyntheticServerStats>, stop };
}
