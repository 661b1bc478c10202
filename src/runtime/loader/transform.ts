import { EdgelakeError } from '../../errors.js';
import type { TensorMeta } from '../../format/manifest.js';
import { compileAugment, augmentMix, augmentParams, augmentRef, encodeAugment, encodeMixLabels, mixLabels, type AugmentMix, type AugmentOp, type AugmentPlan } from '../../kernels/augment/index.js';
import { acquireBuffer, bufferPool, releaseBuffer } from '../../kernels/buffer-pool.js';
import { encodeDecode } from '../../kernels/decode/decode.js';
import { encodeFit, fitRef } from '../../kernels/fit/index.js';
import { decodeRef, type DecodeDtype, type DecodeKernelOptions } from '../../kernels/decode/decode.ref.js';
import { Transients } from '../../kernels/pipelines.js';
import { BatchUploader } from '../../kernels/staging.js';
import { fitInput, jpegOnDevice, prepareFit, samplesOf, type FitPlanner, type FitTransform } from './fit.js';
import { encodeJpegSamples } from './jpeg-batch.js';
import type { TypedArray } from '../dataset/batch.js';

/** How a tensor becomes float32 for a model: scale, per-channel normalization, layout, augmentation. */
export interface TensorTransform {
  /** Multiplies each (dequantized) element first, e.g. 1 / 255. */
  scale?: number;
  /** (v - mean) / std per channel (the last dimension), or one for all; always last, after `augment`. */
  mean?: number[];
  std?: number[];
  /** [H, W, C] samples become [C, H, W]; with `augment` the default (its kernel works on planes), and `false` gives [H, W, C] (TF.js models). */
  toCHW?: boolean;
  /**
   * Per-sample random augmentation of [H, W, C] images, fused into as few passes as possible. Its
   * ops see scaled values (after `scale`, before mean/std): fills, cutout values and noise std are in those units.
   */
  augment?: AugmentOp[];
  /** Keys the augmentation's random draws with (seed, epoch, sample id); default: the shuffle seed, else 0. */
  seed?: number;
  /** Images of any size (shape [null, null, C]) become one size before everything else. */
  fit?: FitTransform;
}

export type BatchTensor = TypedArray | Uint8Array[] | GPUBuffer;

// What a batch tensor holds where it cannot say itself: pooled GPU buffers are rounded up, and mixup's label rows look like any floats.
const filledBytes = new WeakMap<object, number>();
const softLabels = new WeakSet<object>();

/** The bytes of a batch tensor its values fill: a typed array's, or what a transform wrote into its GPUBuffer (undefined for other buffers). */
export function batchTensorBytes(tensor: BatchTensor): number | undefined {
  return ArrayBuffer.isView(tensor) ? tensor.byteLength : Array.isArray(tensor) ? undefined : filledBytes.get(tensor);
}

/** Whether a batch tensor holds mixup's soft labels (n x classes float32 rows) rather than n class indices. */
export function isSoftLabels(tensor: BatchTensor | undefined): boolean {
  return tensor !== undefined && softLabels.has(tensor);
}

/** A batch's image samples as decoded: [h, w, c] each, and each one's fit box (x, y, w, h) when the decoder chose them. */
export interface DecodedImages {
  shapes: Uint32Array;
  boxes?: Uint32Array;
}

/**
 * Turns a batch's stacked tensors into what the consumer reads. Two implementations, chosen once
 * by the loader: on the GPU (kernels; batch tensors are GPU buffers) and on the CPU (the kernels'
 * references; typed arrays). They give the same values. With mixup, class labels become soft labels.
 */
export interface BatchTransform {
  /** `images`: for the tensors whose samples were decoded images, what the decoder said of them. */
  apply(tensors: Record<string, TypedArray | Uint8Array[]>, ids: Uint32Array, images?: Record<string, DecodedImages>): Promise<Record<string, BatchTensor>>;
  close(): void;
}

/** What a transform needs to know about each tensor, resolved once per loader. */
interface Prepared {
  decode: (samples: number) => DecodeKernelOptions;
  fit?: FitPlanner;
  plan?: AugmentPlan;
  seed: number;
}

const DECODABLE = new Set(['uint8', 'int8', 'uint16', 'int16', 'float16', 'float32']);

