import { EdgelakeError } from '../../errors.js';
import { convOutputSize } from '../../kernels/conv/conv.ref.js';
import { poolOutputSize } from '../../kernels/pool/pool.ref.js';
import { uniform24 } from '../../kernels/random/random.js';
import type { Backend, Tensor } from './backend.js';

/** A layer as JSON: what a saved model records of its architecture. */
export type LayerSpec =
  | { type: 'dense'; units: number; activation?: 'relu' | 'none' }
  | { type: 'conv2d'; filters: number; kernel: number; stride?: number; pad?: number; activation?: 'relu' | 'none' }
  | { type: 'maxpool'; size: number; stride?: number }
  | { type: 'dropout'; rate: number }
  | { type: 'flatten' };

export interface Param {
  /** e.g. 'dense_0.weight', the name in a safetensors file. */
  name: string;
  shape: number[];
  value: Tensor;
  grad: Tensor;
}

/** What a forward or backward pass needs besides its input. */
export interface PassContext {
  backend: Backend;
  /** Dropout on: training, or an MC-dropout pass. */
  dropout: boolean;
  seed: number;
  /** Keys the dropout masks: (step, pass) differ for every training step and MC pass. */
  step: number;
  pass: number;
}

/**
 * One layer of a sequential model. Buffers for activations are kept and grown to the largest
 * batch seen; shapes are per sample (channels first for images).
 */
export abstract class Layer {
  readonly params: Param[] = [];
  private readonly scratch = new Map<string, Tensor>();

  constructor(
    readonly name: string,
    readonly index: number,
    readonly inputShape: number[],
    readonly outputShape: number[],
    protected readonly backend: Backend,
  ) {}

  get inputSize(): number {
    return product(this.inputShape);
  }
  get outputSize(): number {
    return product(this.outputShape);
  }

  abstract forward(ctx: PassContext, x: Tensor, n: number): Tensor;
  /** dL/dinput for dL/doutput `dy` (undefined when `inputGrad` is false); fills each param's grad. */
  abstract backward(ctx: PassContext, dy: Tensor, n: number, inputGrad: boolean): Tensor | undefined;

  /** A buffer of this layer holding at least `size` elements. */
  protected buffer(name: string, size: number): Tensor {
    let t = this.scratch.get(name);
    if (!t || t.size < size) {
      if (t) this.backend.destroy(t);
      t = this.backend.create(size, `${this.name} ${name}`);
      this.scratch.set(name, t);
    }
    return t;
  }

  protected param(key: string, shape: number[], init: (i: number) => number): Tensor {
    const size = product(shape);
    const value = this.backend.create(size, `${this.name}.${key}`, Float32Array.from({ length: size }, (_, i) => init(i)));
    this.params.push({ name: `${this.name}.${key}`, shape, value, grad: this.backend.create(size, `${this.name}.${key} grad`) });
    return value;
  }

  /** Seeded uniform in [-limit, limit): the same weights on every backend. */
  protected uniformInit(seed: number, which: number, limit: number): (i: number) => number {
    return (i) => (uniform24(seed, this.index, which, i) * 2 - 1) * limit;
  }

  destroy(): void {
    for (const t of this.scratch.values()) this.backend.destroy(t);
    for (const p of this.params) {
      this.backend.destroy(p.value);
      this.backend.destroy(p.grad);
    }
  }
}

export class Dense extends Layer {
  private readonly weight: Tensor;
  private readonly bias: Tensor;
  private input: Tensor | undefined;

  constructor(backend: Backend, index: number, inputShape: number[], private readonly spec: Extract<LayerSpec, { type: 'dense' }>, seed: number) {
    super(`dense_${index}`, index, inputShape, [spec.units], backend);
    const [fanIn, fanOut] = [this.inputSize, spec.units];
    // He initialisation before a ReLU, Glorot for the logits.
    const limit = this.relu ? Math.sqrt(6 / fanIn) : Math.sqrt(6 / (fanIn + fanOut));
    this.weight = this.param('weight', [fanIn, fanOut], this.uniformInit(seed, 0, limit));
    this.bias = this.param('bias', [fanOut], () => 0);
  }

