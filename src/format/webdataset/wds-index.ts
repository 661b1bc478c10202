import { EdgelakeError } from '../../errors.js';
import { chunkBody, encodeChunk } from '../chunk.js';
import { crc32 } from '../hash.js';
import { decodeIndexFile, encodeIndexFile } from '../index-file.js';
import { sniffImageType } from '../image/image.js';
import { DEFAULT_LIMITS } from '../limits.js';
import { FORMAT_VERSION, type ChunkRef, type Manifest, type TensorMeta } from '../manifest.js';
import { chunkHeaderBytes, validateManifest } from '../validate.js';
import { splitsOfFiles } from './shards.js';
import { tarMembers, type TarMember } from './tar.js';

export const WDS_INDEX_FORMAT = 'edgelake-webdataset-index/1';

/** A chunk made of one member of each of a run of samples in one shard: read as one range. */
export interface ShardSpan {
  shard: number;
  /** The first member's data offset in the shard; the span ends at the last member's data end. */
  start: number;
  /** Each sample's member data, relative to `start`. */
  offsets: number[];
  sizes: number[];
  crcs: number[];
}

/** A chunk of class labels kept in the index itself (a label is a few bytes in a 1 KiB tar block). */
export interface InlineChunk {
  values: number[];
}

/**
 * What `edgelake index` writes beside the shards: the dataset as an edgelake manifest whose
 * chunks are assembled from the shards (ShardSpan) or from the index (InlineChunk), keyed by the
 * chunk's SHA-256, so the loader, cache and verification read it as any native dataset.
 */
export interface WebDatasetIndex {
  format: typeof WDS_INDEX_FORMAT;
  name: string;
  /** `validator`: what the storage said of the shard when it was read (absent where it says nothing). */
  shards: { name: string; bytes: number; samples: number; validator?: { at: string; value: string } }[];
  manifest: Manifest;
  chunks: Record<string, ShardSpan | InlineChunk>;
}

/** A file read whole for indexing, with its validator where the storage gave one. */
export interface IndexInput {
  name: string;
  bytes: Uint8Array;
  validator?: { at: string; value: string };
}

export interface IndexShardsOptions {
  name: string;
  /** Payload bytes per chunk of a member tensor (default 256 KiB). */
  chunkBytes?: number;
  created?: string;
}

const LABELS_PER_CHUNK = 16384;
const IMAGE_TYPES: Record<string, 'png' | 'jpeg'> = { png: 'png', jpg: 'jpeg', jpeg: 'jpeg' };

/**
 * Indexes WebDataset shards, given whole and in order: members group into samples by key (the
 * name up to the first '.' of its file name, as WebDataset does), each extension a tensor, typed
 * by its last part (`seg.png` too): `png`/`jpg` images (decoded to pixels on read), `cls` an
 * integer class label, anything else (`json`, `txt`, ...) bytes. Hidden files (`._x.jpg`) are
 * skipped. Every sample must have the same extensions.
 */
