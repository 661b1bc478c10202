import { EdgelakeError } from '../errors.js';

export interface GpuTimerOptions {
  /** Names the query set and buffers. */
  label: string;
  /** Passes that can be timed between two read()s. */
  capacity?: number;
}

/**
 * GPU time of compute passes, in milliseconds per pass label, from 'timestamp-query' when the
 * device has it; otherwise `enabled` is false and read() gives {}.
 *
 *   const pass = encoder.beginComputePass(timer.pass('decode'));  // ... pass.end()
 *   timer.resolve(encoder); device.queue.submit([encoder.finish()]);
 *   const ms = await timer.read();  // { decode: 0.42 }
 */
export class GpuTimer {
  readonly enabled: boolean;
  readonly label: string;
  readonly capacity: number;
  private querySet?: GPUQuerySet;
  private resolveBuffer?: GPUBuffer;
  private readBuffer?: GPUBuffer;
  private labels: string[] = []; // of the passes recorded since the last read()
  private resolved = 0; // passes whose timestamps resolve() copied to readBuffer
  private reading = false;

  constructor(
    readonly device: GPUDevice,
    options: GpuTimerOptions,
  ) {
    this.label = options.label;
    this.capacity = options.capacity ?? 32;
    this.enabled = device.features.has('timestamp-query');
    if (!this.enabled) return;
    const count = this.capacity * 2;
    this.querySet = device.createQuerySet({ label: `${this.label} timestamps`, type: 'timestamp', count });
    const { QUERY_RESOLVE, COPY_SRC, COPY_DST, MAP_READ } = GPUBufferUsage;
    this.resolveBuffer = device.createBuffer({
      label: `${this.label} resolved timestamps`,
      size: count * 8,
      usage: QUERY_RESOLVE | COPY_SRC,
    });
    this.readBuffer = device.createBuffer({
      label: `${this.label} timestamps read-back`,
      size: count * 8,
      usage: MAP_READ | COPY_DST,
    });
  }

  /** A compute pass descriptor that times the pass under `label` (a plain labelled one when disabled). */
  pass(label: string): GPUComputePassDescriptor {
    if (!this.querySet) return { label };
    if (this.reading) throw this.error('read() of the previous passes has not finished');
    if (this.labels.length >= this.capacity) throw this.error(`more than ${this.capacity} passes before read()`);
    const index = this.labels.push(label) - 1;
    return {
      label,
      timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: index * 2, endOfPassWriteIndex: index * 2 + 1 },
    };
  }

  /** Records the copy of the timestamps of the passes so far into `encoder`; submit it, then read(). */
  resolve(encoder: GPUCommandEncoder): void {
    if (!this.querySet || this.labels.length === 0) return;
    const count = this.labels.length * 2;
    encoder.resolveQuerySet(this.querySet, 0, count, this.resolveBuffer!, 0);
    encoder.copyBufferToBuffer(this.resolveBuffer!, 0, this.readBuffer!, 0, count * 8);
    this.resolved = this.labels.length;
  }

  /** Milliseconds per pass label (summed over passes of one label) since the last read(). */
  async read(): Promise<Record<string, number>> {
    const labels = this.labels.splice(0);
    const resolved = this.resolved;
    this.resolved = 0;
    if (!this.readBuffer || labels.length === 0) return {};
    if (resolved !== labels.length) throw this.error('read() needs resolve() after the last timed pass');
    this.reading = true;
    try {
      await this.readBuffer.mapAsync(GPUMapMode.READ, 0, resolved * 16);
      const stamps = new BigUint64Array(this.readBuffer.getMappedRange(0, resolved * 16).slice(0));
      this.readBuffer.unmap();
      const ms: Record<string, number> = {};
      for (const [i, label] of labels.entries()) {
        // Some drivers report end < begin for very short passes: count those as 0.
        const ns = stamps[i * 2 + 1] > stamps[i * 2] ? Number(stamps[i * 2 + 1] - stamps[i * 2]) : 0;
        ms[label] = (ms[label] ?? 0) + ns / 1e6;
      }
      return ms;
    } finally {
      this.reading = false;
    }
  }

  destroy(): void {
    this.querySet?.destroy();
    this.resolveBuffer?.destroy();
    this.readBuffer?.destroy();
  }

  private error(why: string): EdgelakeError {
    return new EdgelakeError('invalid-input', `GpuTimer '${this.label}': ${why}`);
  }
}
