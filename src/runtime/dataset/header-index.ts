import { headerIndexOffsets } from '../../format/header-index.js';
import { chunkPath, type TensorMeta } from '../../format/manifest.js';
import type { Source } from '../../source/source.js';

/** On a fast link a request costs about as much as moving this many bytes; on a slow one the bytes are small next to its latency. */
export const REQUEST_COST_BYTES = 256 << 10;

/**
 * A tensor's chunk headers from its header index (FORMAT.md, "Header index"). Headers are read
 * alone until those reads have cost as much as the index would (each a request), then the index
 * is read whole, once (never past `maxBytes`): a reader of one sample pays one header, a view
 * over a hundred chunks two requests, and neither ever pays more than twice the better choice.
 */
export class HeaderIndex {
  #bytes: Promise<Uint8Array | undefined> | undefined;
  #offsets: number[] | undefined;
  #readAlone = 0;

  constructor(private readonly source: Source, private readonly meta: TensorMeta, private readonly maxBytes: number) {}

  /** Chunk `c`'s header bytes as the index holds them (unverified), or undefined: read it alone. */
  async header(c: number): Promise<Uint8Array | undefined> {
    const index = this.meta.headers;
    if (!index || index.bytes > this.maxBytes) return undefined;
    if (!this.#bytes) {
      if (index.bytes > REQUEST_COST_BYTES * this.#readAlone++) return undefined;
      // An index that cannot be read costs nothing but the one try: headers are read alone, as without one.
      this.#bytes = this.source.read(chunkPath(index.hash), { maxBytes: index.bytes }).catch(() => undefined);
    }
    const bytes = await this.#bytes;
    if (!bytes) return undefined;
    this.#offsets ??= headerIndexOffsets(this.meta.chunks);
    return bytes.subarray(this.#offsets[c], this.#offsets[c + 1]);
  }
}