function prepare(name: string, meta: TensorMeta, t: TensorTransform, defaultSeed: number): Prepared {
  const stored = meta.shape.length === 0 ? [1] : meta.shape;
  const fit = t.fit ? prepareFit(name, meta, t.fit, t.seed ?? defaultSeed) : undefined;
  const shape = fit ? [t.fit!.size[0], t.fit!.size[1], stored[2]] : stored;
  if (!DECODABLE.has(meta.dtype) || shape.some((d) => d === null)) {
    const hint = shape.some((d) => d === null) ? ': give images of any size a fit, e.g. { fit: { size: [224, 224] } }' : '';
    throw new EdgelakeError('invalid-input', `tensor ${name}: a transform needs a fixed shape and a numeric dtype (${meta.dtype} [${meta.shape.join(', ')}])${hint}`);
  }
  const dims = shape as number[];
  if (t.augment && dims.length !== 3) throw new EdgelakeError('invalid-input', `tensor ${name}: augment needs [H, W, C] images, not [${dims.join(', ')}]`);
  // With augment, decode only scales and the augment pass normalizes last, so colour ops, noise
  // and fills see scaled values (torchvision's order); without, decode normalizes too (one pass).
  const normalize = { mean: t.mean, std: t.std };
  const plan = t.augment ? compileAugment(t.augment, [dims[2], dims[0], dims[1]], t.toCHW === false ? 'HWC' : 'CHW', normalize) : undefined;
  return {
    decode: (samples) => ({
      samples, shape: dims, dtype: meta.dtype as DecodeDtype, scale: t.scale, ...(plan ? {} : normalize), toCHW: t.toCHW || !!plan,
      ...(meta.quant ? { quant: meta.quant } : {}),
    }),
    fit,
    plan,
    seed: t.seed ?? defaultSeed,
  };
}

/** Loaded class_label tensors: with mixup they become soft labels over their classes. */
function labelTensors(metas: Record<string, TensorMeta>): [string, number][] {
  return Object.entries(metas).filter(([, m]) => m.htype === 'class_label' && m.classNames?.length).map(([n, m]) => [n, m.classNames!.length]);
}

abstract class Transform implements BatchTransform {
  protected readonly prepared: Map<string, Prepared>;
  protected readonly labels: [string, number][];

  constructor(protected readonly metas: Record<string, TensorMeta>, transforms: Record<string, TensorTransform>, protected readonly epoch: number, seed: number) {
    this.prepared = new Map(Object.entries(transforms).map(([n, t]) => [n, prepare(n, metas[n], t, seed)]));
    this.labels = labelTensors(metas);
  }
  abstract apply(tensors: Record<string, TypedArray | Uint8Array[]>, ids: Uint32Array, images?: Record<string, DecodedImages>): Promise<Record<string, BatchTensor>>;
  abstract close(): void;
}

/** The CPU path: the kernels' references, on this thread. */
export class CpuBatchTransform extends Transform {
  async apply(tensors: Record<string, TypedArray | Uint8Array[]>, ids: Uint32Array, images: Record<string, DecodedImages> = {}): Promise<Record<string, BatchTensor>> {
    const out: Record<string, BatchTensor> = { ...tensors };
    let mix: AugmentMix | undefined;
    for (const [name, p] of this.prepared) {
      let raw = tensors[name];
      if (p.fit) {
        const { bytes, options } = fitInput(p.fit, this.metas[name], raw, ids, this.epoch, images[name]);
        raw = fitRef(bytes, options);
      }
      if (Array.isArray(raw)) throw new EdgelakeError('invalid-input', `tensor ${name}: samples of different sizes need a fit to one size`);
      let values = decodeRef(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength), p.decode(ids.length));
      if (p.plan) {
        const augmented = augmentRef(p.plan, values, { n: ids.length, ids, seed: p.seed, epoch: this.epoch });
        values = augmented.output;
        mix ??= augmented.mix;
      }
      out[name] = values;
    }
    if (mix) {
      for (const [name, classes] of this.labels) softLabels.add((out[name] = mixLabels(tensors[name] as Int32Array, classes, mix)));
    }
    return out;
  }

  close(): void {}
}

/**
 * The GPU path: every tensor is uploaded (double-buffered, so batch i+1 uploads while batch i
 * computes), then decoded and augmented by the kernels into pooled float32 buffers, all in one
 * pass. A batch's buffers stay valid until the next batch is asked for.
 */
export class GpuBatchTransform extends Transform {
  private readonly uploaders = new Map<string, BatchUploader>();
  private held: GPUBuffer[] = [];
  /** The most bytes one batch held: all the pool keeps idle once this transform closes. */
  private peakBytes = 0;

  constructor(private readonly device: GPUDevice, metas: Record<string, TensorMeta>, private readonly transforms: Record<string, TensorTransform>, epoch: number, seed: number) {
    super(metas, transforms, epoch, seed);
  }