export async function indexShards(shards: Iterable<IndexInput> | AsyncIterable<IndexInput>, options: IndexShardsOptions): Promise<WebDatasetIndex> {
  const chunkBytes = options.chunkBytes ?? 256 * 1024;
  const listed: WebDatasetIndex['shards'] = [];
  const tensors = new Map<string, { meta: Omit<TensorMeta, 'chunks'>; chunks: ChunkRef[]; open: { shard: number; members: { member: TarMember; bytes: Uint8Array }[]; bytes: number } | undefined; values: number[] }>();
  const chunks: WebDatasetIndex['chunks'] = {};
  let exts: string[] | undefined;
  let length = 0;
  const sizes = new Map<string, string>(); // ext -> "HxW" while every image has it, '' once they differ

  const flushSpan = async (ext: string) => {
    const t = tensors.get(ext)!;
    if (!t.open?.members.length) return;
    const payloads = t.open.members.map((m) => m.bytes);
    const { ref } = await encodeChunk(payloads, 'none');
    const start = t.open.members[0].member.dataOffset;
    chunks[ref.hash] = { shard: t.open.shard, start, offsets: t.open.members.map((m) => m.member.dataOffset - start), sizes: payloads.map((p) => p.length), crcs: payloads.map((p) => crc32(p)) };
    t.chunks.push(ref);
    t.open = undefined;
  };
  const flushValues = async (ext: string) => {
    const t = tensors.get(ext)!;
    if (!t.values.length) return;
    const { ref } = await encodeChunk(t.values.map(int32Payload), 'none');
    chunks[ref.hash] = { values: t.values };
    t.chunks.push(ref);
    t.values = [];
  };

  for await (const { name, bytes, validator } of shards) {
    const shard = listed.push({ name, bytes: bytes.length, samples: 0, ...(validator && { validator }) }) - 1;
    for (const sample of samplesOf(tarMembers(bytes, name), name)) {
      const these = [...sample.members.keys()].sort();
      exts ??= these;
      if (these.join() !== exts.join()) throw new EdgelakeError('invalid-input', `${name}: sample ${sample.key} has ${these.join(', ')}; the first sample has ${exts.join(', ')} (every sample needs the same members)`);
      for (const [ext, member] of sample.members) {
        const data = bytes.subarray(member.dataOffset, member.dataOffset + member.size);
        const where = `${name}: ${sample.key}.${ext}`;
        let t = tensors.get(ext);
        if (!t) tensors.set(ext, (t = { meta: metaFor(ext), chunks: [], open: undefined, values: [] }));
        const kind = kindOf(ext);
        if (kind === 'cls') {
          t.values.push(classOf(data, where));
          if (t.values.length === LABELS_PER_CHUNK) await flushValues(ext);
          continue;
        }
        if (IMAGE_TYPES[kind]) noteSize(sizes, ext, data, IMAGE_TYPES[kind], where);
        if (t.open && t.open.shard !== shard) await flushSpan(ext);
        t.open ??= { shard, members: [], bytes: 0 };
        t.open.members.push({ member, bytes: data });
        t.open.bytes += data.length;
        if (t.open.bytes >= chunkBytes) await flushSpan(ext);
      }
      length++;
      listed[shard].samples++;
    }
    for (const ext of tensors.keys()) await flushSpan(ext); // a span never crosses shards
  }
  if (!exts) throw new EdgelakeError('invalid-input', `${listed.map((s) => s.name).join(', ') || 'no shards'}: no samples (no regular files in the tar archives)`);
  for (const ext of tensors.keys()) await flushValues(ext);

  const manifest: Manifest = {
    format: FORMAT_VERSION, parent: null, message: `WebDataset: ${listed.length} shards`, created: options.created ?? new Date().toISOString(), length, splits: splitsOfFiles(listed),
    tensors: Object.fromEntries([...tensors].map(([ext, t]) => {
      const size = sizes.get(ext);
      const shape = IMAGE_TYPES[kindOf(ext)] && size ? [...size.split('x').map(Number), 3] : t.meta.shape;
      return [ext, { ...t.meta, shape, chunks: t.chunks }];
    })),
  };
  validateManifest(manifest, `the index of ${listed.length} shards`, DEFAULT_LIMITS);
  return { format: WDS_INDEX_FORMAT, name: options.name, shards: listed, manifest, chunks };
}

/** A chunk's body, from the shard span's bytes (read from `start`) or the index's own values. */
export function assembleChunk(chunk: ShardSpan | InlineChunk, span?: Uint8Array): Uint8Array {
  if ('values' in chunk) return chunkBody(chunk.values.map(int32Payload));
  return chunkBody(chunk.offsets.map((o, i) => span!.subarray(o, o + chunk.sizes[i])), chunk.crcs);
}

export function encodeWebDatasetIndex(index: WebDatasetIndex): Uint8Array {
  return encodeIndexFile(index);
}

/** Reads an index back; one that is damaged or not an index is refused by name, as a manifest is. */
export function decodeWebDatasetIndex(bytes: Uint8Array, where: string): WebDatasetIndex {
  const index = decodeIndexFile(bytes, where) as WebDatasetIndex;
  if (index?.format !== WDS_INDEX_FORMAT || !Array.isArray(index.shards) || typeof index.chunks !== 'object' || index.chunks === null) {
    throw new EdgelakeError('invalid-manifest', `${where}: not an ${WDS_INDEX_FORMAT} index (run edgelake index again)`);
  }
  validateManifest(index.manifest, where, DEFAULT_LIMITS);
  for (const t of Object.values(index.manifest.tensors)) {
    for (const ref of t.chunks) {
      const c = Object.hasOwn(index.chunks, ref.hash) ? index.chunks[ref.hash] : undefined;
      const fits = c && ('values' in c ? Array.isArray(c.values) && c.values.length === ref.samples : index.shards[c.shard] && [c.offsets, c.sizes, c.crcs].every((a) => Array.isArray(a) && a.length === ref.samples));
      if (!fits) throw new EdgelakeError('invalid-manifest', `${where}: chunk ${ref.hash} has no matching entry in the index`);
      if (!('values' in c) && !spanFits(c, index.shards[c.shard].bytes, ref)) {
        throw new EdgelakeError('invalid-manifest', `${where}: chunk ${ref.hash}: its members do not fit ${index.shards[c.shard].name} (outside its ${index.shards[c.shard].bytes} bytes, or not the chunk's ${ref.bytes} bytes)`);
      }
    }
  }
  return index;
}

