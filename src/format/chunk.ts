import { EdgelakeError } from '../errors.js';
import { crc32, sha256Hex } from './hash.js';
import { deflate, inflateBounded } from './inflate.js';
import { checkClassLabels, sampleAtOffset } from './labels.js';
import { describeWhere, type ReadLimits, type Where } from './limits.js';
import type { ChunkCompression, ChunkRef, TensorMeta } from './manifest.js';
import { chunkHeaderBytes, fixedSampleBytes, payloadRule } from './validate.js';

const MAGIC = 0x31434c45; // "ELC1" read as a little-endian u32

/** The parsed header of a chunk body: where each sample's payload lies and its crc32. */
export interface ChunkHeader {
  samples: number;
  /** offsets[i]..offsets[i+1] is sample i's payload, relative to `payloadStart`. */
  offsets: Uint32Array;
  crcs: Uint32Array;
  /** P in FORMAT.md: the byte where the payload area starts. */
  payloadStart: number;
}

/** Encodes sample payloads into a chunk; returns the stored bytes, the manifest entry and the body's header. */
export async function encodeChunk(payloads: Uint8Array[], compression: ChunkCompression): Promise<{ stored: Uint8Array; ref: ChunkRef; header: Uint8Array }> {
  const body = chunkBody(payloads);
  const stored = compression === 'deflate' ? deflate(body) : body;
  const header = body.subarray(0, chunkHeaderBytes(payloads.length));
  const [hash, headerHash] = await Promise.all([sha256Hex(stored), sha256Hex(header)]);
  return { stored, ref: { hash, bytes: stored.length, samples: payloads.length, headerHash }, header };
}

/** A chunk body (header, then the payloads), before chunk compression; `crcs` when already known. */
export function chunkBody(payloads: Uint8Array[], crcs?: ArrayLike<number>): Uint8Array {
  const header = encodeChunkHeader(payloads.map((p) => p.length), crcs ?? payloads.map((p) => crc32(p)));
  const body = new Uint8Array(payloads.reduce((a, p) => a + p.length, header.length));
  body.set(header);
  let at = header.length;
  for (const p of payloads) {
    body.set(p, at);
    at += p.length;
  }
  return body;
}

/** The first P bytes of a chunk body (FORMAT.md): magic, sample count, flags, payload offsets and crc32s. */
export function encodeChunkHeader(sizes: ArrayLike<number>, crcs: ArrayLike<number>): Uint8Array {
  const n = sizes.length;
  const P = chunkHeaderBytes(n);
  let total = P;
  for (let i = 0; i < n; i++) total += sizes[i];
  if (total > 0xffffffff) throw new EdgelakeError('invalid-input', `a chunk of ${total} bytes does not fit u32 offsets`);
  const header = new Uint8Array(P);
  const view = new DataView(header.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, n, true);
  view.setUint32(8, 0, true);
  let at = 0;
  for (let i = 0; i < n; i++) {
    view.setUint32(12 + 4 * i, at, true);
    view.setUint32(12 + 4 * (n + 1) + 4 * i, crcs[i], true);
    at += sizes[i];
  }
  view.setUint32(12 + 4 * n, at, true);
  return header;
}

/**
 * Parses and checks a chunk header from the first P bytes of a body (or the whole body). With
 * `bodyLength`, the offsets must end exactly at the end of the body.
 */
