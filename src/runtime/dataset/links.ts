import type { ChunkCache } from '../../cache/cache.js';
import { EdgelakeError, isEdgelakeError } from '../../errors.js';
import { chunkBody } from '../../format/chunk.js';
import { sha256Hex } from '../../format/hash.js';
import { describeWhere, type ReadLimits, type Where } from '../../format/limits.js';
import type { ChunkRef, TensorMeta } from '../../format/manifest.js';
import { chunkHeaderBytes } from '../../format/validate.js';
import { withMetrics, type SourceMetrics } from '../../source/metrics.js';
import { openTransport, schemeOf, withDefaults, type OpenSourceOptions } from '../../source/open.js';
import { encodePath } from '../../source/path.js';
import { redactUrl } from '../../source/redact.js';
import type { Source } from '../../source/source.js';
import { urlSource } from '../../source/urls.js';

/*
 * Linked tensors (FORMAT.md, "Linked tensors"): a chunk holds URLs, and each sample is the file at
 * its URL. The files are read through the cache like chunks: stored under their SHA-256, with a
 * sidecar per chunk and dataset root (a cache note) recording each file's validator (an ETag; a
 * local file's identity, size, mtime and ctime) and hash. A later read asks the server for the
 * file only if it changed since (If-None-Match): unchanged, the cached bytes are served, checked
 * against the hash first read; changed, the new bytes are read whole and replace the old, never
 * mixed with them.
 */

/** What the sidecar keeps of one file, once read. */
export interface LinkedFileRecord {
  validator: string;
  sha256: string;
  bytes: number;
}

export interface LinkedFilesOptions extends OpenSourceOptions {
  cache?: ChunkCache;
  /** Opens the transport of a folder URL (Node adds local folders); default openTransport. */
  openTransport?: (root: string, options: OpenSourceOptions) => Source;
}

/** Reads the files linked tensors name, through their own retries, concurrency cap and metrics. */
export class LinkedFiles {
  readonly #files: Source;
  readonly #open: (root: string, options: OpenSourceOptions) => Source;
  /** A relative local root made absolute, once: its transport's location. */
  #absoluteRoot: string | undefined;
  /** Requests and bytes that reached the files' servers; `unchanged` counts revalidations that moved no bytes. */
  readonly network: SourceMetrics;

  /** `root` is the dataset's: relative links resolve against it, and a remote one may link only remote files. */
  constructor(private readonly root: string, private readonly options: LinkedFilesOptions = {}) {
    const open = options.openTransport ?? openTransport;
    // Transports open per folder at the first read of a file in it: datasets without links open none.
    const { source, metrics } = withMetrics(withDefaults(urlSource((folder) => open(folder, options)), options));
    this.#files = source;
    this.#open = open;
    this.network = metrics;
  }

  /**
   * The files that samples of a chunk (`ref`, of a linked tensor) link, as [index in the chunk,
   * link] pairs, in that order: from the cache when their servers say they are unchanged, else
   * read whole. `where` names the chunk.
   */
  async read(ref: ChunkRef, links: [number, string][], limits: ReadLimits, where: Where, signal?: AbortSignal): Promise<Uint8Array[]> {
    const cache = this.options.cache;
    // Relative links name other files under another root: the same chunk's records are kept per root.
    const note = `links:${ref.hash}:${redactUrl(this.root)}`;
    const before = cache ? parseSidecar(await cache.store.getNote(note), ref.samples) : [];
    const after = [...before];
    const files = await Promise.all(links.map(async ([i, link]) => {
      const { bytes, record } = await this.#readFile(resolveLink(link, this.root, where, i, (root) => (this.#absoluteRoot ??= this.#open(root, this.options).location)), before[i], limits, signal);
      after[i] = record;
      return bytes;
    }));
    if (cache && links.some(([i]) => after[i]?.sha256 !== before[i]?.sha256 || after[i]?.validator !== before[i]?.validator)) {
      // Another read of this chunk's samples may have recorded others meanwhile: keep theirs.
      const now = parseSidecar(await cache.store.getNote(note), ref.samples);
      for (const [i] of links) now[i] = after[i];
      await cache.putNote(note, new TextEncoder().encode(JSON.stringify({ files: Array.from({ length: ref.samples }, (_, i) => now[i] ?? null) })));
    }
    return files;
  }