  async apply(tensors: Record<string, TypedArray | Uint8Array[]>, ids: Uint32Array, images: Record<string, DecodedImages> = {}): Promise<Record<string, BatchTensor>> {
    for (const b of this.held.splice(0)) releaseBuffer(b);
    const n = ids.length;
    const out: Record<string, BatchTensor> = {};
    const encoder = this.device.createCommandEncoder({ label: 'edgelake batch' });
    const pass = encoder.beginComputePass({ label: 'edgelake batch transform' });
    const transients = new Transients();
    let mix: AugmentMix | undefined;
    for (const [name, raw] of Object.entries(tensors)) {
      const p = this.prepared.get(name);
      let input: GPUBuffer;
      let elements: number;
      if (p?.fit && jpegOnDevice(this.metas[name], this.transforms[name]?.fit)) {
        // Entropy-decoded JPEGs: reconstructed here into RGBA words, which the fit reads.
        const jpegs = encodeJpegSamples(this.device, pass, samplesOf(raw, n), (bytes, what) => this.buffer(bytes, `edgelake batch ${name} ${what}`), transients, name);
        const { boxes, ...options } = p.fit(jpegs.shapes, ids, this.epoch, images[name]?.boxes);
        const samples = boxes.map((box, i) => ({ offset: jpegs.offsets[i], height: jpegs.shapes[3 * i], width: jpegs.shapes[3 * i + 1], box }));
        elements = n * options.height * options.width * options.channels;
        input = this.buffer(Math.ceil(elements / 4) * 4, `edgelake batch ${name} fitted`);
        encodeFit(this.device, pass, { ...options, pixelStride: 4, samples, input: jpegs.pixels, output: input }, transients);
      } else if (p?.fit) {
        // Images of any size go up packed, one after another, and come out of the fit as one size.
        const { bytes, options } = fitInput(p.fit, this.metas[name], raw, ids, this.epoch, images[name]);
        const packed = this.uploader(name).upload(bytes);
        elements = n * options.height * options.width * options.channels;
        input = this.buffer(Math.ceil(elements / 4) * 4, `edgelake batch ${name} fitted`);
        encodeFit(this.device, pass, { ...options, input: packed, output: input }, transients);
      } else {
        if (Array.isArray(raw)) throw new EdgelakeError('invalid-input', `tensor ${name}: samples of different sizes cannot go to the GPU as one buffer (give them a fit to one size)`);
        input = this.uploader(name).upload(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength));
        elements = raw.length;
      }
      if (!p) {
        out[name] = input;
        continue;
      }
      // One float32 per element: the stacked typed array holds one element per value.
      const decoded = this.buffer(elements * 4, `edgelake batch ${name}`);
      encodeDecode(this.device, pass, { ...p.decode(n), input, output: decoded }, transients);
      out[name] = decoded;
      if (p.plan) {
        const [c, h, w] = p.plan.outputShape;
        const augmented = this.buffer(n * c * h * w * 4, `edgelake batch ${name} augmented`);
        const params = augmentParams(p.plan, ids, p.seed, this.epoch);
        encodeAugment(this.device, pass, p.plan, { input: decoded, output: augmented, n, ids, seed: p.seed, epoch: this.epoch, params }, transients);
        mix ??= augmentMix(p.plan, params);
        out[name] = augmented;
      }
    }
    if (mix) {
      for (const [name, classes] of this.labels) {
        const soft = this.buffer(n * classes * 4, `edgelake batch ${name} soft labels`);
        encodeMixLabels(this.device, pass, { labels: out[name] as GPUBuffer, output: soft, classes, mix }, transients);
        out[name] = soft;
        softLabels.add(soft);
      }
    }
    pass.end();
    this.device.queue.submit([encoder.finish()]);
    transients.destroy();
    this.peakBytes = Math.max(this.peakBytes, this.held.reduce((a, b) => a + b.size, 0));
    return out;
  }

  close(): void {
    for (const b of this.held.splice(0)) releaseBuffer(b);
    for (const u of this.uploaders.values()) u.destroy();
    this.uploaders.clear();
    // Batches of many sizes (JPEGs, a last partial batch) leave buffers of many size classes idle:
    // keep one batch's worth for the next epoch, not up to the pool's cap (GPU memory is RAM on an iGPU).
    bufferPool(this.device).trim(this.peakBytes);
  }

  private buffer(size: number, label: string): GPUBuffer {
    const b = acquireBuffer(this.device, Math.max(4, size), GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, label);
    this.held.push(b);
    // A pooled buffer comes back as another tensor: what it holds now.
    filledBytes.set(b, size);
    softLabels.delete(b);
    return b;
  }

  private uploader(name: string): BatchUploader {
    let u = this.uploaders.get(name);
    if (!u) {
      u = new BatchUploader(this.device, { label: `edgelake batch ${name} upload`, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
      this.uploaders.set(name, u);
    }
    return u;
  }
}