export function parseChunkHeader(bytes: Uint8Array, ref: ChunkRef, where: Where, bodyLength?: number): ChunkHeader {
  const fail = (problem: string): never => {
    throw new EdgelakeError('invalid-chunk', `${describeWhere(where)}: ${problem}`);
  };
  if (bytes.length < 12) fail(`is ${bytes.length} bytes, too short for a chunk header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) fail('does not start with the magic "ELC1"');
  const n = view.getUint32(4, true);
  if (n !== ref.samples) fail(`holds ${n} samples, but the manifest says ${ref.samples}`);
  if (view.getUint32(8, true) !== 0) fail(`has flags ${view.getUint32(8, true)}; version 1 allows only 0`);
  const P = chunkHeaderBytes(n);
  if (bytes.length < P) fail(`is truncated: the header needs ${P} bytes, only ${bytes.length} are there`);
  const offsets = new Uint32Array(n + 1);
  const crcs = new Uint32Array(n);
  for (let i = 0; i <= n; i++) offsets[i] = view.getUint32(12 + 4 * i, true);
  for (let i = 0; i < n; i++) crcs[i] = view.getUint32(12 + 4 * (n + 1) + 4 * i, true);
  if (offsets[0] !== 0) fail('has a first offset other than 0');
  for (let i = 0; i < n; i++) if (offsets[i + 1] < offsets[i]) fail(`has offsets that go backwards at sample ${i}`);
  if (bodyLength !== undefined && P + offsets[n] !== bodyLength) {
    fail(`has offsets ending at byte ${P + offsets[n]}, but the body is ${bodyLength} bytes (truncated or padded)`);
  }
  return { samples: n, offsets, crcs, payloadStart: P };
}

/**
 * Checks a header fetched on its own against the manifest's headerHash, then parses it. Only for
 * chunkCompression 'none', where the stored bytes are the body: the offsets must end at `ref.bytes`.
 */
export async function verifyChunkHeader(bytes: Uint8Array, ref: ChunkRef, where: Where): Promise<ChunkHeader> {
  const P = chunkHeaderBytes(ref.samples);
  if (bytes.length < P) {
    throw new EdgelakeError('invalid-chunk', `${describeWhere(where)}: header is truncated (${bytes.length} of ${P} bytes)`);
  }
  if ((await sha256Hex(bytes.subarray(0, P))) !== ref.headerHash) {
    throw new EdgelakeError('integrity', `${describeWhere(where)}: header does not match its headerHash`);
  }
  return parseChunkHeader(bytes.subarray(0, P), ref, where, ref.bytes);
}

/** Checks sample i's payload against its crc32; `payload` may come from a range read. */
export function verifySamplePayload(header: ChunkHeader, i: number, payload: Uint8Array, where: Where): Uint8Array {
  const expected = header.offsets[i + 1] - header.offsets[i];
  if (payload.length !== expected || crc32(payload) !== header.crcs[i]) {
    throw new EdgelakeError('integrity', `${describeWhere(where)}: sample ${i} of the chunk fails its crc32 check`);
  }
  return payload;
}

/** A verified chunk body: every byte checked against hash, headerHash and crc32. */
export interface DecodedChunk {
  header: ChunkHeader;
  body: Uint8Array;
  /** Sample i's payload (still sample-compressed if the tensor says so); a view, not a copy. */
  payload(i: number): Uint8Array;
}

/**
 * Verifies and decodes a chunk's stored bytes: length and SHA-256 against the manifest, bounded
 * inflate, header structure and headerHash, every sample's crc32 and every payload's size as
 * shape and dtype require (sample-compressed ones when decodeSamplePayload inflates them), and
 * every class label against its classNames. Throws an EdgelakeError naming `where`; never returns wrong data.
 * With `{ verified: true }` the caller vouches that `stored` already matched `ref.hash`, and only that check is skipped;
 * with `wanted`, only those samples are returned, so only their crc32s are checked.
 */
export async function decodeChunk(
  stored: Uint8Array, ref: ChunkRef, tensor: TensorMeta, limits: ReadLimits, where: Where, options: { verified?: boolean; wanted?: Uint32Array } = {},
): Promise<DecodedChunk> {
  const w = describeWhere(where);
  if (stored.length !== ref.bytes) {
    throw new EdgelakeError('integrity', `${w}: ${stored.length} bytes, but the manifest says ${ref.bytes} (truncated or altered)`);
  }
  // `verified`: the cache already checked these stored bytes against ref.hash; hashing twice costs a pass over the chunk.
  if (!options.verified && (await sha256Hex(stored)) !== ref.hash) {
    throw new EdgelakeError('integrity', `${w}: bytes do not match the chunk's SHA-256 name`);
  }
  const sampleBytes = fixedSampleBytes(tensor);
  const exact = sampleBytes === undefined ? undefined : chunkHeaderBytes(ref.samples) + ref.samples * sampleBytes;
  const body = tensor.chunkCompression === 'deflate'
    ? inflateBounded(stored, Math.min(exact ?? Infinity, limits.maxInflatedBytes), w)
    : stored;
  const header = parseChunkHeader(body, ref, where, body.length);
  if ((await sha256Hex(body.subarray(0, header.payloadStart))) !== ref.headerHash) {
    throw new EdgelakeError('integrity', `${w}: header does not match its headerHash`);
  }
  const { offsets, payloadStart: P } = header;
  const payload = (i: number) => body.subarray(P + offsets[i], P + offsets[i + 1]);
  // Sample-compressed payloads are sized after inflating, in decodeSamplePayload.
  const rule = tensor.sampleCompression === 'none' ? payloadRule(tensor) : undefined;
  for (let i = 0; i < header.samples; i++) checkPayloadSize(offsets[i + 1] - offsets[i], rule, i, w);
  // The SHA-256 vouches for every byte; a crc32 guards each sample returned, so one a view skips costs nothing.
  for (const i of options.wanted ?? header.crcs.keys()) verifySamplePayload(header, i, payload(i), where);
  if (tensor.sampleCompression === 'none') checkClassLabels(body.subarray(P), tensor, where, (byte) => sampleAtOffset(offsets, byte));
  return { header, body, payload };
}