/** Whether a span's members lie inside a shard of `shardBytes` and make a chunk body of `ref.bytes` (a tampered index could ask for any range). */
function spanFits(span: ShardSpan, shardBytes: number, ref: ChunkRef): boolean {
  const whole = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
  if (!whole(span.start) || !span.offsets.every(whole) || !span.sizes.every(whole) || !span.crcs.every(whole)) return false;
  const inside = span.offsets.every((o, i) => span.start + o + span.sizes[i] <= shardBytes);
  return inside && chunkHeaderBytes(ref.samples) + span.sizes.reduce((a, n) => a + n, 0) === ref.bytes;
}

/** Consecutive members with one key make a sample. */
function* samplesOf(members: Iterable<TarMember>, shard: string): Generator<{ key: string; members: Map<string, TarMember> }> {
  let current: { key: string; members: Map<string, TarMember> } | undefined;
  for (const member of members) {
    const slash = member.name.lastIndexOf('/');
    const dot = member.name.indexOf('.', slash + 1);
    if (dot <= slash + 1) continue; // no extension, or a hidden file (macOS ._x.jpg, .DS_Store): WebDataset skips these too
    const [key, ext] = [member.name.slice(0, dot), member.name.slice(dot + 1).toLowerCase()];
    if (current?.key !== key) {
      if (current) yield current;
      current = { key, members: new Map() };
    }
    if (current.members.has(ext)) throw new EdgelakeError('invalid-input', `${shard}: sample ${key} has two ${ext} members`);
    current.members.set(ext, member);
  }
  if (current) yield current;
}

/** What an extension holds, from its last part (`seg.png` is an image), as WebDataset's decoders choose. */
function kindOf(ext: string): string {
  return ext.slice(ext.lastIndexOf('.') + 1);
}

function metaFor(ext: string): Omit<TensorMeta, 'chunks'> {
  const kind = kindOf(ext);
  const image = IMAGE_TYPES[kind];
  if (image) return { htype: 'image', dtype: 'uint8', shape: [null, null, 3], layout: 'HWC', sampleCompression: image, chunkCompression: 'none' };
  if (kind === 'cls') return { htype: 'class_label', dtype: 'int32', shape: [], sampleCompression: 'none', chunkCompression: 'none' };
  return { htype: kind === 'txt' || kind === 'json' ? 'text' : 'generic', dtype: 'bytes', shape: [], sampleCompression: 'none', chunkCompression: 'none' };
}

function classOf(data: Uint8Array, where: string): number {
  const text = new TextDecoder().decode(data).trim();
  if (!/^-?\d{1,10}$/.test(text) || Math.abs(Number(text)) > 2 ** 31 - 1) throw new EdgelakeError('invalid-input', `${where}: a class label must be an integer, not ${JSON.stringify(text.slice(0, 20))}`);
  return Number(text);
}

/** A class label's payload: an int32, little-endian. */
export function int32Payload(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
}

/** Keeps "HxW" for an image tensor while every image has the same stored size ('' once they differ). */
function noteSize(sizes: Map<string, string>, ext: string, data: Uint8Array, type: 'png' | 'jpeg', where: string): void {
  // Read as what it is, whatever its extension says (FORMAT.md): a .jpg member may be a PNG.
  const actual = sniffImageType(data);
  if (!actual) throw new EdgelakeError('invalid-input', `${where} is neither JPEG nor PNG (its extension says ${type.toUpperCase()})`);
  const size = storedSize(data, actual);
  const seen = sizes.get(ext);
  sizes.set(ext, seen === undefined ? size : seen === size ? seen : '');
}

/** "HxW" from a PNG's IHDR or a JPEG's frame header; '' when unknown or when EXIF may rotate it. */
export function storedSize(b: Uint8Array, type: 'png' | 'jpeg'): string {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (type === 'png') return b.length >= 24 ? `${view.getUint32(20)}x${view.getUint32(16)}` : '';
  for (let at = 2; at + 9 < b.length; ) {
    if (b[at] !== 0xff) return '';
    const marker = b[at + 1];
    if (marker === 0xe1) return ''; // EXIF: an orientation may swap height and width
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) return `${view.getUint16(at + 5)}x${view.getUint16(at + 7)}`;
    at += 2 + view.getUint16(at + 2);
  }
  return '';
}