  private get relu(): boolean {
    return this.spec.activation === 'relu';
  }

  forward(ctx: PassContext, x: Tensor, n: number): Tensor {
    this.input = x;
    const out = this.buffer('output', n * this.outputSize);
    ctx.backend.run('matmul', { a: x, b: this.weight, out, m: n, n: this.outputSize, k: this.inputSize, bias: this.bias, activation: this.relu ? 'relu' : 'none' });
    return out;
  }

  backward(ctx: PassContext, dy: Tensor, n: number, inputGrad: boolean): Tensor | undefined {
    const [inF, outF] = [this.inputSize, this.outputSize];
    const b = ctx.backend;
    let dz = dy;
    if (this.relu) {
      dz = this.buffer('grad pre-activation', n * outF);
      b.run('reluBackward', { gradOutput: dy, output: this.buffer('output', n * outF), gradInput: dz, count: n * outF });
    }
    const [weight, bias] = this.params;
    b.run('matmul', { a: this.input!, b: dz, out: weight.grad, m: inF, n: outF, k: n, transA: true });
    b.run('columnSum', { input: dz, output: bias.grad, rows: n, cols: outF });
    if (!inputGrad) return undefined;
    const dx = this.buffer('grad input', n * inF);
    b.run('matmul', { a: dz, b: this.weight, out: dx, m: n, n: inF, k: outF, transB: true });
    return dx;
  }
}

export class Conv2d extends Layer {
  private readonly weight: Tensor;
  private readonly bias: Tensor;
  private input: Tensor | undefined;

  constructor(backend: Backend, index: number, inputShape: number[], private readonly spec: Extract<LayerSpec, { type: 'conv2d' }>, seed: number) {
    const [cIn, h, w] = checkImage(inputShape, `conv2d_${index}`);
    const { oh, ow } = convOutputSize({ n: 1, cIn, h, w, cOut: spec.filters, kh: spec.kernel, kw: spec.kernel, stride: spec.stride ?? 1, pad: spec.pad ?? 0 });
    super(`conv2d_${index}`, index, inputShape, [spec.filters, oh, ow], backend);
    const fanIn = cIn * spec.kernel * spec.kernel;
    this.weight = this.param('weight', [spec.filters, cIn, spec.kernel, spec.kernel], this.uniformInit(seed, 0, Math.sqrt(6 / fanIn)));
    this.bias = this.param('bias', [spec.filters], () => 0);
  }

  private shape(n: number) {
    const [cIn, h, w] = this.inputShape;
    const { filters, kernel, stride = 1, pad = 0 } = this.spec;
    return { n, cIn, h, w, cOut: filters, kh: kernel, kw: kernel, stride, pad };
  }

  forward(ctx: PassContext, x: Tensor, n: number): Tensor {
    this.input = x;
    const output = this.buffer('output', n * this.outputSize);
    ctx.backend.run('conv2d', { ...this.shape(n), input: x, weight: this.weight, bias: this.bias, output, activation: this.spec.activation ?? 'none' });
    return output;
  }

  backward(ctx: PassContext, dy: Tensor, n: number, inputGrad: boolean): Tensor | undefined {
    const b = ctx.backend;
    const count = n * this.outputSize;
    let dz = dy;
    if (this.spec.activation === 'relu') {
      dz = this.buffer('grad pre-activation', count);
      b.run('reluBackward', { gradOutput: dy, output: this.buffer('output', count), gradInput: dz, count });
    }
    const [weight, bias] = this.params;
    b.run('conv2dBackwardWeight', { ...this.shape(n), input: this.input!, gradOutput: dz, gradWeight: weight.grad, gradBias: bias.grad });
    if (!inputGrad) return undefined;
    const dx = this.buffer('grad input', n * this.inputSize);
    b.run('conv2dBackwardInput', { ...this.shape(n), gradOutput: dz, weight: this.weight, gradInput: dx });
    return dx;
  }
}