/**
 * A compact chunk body read sample by sample (readWantedSamples: the `wanted` samples, every other
 * one empty), its header checked against headerHash and each wanted payload against its crc32 as
 * they arrived: here the structure, and the wanted payloads' sizes and class labels, as decodeChunk checks every sample's.
 */
export function wantedChunk(body: Uint8Array, ref: ChunkRef, tensor: TensorMeta, where: Where, wanted: Uint32Array): DecodedChunk {
  const w = describeWhere(where);
  const header = parseChunkHeader(body, ref, where, body.length);
  const { offsets, payloadStart: P } = header;
  const payload = (i: number) => body.subarray(P + offsets[i], P + offsets[i + 1]);
  const rule = tensor.sampleCompression === 'none' ? payloadRule(tensor) : undefined;
  for (const i of wanted) {
    checkPayloadSize(offsets[i + 1] - offsets[i], rule, i, w);
    if (tensor.sampleCompression === 'none') checkClassLabels(payload(i), tensor, where, () => i);
  }
  return { header, body, payload };
}

/** A decoded payload must have the size shape and dtype give it (FORMAT.md, "Sample payloads"). */
function checkPayloadSize(size: number, rule: ReturnType<typeof payloadRule>, i: number, w: string): void {
  if (rule === undefined) return;
  if (rule.exact ? size !== rule.unit : rule.unit === 0 ? size !== 0 : size % rule.unit !== 0) {
    const wanted = rule.exact ? `${rule.unit}` : `a multiple of ${rule.unit}`;
    throw new EdgelakeError('invalid-chunk', `${w}: sample ${i} has ${size} bytes; shape and dtype say ${wanted}`);
  }
}

/** Inflates sample `i`'s payload when the tensor uses sampleCompression 'deflate', checking its size. */
export function decodeSamplePayload(payload: Uint8Array, tensor: TensorMeta, limits: ReadLimits, where: Where, i = 0): Uint8Array {
  if (tensor.sampleCompression !== 'deflate') return payload;
  const rule = payloadRule(tensor);
  const w = describeWhere(where);
  const out = inflateBounded(payload, Math.min(rule?.exact ? rule.unit : Infinity, limits.maxInflatedBytes), `${w}: sample ${i}`);
  checkPayloadSize(out.length, rule, i, w);
  checkClassLabels(out, tensor, where, () => i);
  return out;
}