  async #readFile(url: string, known: LinkedFileRecord | undefined, limits: ReadLimits, signal: AbortSignal | undefined): Promise<{ bytes: Uint8Array; record: LinkedFileRecord | undefined }> {
    const cache = this.options.cache;
    let validator: string | undefined;
    const options = { signal, maxBytes: limits.maxChunkBytes, onValidator: (v: string) => void (validator = v) };
    let bytes: Uint8Array | undefined;
    const held = known && cache ? await cache.peek(known.sha256) : undefined; // checked against the hash
    if (held) {
      try {
        bytes = await this.#files.read(url, { ...options, ifChanged: known!.validator });
      } catch (e) {
        if (isEdgelakeError(e, 'not-modified')) return { bytes: held, record: known };
        throw e;
      }
    }
    bytes ??= await this.#files.read(url, options);
    const sha256 = await sha256Hex(bytes);
    if (known && validator === known.validator && sha256 !== known.sha256) {
      throw new EdgelakeError('integrity', `${redactUrl(url)}: its server calls it unchanged (${validator}), but its bytes hash to ${sha256.slice(0, 12)}…, not the ${known.sha256.slice(0, 12)}… first read`);
    }
    // Without a validator the file cannot be revalidated: it is read again next time, never trusted stale.
    if (!cache || validator === undefined) return { bytes, record: undefined };
    await cache.get(sha256, { fetch: async () => bytes!, verified: true, where: redactUrl(url) });
    return { bytes, record: { validator, sha256, bytes: bytes.length } };
  }
}

/**
 * A link as the URL to read: absolute ones as they are, relative ones as URLs against the dataset's
 * root (a local one as a file:// URL; `absolute` makes a relative path absolute, as Node's transport does).
 * A dataset opened from http(s):// or s3:// may link only such files: never local ones.
 */
export function resolveLink(link: string, root: string, where: Where, i: number, absolute = (path: string) => path): string {
  const scheme = schemeOf(link);
  const remote = ['http', 'https', 's3'].includes(schemeOf(root) ?? '');
  const refuse = (why: string) => new EdgelakeError('invalid-chunk', `${describeWhere(where)}: sample ${i} links ${JSON.stringify(redactUrl(link).slice(0, 200))}, ${why}`);
  if (link === '') throw refuse('an empty link');
  if (scheme === 'http' || scheme === 'https' || scheme === 's3') return link;
  if (scheme !== undefined && scheme !== 'file') throw refuse('which is not an http(s)://, s3:// or file:// URL');
  if (remote && (scheme === 'file' || link.startsWith('/'))) throw refuse(`a local file, and the dataset is remote (${redactUrl(root)})`);
  if (scheme === 'file' || link.startsWith('/')) return link;
  const base = remote || schemeOf(root) === 'file' ? root : `file://${encodePath(absolute(root))}`;
  const url = new URL(link, base.replace(/\/*$/, '/'));
  if (url.protocol !== 's3:') return url.href;
  // An s3:// URL names its key as written (as the AWS CLI reads it), so the resolved path is decoded back.
  if (url.search !== '') throw refuse("whose '?' would start a query, which an S3 key has not (write it as %3F)");
  try {
    return `s3://${url.host}${decodeURIComponent(url.pathname)}`;
  } catch {
    throw refuse("with a '%' that starts no UTF-8 escape (a '%' itself is written %25)");
  }
}

/** A linked tensor's chunks as stored: URLs, one UTF-8 string a sample. */
export function linkTensor(t: TensorMeta): TensorMeta {
  return { htype: 'text', dtype: 'bytes', shape: [null], sampleCompression: 'none', chunkCompression: t.chunkCompression, chunks: t.chunks };
}

/** The tensor of the files a linked tensor names, as a chunk of them (linkedChunk) holds them. */
export function filesTensor(t: TensorMeta): TensorMeta {
  const { linked: _, ...rest } = t;
  return { ...rest, chunkCompression: 'none' };
}

/** The links a chunk's URL samples (data + offsets, as decodeSamples gives them) hold. */
export function linksOf(data: Uint8Array, offsets: ArrayLike<number>): string[] {
  const text = new TextDecoder('utf-8', { fatal: true });
  return Array.from({ length: offsets.length - 1 }, (_, i) => text.decode(data.subarray(offsets[i], offsets[i + 1])));
}

/** Files as a chunk of filesTensor's, for decodeSamples to read with `verified` (each file was checked as it arrived). */
export async function linkedChunk(files: Uint8Array[], ref: ChunkRef): Promise<{ stored: Uint8Array; ref: ChunkRef }> {
  const stored = chunkBody(files);
  const headerHash = await sha256Hex(stored.subarray(0, chunkHeaderBytes(files.length)));
  return { stored, ref: { hash: ref.hash, bytes: stored.length, samples: files.length, headerHash } };
}

/** The sidecar's records, one per link (undefined where none); a damaged sidecar is as good as none. */
function parseSidecar(bytes: Uint8Array | undefined, n: number): (LinkedFileRecord | undefined)[] {
  if (!bytes) return [];
  try {
    const { files } = JSON.parse(new TextDecoder().decode(bytes)) as { files: unknown[] };
    if (!Array.isArray(files) || files.length !== n) return [];
    return files.map((r) => {
      const o = r as Partial<LinkedFileRecord> | null;
      return o && typeof o.validator === 'string' && typeof o.sha256 === 'string' && /^[0-9a-f]{64}$/.test(o.sha256) && typeof o.bytes === 'number' ? (o as LinkedFileRecord) : undefined;
    });
  } catch {
    return [];
  }
}
