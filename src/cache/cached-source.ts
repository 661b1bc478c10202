import { EdgelakeError, isEdgelakeError } from '../errors.js';
import { contentHash } from '../format/content-address.js';
import { REFS_PATH } from '../format/manifest.js';
import type { ReadOptions, Source } from '../source/source.js';
import type { ChunkCache } from './cache.js';

export interface CachedSourceOptions {
  /** The source below already checks every content-addressed file against its name (a dataset's chain does): not hashed again. */
  verified?: boolean;
}

/**
 * A Source that reads immutable files (chunks, version manifests: both named by their SHA-256)
 * through a ChunkCache, and remembers the last edgelake.json it read so a dataset opens offline.
 * Range reads are served from the cache when the whole chunk is there, else from the source.
 * A read with `writeBehind` gets its bytes before they are stored (ReadOptions).
 */
export function withCache(source: Source, cache: ChunkCache, { verified = false }: CachedSourceOptions = {}): Source {
  const refsNote = `refs:${source.location}`;

  return {
    location: source.location,

    async read(path: string, options?: ReadOptions): Promise<Uint8Array> {
      const hash = contentHash(path);
      if (hash) {
        const where = `${source.location}/${path}`;
        const bytes = await cache.get(hash, { fetch: () => source.read(path, options), where, verified, writeBehind: options?.writeBehind, signal: options?.signal });
        if (options?.maxBytes !== undefined && bytes.length > options.maxBytes) {
          throw new EdgelakeError('limit', `${where}: ${bytes.length} bytes, more than the ${options.maxBytes} expected`);
        }
        return bytes;
      }
      if (path !== REFS_PATH) return source.read(path, options);
      try {
        const refs = await source.read(path, options);
        await cache.putNote(refsNote, refs); // a store that cannot write warns; the read goes on
        return refs;
      } catch (e) {
        if (!isEdgelakeError(e, 'unreachable')) throw e;
        const remembered = await cache.store.getNote(refsNote);
        if (remembered) return remembered;
        throw new EdgelakeError('unreachable', `${source.location}/${path} is not cached in ${cache.store.location} and the remote is unreachable: ${e.message}`, { cause: e });
      }
    },

    async readRange(path: string, offset: number, length: number, options?: ReadOptions): Promise<Uint8Array> {
      const hash = contentHash(path);
      const whole = hash ? await cache.peek(hash) : undefined;
      if (!whole) return source.readRange(path, offset, length, options);
      if (offset < 0 || length < 0 || offset + length > whole.length) {
        throw new EdgelakeError('source', `${source.location}/${path}: range ${offset}+${length} is outside its ${whole.length} bytes`);
      }
      return whole.slice(offset, offset + length);
    },
  };
}
