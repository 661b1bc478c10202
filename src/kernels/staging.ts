import { EdgelakeError } from '../errors.js';
import { sizeClass } from './buffer-pool.js';
import { assertDeviceAlive } from './pipelines.js';

export interface BatchUploaderOptions {
  /** Names the slot buffers: "<label> slot 0", ... */
  label: string;
  /** Input buffers used in turn; 2 (double buffering) unless more batches are in flight. */
  slots?: number;
  /** Added to COPY_DST; STORAGE by default. */
  usage?: GPUBufferUsageFlags;
}

/**
 * Uploads batches into N input buffers used in turn, so that batch i + 1 is written while the
 * kernels of batch i still run, and a slot's bytes stay valid until N uploads later.
 *
 * Ordering: WebGPU applies queue.writeBuffer and queue.submit in call order, so submit a batch's
 * work before its slot comes round again (at most N - 1 uploads ahead of the last submit).
 *
 *   const input = uploader.upload(bytes);  // record the kernels reading `input`, then submit
 */
export class BatchUploader {
  readonly label: string;
  readonly usage: GPUBufferUsageFlags;
  private readonly slots: (GPUBuffer | undefined)[];
  private next = 0;
  /** Batches uploaded so far. */
  uploads = 0;

  constructor(
    readonly device: GPUDevice,
    options: BatchUploaderOptions,
  ) {
    const slots = options.slots ?? 2;
    if (!Number.isInteger(slots) || slots < 1) {
      throw new EdgelakeError('invalid-input', `BatchUploader '${options.label}': slots must be a positive integer, got ${slots}`);
    }
    this.label = options.label;
    this.usage = (options.usage ?? GPUBufferUsage.STORAGE) | GPUBufferUsage.COPY_DST;
    this.slots = new Array<GPUBuffer | undefined>(slots).fill(undefined);
  }

  /**
   * Writes `bytes` at offset 0 of the next slot (grown when too small; a total that is not a
   * multiple of 4 is zero-padded) and returns that slot, to bind as this batch's input.
   */
  upload(bytes: Uint8Array): GPUBuffer {
    assertDeviceAlive(this.device, `BatchUploader '${this.label}'`);
    const index = this.next;
    let slot = this.slots[index];
    const padded = Math.max(4, Math.ceil(bytes.byteLength / 4) * 4);
    if (!slot || slot.size < padded) {
      slot?.destroy(); // the queue keeps it alive for work already submitted
      const size = Math.min(sizeClass(padded), Math.max(padded, this.device.limits.maxBufferSize));
      slot = this.device.createBuffer({ label: `${this.label} slot ${index}`, size, usage: this.usage });
      this.slots[index] = slot;
    }
    const whole = bytes.byteLength & ~3;
    // The types refuse views of a SharedArrayBuffer, which writeBuffer (AllowShared) takes.
    if (whole > 0) this.device.queue.writeBuffer(slot, 0, bytes as Uint8Array<ArrayBuffer>, 0, whole);
    if (whole < padded) {
      const tail = new Uint8Array(4);
      tail.set(bytes.subarray(whole));
      this.device.queue.writeBuffer(slot, whole, tail);
    }
    this.next = (index + 1) % this.slots.length;
    this.uploads++;
    return slot;
  }

  /** Destroys the slots; the uploader may be used again (it allocates anew). */
  destroy(): void {
    for (const [i, slot] of this.slots.entries()) {
      slot?.destroy();
      this.slots[i] = undefined;
    }
  }
}
