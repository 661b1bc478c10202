import { resolveTensors, TENSOR, type Backend, type Tensor } from './backend.js';
import { OPS, type OpName, type Ops } from './ops.js';

/** A CPU tensor: one buffer seen as float32, int32 and uint32 (labels and pool indices are integers). */
interface CpuTensor extends Tensor {
  [TENSOR]: true;
  f32: Float32Array;
  i32: Int32Array;
  u32: Uint32Array;
}

/** Runs every op with the kernels' CPU references, at once, on this thread. */
export class CpuBackend implements Backend {
  readonly kind = 'cpu';
  readonly adapter = 'cpu';

  create(size: number, label: string, data?: Float32Array | Int32Array): Tensor {
    const t = view(new ArrayBuffer(size * 4), 0, size, label);
    if (data) this.write(t, data);
    return t;
  }

  wrap(data: GPUBuffer | Float32Array | Int32Array, size: number, label: string): Tensor {
    if (!ArrayBuffer.isView(data)) throw new TypeError(`${label}: the CPU backend takes typed arrays, not a GPUBuffer`);
    return view(data.buffer as ArrayBuffer, data.byteOffset, size, label);
  }

  write(t: Tensor, data: Float32Array | Int32Array): void {
    const c = t as CpuTensor;
    if (data instanceof Int32Array) c.i32.set(data);
    else c.f32.set(data);
  }

  fill(t: Tensor, value: number): void {
    (t as CpuTensor).f32.fill(value);
  }

  async read(t: Tensor, size = t.size): Promise<Float32Array> {
    return (t as CpuTensor).f32.slice(0, size);
  }

  copy(src: Tensor, srcOffset: number, dst: Tensor, dstOffset: number, count: number): void {
    (dst as CpuTensor).f32.set((src as CpuTensor).f32.subarray(srcOffset, srcOffset + count), dstOffset);
  }

  destroy(): void {}

  run<K extends OpName>(op: K, args: Ops<Tensor>[K]): void {
    // Integer operands: class-index labels and pool argmax; everything else is float32.
    const soft = (args as { labelKind?: string }).labelKind === 'soft';
    const resolved = resolveTensors(args, (t, key) => {
      const c = t as CpuTensor;
      if (key === 'argmax') return c.u32;
      if (key === 'labels' && !soft) return c.i32;
      return c.f32;
    });
    (OPS[op].ref as (a: unknown) => void)(resolved);
  }

  flush(): void {}
  async settle(): Promise<void> {}
  close(): void {}
}

function view(buffer: ArrayBuffer, byteOffset: number, size: number, label: string): CpuTensor {
  return {
    [TENSOR]: true, size, label,
    f32: new Float32Array(buffer, byteOffset, size), i32: new Int32Array(buffer, byteOffset, size), u32: new Uint32Array(buffer, byteOffset, size),
  };
}