export class MaxPool2d extends Layer {
  constructor(backend: Backend, index: number, inputShape: number[], private readonly spec: Extract<LayerSpec, { type: 'maxpool' }>) {
    const [c, h, w] = checkImage(inputShape, `maxpool_${index}`);
    const { oh, ow } = poolOutputSize({ n: 1, c, h, w, size: spec.size, stride: spec.stride });
    super(`maxpool_${index}`, index, inputShape, [c, oh, ow], backend);
  }

  private shape(n: number) {
    const [c, h, w] = this.inputShape;
    return { n, c, h, w, size: this.spec.size, stride: this.spec.stride ?? this.spec.size };
  }

  forward(ctx: PassContext, x: Tensor, n: number): Tensor {
    const output = this.buffer('output', n * this.outputSize);
    ctx.backend.run('maxPool', { ...this.shape(n), input: x, output, argmax: this.buffer('argmax', n * this.outputSize) });
    return output;
  }

  backward(ctx: PassContext, dy: Tensor, n: number, inputGrad: boolean): Tensor | undefined {
    if (!inputGrad) return undefined;
    const gradInput = this.buffer('grad input', n * this.inputSize);
    ctx.backend.run('maxPoolBackward', { ...this.shape(n), gradOutput: dy, argmax: this.buffer('argmax', n * this.outputSize), gradInput });
    return gradInput;
  }
}

export class Dropout extends Layer {
  constructor(backend: Backend, index: number, inputShape: number[], private readonly rate: number) {
    if (!(rate >= 0 && rate < 1)) throw new EdgelakeError('invalid-input', `dropout_${index}: rate must be in [0, 1), got ${rate}`);
    super(`dropout_${index}`, index, inputShape, inputShape, backend);
  }

  private key(ctx: PassContext) {
    // Streams apart per layer and MC pass; steps apart per training step.
    return { seed: ctx.seed, stream: this.index * 4096 + ctx.pass, step: ctx.step, rate: this.rate };
  }

  forward(ctx: PassContext, x: Tensor, n: number): Tensor {
    if (!ctx.dropout || this.rate === 0) return x;
    const output = this.buffer('output', n * this.outputSize);
    ctx.backend.run('dropout', { ...this.key(ctx), input: x, output, count: n * this.outputSize });
    return output;
  }

  backward(ctx: PassContext, dy: Tensor, n: number, inputGrad: boolean): Tensor | undefined {
    if (!inputGrad) return undefined;
    if (!ctx.dropout || this.rate === 0) return dy;
    const gradInput = this.buffer('grad input', n * this.inputSize);
    ctx.backend.run('dropoutBackward', { ...this.key(ctx), gradOutput: dy, gradInput, count: n * this.inputSize });
    return gradInput;
  }
}

/** Channels-first images are already contiguous per sample: flattening only changes the shape. */
export class Flatten extends Layer {
  constructor(backend: Backend, index: number, inputShape: number[]) {
    super(`flatten_${index}`, index, inputShape, [product(inputShape)], backend);
  }
  forward(_ctx: PassContext, x: Tensor): Tensor {
    return x;
  }
  backward(_ctx: PassContext, dy: Tensor, _n: number, inputGrad: boolean): Tensor | undefined {
    return inputGrad ? dy : undefined;
  }
}

/** Builds the layer a spec describes, after a layer with output `inputShape`. */
export function makeLayer(backend: Backend, spec: LayerSpec, index: number, inputShape: number[], seed: number): Layer {
  switch (spec.type) {
    case 'dense': return new Dense(backend, index, inputShape, spec, seed);
    case 'conv2d': return new Conv2d(backend, index, inputShape, spec, seed);
    case 'maxpool': return new MaxPool2d(backend, index, inputShape, spec);
    case 'dropout': return new Dropout(backend, index, inputShape, spec.rate);
    case 'flatten': return new Flatten(backend, index, inputShape);
    default: throw new EdgelakeError('invalid-input', `layer ${index}: unknown type ${JSON.stringify((spec as { type: unknown }).type)}`);
  }
}

function checkImage(shape: number[], name: string): [number, number, number] {
  if (shape.length !== 3) throw new EdgelakeError('invalid-input', `${name}: needs [channels, height, width] input, got [${shape.join(', ')}]`);
  return shape as [number, number, number];
}

export function product(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
