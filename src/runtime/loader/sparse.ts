import { chunkBody, encodeChunkHeader, verifySamplePayload, type ChunkHeader } from '../../format/chunk.js';
import { chunkHeaderBytes } from '../../format/validate.js';
import { chunkPath } from '../../format/manifest.js';
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

/**
 * The byte ranges [from, to) of a chunk body that hold the wanted samples, nearby ones merged
 * (closer than `gap`), each with the samples it holds.
 */
export function sampleRanges(header: ChunkHeader, wanted: Uint32Array, gap = RANGE_GAP_BYTES): { from: number; to: number; samples: number[] }[] {
  const ranges: { from: number; to: number; samples: number[] }[] = [];
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
 * then their byte ranges (each sample checked against its crc32 as it arrives, so a damaged
 * transfer is fetched again). Returns them as a compact chunk body in which every other sample is
 * empty (same crc32s, so the body says which samples it lacks), or undefined where the whole chunk
 * is the better read: the dataset has a cache (the chunk, fetched once, serves every later epoch
 * and view; ranges would be fetched again each time), or the view wants more than half its bytes.
 */
export async function readWantedSamples(ds: Dataset, tensor: string, chunk: number, wanted: Uint32Array, signal: AbortSignal): Promise<Uint8Array | undefined> {
  const meta = ds.tensor(tensor);
  const ref = meta.chunks[chunk];
  if (meta.chunkCompression !== 'none' || meta.linked || ref.bytes / Math.max(1, wanted.length) < RANGE_GAP_BYTES) return undefined;
  if (ds.cache) return undefined;
  if (ds.readSamples) return compactBody(ref.samples, wanted, await ds.readSamples(ref, Array.from(wanted), { signal }));
  const header = await ds.chunkHeader(tensor, chunk);
  const ranges = sampleRanges(header, wanted);
  if (ranges.reduce((a, r) => a + r.to - r.from, chunkHeaderBytes(ref.samples)) > ref.bytes / 2) return undefined;
  const { offsets, payloadStart: P } = header;
  const sizes = new Uint32Array(header.samples);
  for (const i of wanted) sizes[i] = offsets[i + 1] - offsets[i];
  const compact = encodeChunkHeader(sizes, header.crcs);
  const body = new Uint8Array(compact.length + sizes.reduce((a, n) => a + n, 0));
  body.set(compact);
  const where = { dataset: ds.name, version: ds.version, tensor, chunk: String(chunk) };
  const compactOffsets = new DataView(compact.buffer); // sample i starts at P + its compact offset
  await Promise.all(ranges.map(async ({ from, to, samples }) => {
    const sample = (got: Uint8Array, i: number) => got.subarray(P + offsets[i] - from, P + offsets[i + 1] - from);
    const check = (got: Uint8Array) => samples.forEach((i) => verifySamplePayload(header, i, sample(got, i), where));
    const got = await ds.source.readRange(chunkPath(ref.hash), from, to - from, { check, signal });
    for (const i of samples) body.set(sample(got, i), P + compactOffsets.getUint32(12 + 4 * i, true));
  }));
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
