import { EdgelakeError } from '../../errors.js';
import { encodeChunk } from '../chunk.js';
import { deflate } from '../inflate.js';
import { encodeHeaderIndex, wantsHeaderIndex } from '../header-index.js';
import { chunkPath, specOf, type TensorMeta, type TensorSpec } from '../manifest.js';
import type { Sink } from '../sink.js';
import { fixedSampleBytes } from '../validate.js';

export type { TensorSpec };

/**
 * Appends one tensor's samples and cuts them into chunks of about `targetChunkBytes` (before
 * compression), writing each chunk to the sink as soon as it is full, so memory stays at one
 * chunk (and the written chunks' headers, 8 bytes a sample, for the header index at the end).
 */
export class TensorWriter {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private readonly chunks: TensorMeta['chunks'] = [];
  /** Each written chunk's header, for the tensor's header index. */
  private readonly headers: Uint8Array[] = [];
  private readonly sampleBytes: number | undefined;
  readonly spec: TensorSpec;

  constructor(
    private readonly sink: Sink,
    readonly name: string,
    spec: TensorSpec,
    private readonly targetChunkBytes: number,
    /** At most this many samples a chunk, whatever their bytes (a linked tensor's chunk of URLs is small, its files are not). */
    private readonly maxChunkSamples = Infinity,
  ) {
    this.spec = specOf(spec); // a spec spread from a parent's tensor may carry its header index
    this.sampleBytes = fixedSampleBytes(spec);
  }

  /** Adds one sample's raw payload (for jpeg/png: the encoded file; for deflate: raw, compressed here). */
  async append(payload: Uint8Array): Promise<void> {
    if (this.sampleBytes !== undefined && payload.length !== this.sampleBytes) {
      throw new EdgelakeError('invalid-input', `tensor ${this.name}: sample ${this.count} has ${payload.length} bytes, shape and dtype need ${this.sampleBytes}`);
    }
    // Copy: callers may reuse their buffer for the next sample.
    const stored = this.spec.sampleCompression === 'deflate' ? deflate(payload) : payload.slice();
    this.pending.push(stored);
    this.pendingBytes += stored.length;
    if (this.pendingBytes >= this.targetChunkBytes || this.pending.length >= this.maxChunkSamples) await this.flush();
  }

  /** Samples appended so far. */
  get count(): number {
    return this.chunks.reduce((a, c) => a + c.samples, 0) + this.pending.length;
  }

  /** The tensor's manifest entry, once its last chunk (and its header index, where it has one) is written. */
  async finish(): Promise<TensorMeta> {
    await this.flush();
    if (!wantsHeaderIndex(this.spec, this.chunks.length)) return { ...this.spec, chunks: this.chunks };
    const { bytes, ref } = await encodeHeaderIndex(this.headers);
    await this.sink.write(chunkPath(ref.hash), bytes);
    return { ...this.spec, chunks: this.chunks, headers: ref };
  }

  private async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const { stored, ref, header } = await encodeChunk(this.pending, this.spec.chunkCompression);
    await this.sink.write(chunkPath(ref.hash), stored);
    this.chunks.push(ref);
    this.headers.push(header.slice());
    this.pending = [];
    this.pendingBytes = 0;
  }
}
