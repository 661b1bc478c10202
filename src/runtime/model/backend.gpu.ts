import { readBuffer, Transients } from '../../kernels/pipelines.js';
import { resolveTensors, TENSOR, type Backend, type Tensor } from './backend.js';
import { OPS, type OpName, type Ops } from './ops.js';

interface GpuTensor extends Tensor {
  [TENSOR]: true;
  buffer: GPUBuffer;
  /** False for wrapped buffers (a loader's batch): not ours to destroy. */
  owned: boolean;
}

/**
 * Records ops as kernel dispatches into one compute pass, submitted by flush() (once per training
 * step): the step's dozens of dispatches cost one submit, and nothing waits for the GPU until a
 * value is read.
 */
export class GpuBackend implements Backend {
  readonly kind = 'gpu';
  private encoder: GPUCommandEncoder | undefined;
  private pass: GPUComputePassEncoder | undefined;
  private transients = new Transients();

  constructor(readonly device: GPUDevice, readonly adapter: string) {}

  create(size: number, label: string, data?: Float32Array | Int32Array): Tensor {
    // GPUBufferUsage is read at call time: it exists only once a WebGPU implementation is loaded.
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const buffer = this.device.createBuffer({ label, size: Math.max(4, size * 4), usage });
    const t: GpuTensor = { [TENSOR]: true, size, label, buffer, owned: true };
    if (data) this.write(t, data);
    return t;
  }

  wrap(data: GPUBuffer | Float32Array | Int32Array, size: number, label: string): Tensor {
    if (ArrayBuffer.isView(data)) return this.create(size, label, data.subarray(0, size)); // owned: destroy() it
    return { [TENSOR]: true, size, label, buffer: data, owned: false } as GpuTensor;
  }

  write(t: Tensor, data: Float32Array | Int32Array): void {
    this.flush(); // recorded ops must see the old contents: queue writes run before unsubmitted work
    this.device.queue.writeBuffer((t as GpuTensor).buffer, 0, data.buffer, data.byteOffset, Math.min(data.byteLength, t.size * 4));
  }

  fill(t: Tensor, value: number): void {
    this.write(t, new Float32Array(t.size).fill(value));
  }

  async read(t: Tensor, size = t.size): Promise<Float32Array> {
    this.flush();
    return new Float32Array(await readBuffer(this.device, (t as GpuTensor).buffer, size * 4));
  }

  destroy(t: Tensor): void {
    const g = t as GpuTensor;
    if (!g.owned) return;
    // Recorded work may still use it: then it goes once that work is submitted.
    if (this.encoder) this.transients.add(g.buffer);
    else g.buffer.destroy();
  }

  copy(src: Tensor, srcOffset: number, dst: Tensor, dstOffset: number, count: number): void {
    // Copies go between passes: end the open one; the next op begins another.
    this.pass?.end();
    this.pass = undefined;
    this.encoder ??= this.device.createCommandEncoder({ label: 'edgelake model' });
    this.encoder.copyBufferToBuffer((src as GpuTensor).buffer, srcOffset * 4, (dst as GpuTensor).buffer, dstOffset * 4, count * 4);
  }

  run<K extends OpName>(op: K, args: Ops<Tensor>[K]): void {
    this.encoder ??= this.device.createCommandEncoder({ label: 'edgelake model' });
    this.pass ??= this.encoder.beginComputePass({ label: 'edgelake model' });
    // The same arguments with each tensor's buffer in its place.
    const resolved = resolveTensors(args, (t) => (t as GpuTensor).buffer) as unknown as Ops<GPUBuffer>[K];
    OPS[op].encode(this.device, this.pass, resolved, this.transients);
  }

  flush(): void {
    if (!this.encoder) return;
    this.pass?.end();
    this.device.queue.submit([this.encoder.finish()]);
    this.transients.destroy();
    this.pass = this.encoder = undefined;
  }

  async settle(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
  }

  close(): void {
    this.flush();
  }
}
