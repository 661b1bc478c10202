import { chunkBody, encodeChunkHeader, verifySamplePayload, type ChunkHeader } from '../../format/chunk.js';
import { chunkHeaderBytes } from '../../format/validate.js';
import { chunkPath } from '../../format/manifest.js';
import { isEdgelakeError } from '../../errors.js';
import type { Dataset } from '../dataset/dataset.js';
import { REQUEST_COST_BYTES } from '../dataset/header-index.js';

/** Two wanted samples closer than this are read as one range: the gap costs no more than a request. */
export const RANGE_GAP_BYTES = REQUEST_COST_BYTES;

/**
 * The chunk-local indices of `ids` (ascending dataset indices) that fall in [start, start +
 * samples), or undefined when they are all of them: what a view needs of one chunk.
 */
export function wantedInChunk(ids: Uint32Array, start: number, samples: number): Uint32Array | undefined {
  const from = lowerBound(ids, start);
  const to = lowerBound(ids, start + samples);
  if (to - from === samples) return undefined;
  return Uint32Array.from(ids.subarray(from, to), (id) => id - start);
}

/** Ranges within one request closer than this are asked as one: a part's own headers cost about 100 bytes. */
export const PART_GAP_BYTES = 1024;

/** Bytes [from, to) of a chunk body and the samples they hold. */
export interface SampleRange {
  from: number;
  to: number;
  samples: number[];
}

/**
 * The byte ranges [from, to) of a chunk body that hold the wanted samples, nearby ones merged
 * (closer than `gap`), each with the samples it holds.
 */
export function sampleRanges(header: ChunkHeader, wanted: Uint32Array, gap = RANGE_GAP_BYTES): SampleRange[] {
  const ranges: SampleRange[] = [];
  for (const i of wanted) {
    const from = header.payloadStart + header.offsets[i];
    const to = header.payloadStart + header.offsets[i + 1];
    const last = ranges.at(-1);
    if (last && from - last.to < gap) {
      last.to = to;
      last.samples.push(i);
    } else ranges.push({ from, to, samples: [i] });
  }
  return ranges;
}

/**
 * Reads only the wanted samples of an uncompressed chunk: as the dataset's kind reads single
 * samples (Parquet: the pages holding them), or else its header (checked against headerHash),
 * then their byte ranges: one request for the chunk where the storage serves several ranges at
 * once, else a request for each group of nearby samples (each sample checked against its crc32
 * as it arrives, so a damaged transfer is fetched again). Returns them as a compact chunk body in
 * which every other sample is empty (same crc32s, so the body says which samples it lacks), or
 * undefined where the whole chunk is the better read: the dataset has a cache (the chunk, fetched
 * once, serves every later epoch and view; ranges would be fetched again each time), or the
 * ranges, a request each, would fetch more than half its bytes.
 */
export async function readWantedSamples(ds: Dataset, tensor: string, chunk: number, wanted: Uint32Array, signal: AbortSignal): Promise<Uint8Array | undefined> {
  const meta = ds.tensor(tensor);
  const ref = meta.chunks[chunk];
  if (meta.chunkCompression !== 'none' || meta.linked || ds.cache) return undefined;
  // With a request a sample, a chunk's many wanted samples cost more than the chunk; one request for them all does not.
  const manyRequests = ref.bytes / Math.max(1, wanted.length) < RANGE_GAP_BYTES;
  if (manyRequests && (ds.readSamples || !ds.source.readRanges)) return undefined;
  if (ds.readSamples) return compactBody(ref.samples, wanted, await ds.readSamples(ref, Array.from(wanted), { signal }));
  const header = await ds.chunkHeader(tensor, chunk);
  const { offsets, payloadStart: P } = header;
  const sizes = new Uint32Array(header.samples);
  for (const i of wanted) sizes[i] = offsets[i + 1] - offsets[i];
  const compact = encodeChunkHeader(sizes, header.crcs);
  const body = new Uint8Array(compact.length + sizes.reduce((a, n) => a + n, 0));
  body.set(compact);
  const where = { dataset: ds.name, version: ds.version, tensor, chunk: String(chunk) };
  const compactOffsets = new DataView(compact.buffer); // sample i starts at P + its compact offset
  // Each sample of `spans`, whose bytes lie end to end in `got`.
  const eachSample = (spans: SampleRange[], got: Uint8Array, use: (i: number, bytes: Uint8Array) => void) => {
    let start = 0;
    for (const { from, to, samples } of spans) {
      for (const i of samples) use(i, got.subarray(start + P + offsets[i] - from, start + P + offsets[i + 1] - from));
      start += to - from;
    }
  };
  const read = async (spans: SampleRange[], get: (check: (got: Uint8Array) => void) => Promise<Uint8Array>) => {
    const got = await get((bytes) => eachSample(spans, bytes, (i, sample) => verifySamplePayload(header, i, sample, where)));
    eachSample(spans, got, (i, sample) => body.set(sample, P + compactOffsets.getUint32(12 + 4 * i, true)));
  };
  const path = chunkPath(ref.hash);
  // One request for them all where the storage serves several ranges at once: no gap bytes, so never the whole chunk.
  const parts = ds.source.readRanges ? sampleRanges(header, wanted, PART_GAP_BYTES) : [];
  const together = parts.length > 1 && await read(parts, (check) => ds.source.readRanges!(path, parts.map(({ from, to }) => ({ offset: from, length: to - from })), { check, signal }))
    .then(() => true, (e: unknown) => {
      if (isEdgelakeError(e, 'unsupported')) return false;
      throw e;
    });
  if (together) return body;
  // Else a request for each group of nearby samples, unless together they are most of the chunk.
  const ranges = sampleRanges(header, wanted);
  if (manyRequests || ranges.reduce((a, r) => a + r.to - r.from, chunkHeaderBytes(ref.samples)) > ref.bytes / 2) return undefined;
  await Promise.all(ranges.map((r) => read([r], (check) => ds.source.readRange(path, r.from, r.to - r.from, { check, signal }))));
  return body;
}

/** A chunk body of `samples` samples holding only the `wanted` ones (`payloads`, checked by their reader); the others empty. */
function compactBody(samples: number, wanted: Uint32Array, payloads: Uint8Array[]): Uint8Array {
  const all = Array.from({ length: samples }, (): Uint8Array => new Uint8Array(0));
  wanted.forEach((i, k) => (all[i] = payloads[k]));
  return chunkBody(all);
}

function lowerBound(ids: Uint32Array, value: number): number {
  let [lo, hi] = [0, ids.length];
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ids[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
