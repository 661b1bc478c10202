import { EdgelakeError } from '../../errors.js';
import { TypedEventTarget } from '../../events.js';
import type { UncertaintyMeasure } from '../../kernels/uncertainty/uncertainty.ref.js';
import type { Batch } from '../loader/loader.js';
import type { Backend, Tensor } from './backend.js';
import { makeLayer, product, type Layer, type LayerSpec, type Param, type PassContext } from './layers.js';
import { Optimizer, type OptimizerSpec } from './optimizer.js';

/** A sequential model as JSON: saved beside the weights, so a file rebuilds its model. */
export interface ModelSpec {
  /** Per-sample input shape: [features] for dense models, [channels, height, width] for images. */
  input: number[];
  layers: LayerSpec[];
}

/** Which batch tensors feed the model, and how its labels are given. */
export interface DataOptions {
  /** The input tensor (float32: give the loader a transform such as { scale: 1 / 255 }); default 'image'. */
  input?: string;
  /** The class_label tensor; default 'label'. */
  target?: string;
  /** 'soft' for n x classes label rows (mixup); default: 'index', or 'soft' for a float32 array. */
  labels?: 'index' | 'soft';
}

export interface FitOptions extends DataOptions {
  epochs: number;
  /** Learning rate (default 1e-3 for Adam, 0.05 for SGD); `optimizer` gives the rest. */
  lr?: number;
  optimizer?: Partial<OptimizerSpec> & { type?: OptimizerSpec['type'] };
  /**
   * The learning rate over the epochs: 'constant' (default), or 'cosine': epoch e trains at
   * lr x (1 + cos(pi (e + 1/2) / epochs)) / 2, so a short fit ends near a minimum rather than
   * wherever its last steps left it (warm-started rounds of active learning, fine-tuning).
   */
  schedule?: 'constant' | 'cosine';
  /** Reads the running loss every this many steps (a GPU sync) and emits 'progress'; default 0: per epoch only. */
  logEvery?: number;
  signal?: AbortSignal | undefined;
}

export interface EpochStats {
  epoch: number;
  loss: number;
  accuracy: number;
  samples: number;
  seconds: number;
  samplesPerSecond: number;
}

export interface ProgressDetail {
  epoch: number;
  step: number;
  samples: number;
  /** Mean loss and accuracy of the steps since the last 'progress' (logEvery) or of the epoch. */
  loss?: number;
  accuracy?: number;
}

/** What `addEventListener` hands each of Model's events. */
export interface ModelEvents {
  batch: CustomEvent<ProgressDetail>;
  progress: CustomEvent<ProgressDetail>;
  epoch: CustomEvent<EpochStats>;
}

const IN_FLIGHT_STEPS = 4;

/** Batches for one epoch: a Loader (made anew per epoch with forEpoch) or a function of the epoch. */
export type BatchSource = AsyncIterable<Batch> & { forEpoch?(epoch: number): AsyncIterable<Batch> } | ((epoch: number) => AsyncIterable<Batch>);

/**
 * A sequential classifier trained on a Backend (a Learner: runtime/model/learner.ts) (GPU kernels or their CPU references). Events:
 * 'batch' after each step and 'progress' when the loss is read (ProgressDetail), 'epoch'
 * (EpochStats) after each epoch of fit().
 */
export class Model extends TypedEventTarget<ModelEvents> {
  readonly layers: Layer[] = [];
  readonly classes: number;
  optimizer: Optimizer | undefined;
  private readonly frozenLayers = new Set<string>();
  private readonly stats: Tensor;
  private readonly perSample = new Map<string, Tensor>();

  constructor(readonly spec: ModelSpec, readonly backend: Backend, readonly seed = 0) {
    super();
    let shape = spec.input;
    if (!(shape.length > 0 && shape.every((d) => Number.isInteger(d) && d > 0))) throw new EdgelakeError('invalid-input', `model input shape must be positive integers, got [${shape.join(', ')}]`);
    for (const [i, layer] of spec.layers.entries()) {
      const made = makeLayer(backend, layer, i, shape, seed);
      this.layers.push(made);
      shape = made.outputShape;
    }
    if (shape.length !== 1) throw new EdgelakeError('invalid-input', `the model's last layer must give [classes], not [${shape.join(', ')}]`);
    this.classes = shape[0];
    this.stats = backend.create(2, 'model loss and correct sums');
  }

  get inputSize(): number {
    return product(this.spec.input);
  }

  get params(): Param[] {
    return this.layers.flatMap((l) => l.params);
  }

  /**
   * Keeps the weights of some layers as they are while fit() trains the rest (fine-tuning a
   * pretrained base): the first `layers` layers that have weights, or the layers named
   * ('conv2d_0'); freeze(0) trains every layer again. Backward passes stop below the lowest
   * trainable layer, so frozen early layers cost their forward pass only. Returns the frozen names.
   */
  freeze(layers: number | readonly string[]): string[] {
    const weighted = this.layers.filter((l) => l.params.length > 0).map((l) => l.name);
    let names: string[];
    if (typeof layers === 'number') {
      if (!(Number.isInteger(layers) && layers >= 0 && layers <= weighted.length)) {
        throw new EdgelakeError('invalid-input', `freeze: the model has ${weighted.length} layers with weights (${weighted.join(', ')}); cannot freeze ${layers}`);
      }
      names = weighted.slice(0, layers);
    } else {
      const unknown = layers.filter((n) => !weighted.includes(n));
      if (unknown.length) throw new EdgelakeError('invalid-input', `freeze: no layer with weights named ${unknown.join(', ')} (the model has ${weighted.join(', ')})`);
      names = [...layers];
    }
    this.frozenLayers.clear();
    for (const n of names) this.frozenLayers.add(n);
    return this.frozen;
  }

  /** The frozen layers' names, in model order. */
  get frozen(): string[] {
    return this.layers.filter((l) => this.frozenLayers.has(l.name)).map((l) => l.name);
  }

  /** Logits for `n` samples of `x` (recorded; read them with backend.read). */
  forward(x: Tensor, n: number, ctx: PassContext): Tensor {
    let h = x;
    for (const layer of this.layers) h = layer.forward(ctx, h, n);
    return h;
  }

  /** Records one training step on a batch: forward, loss, backward, optimizer update. */
  trainStep(x: Tensor, labels: Tensor, n: number, labelKind: 'index' | 'soft', lr?: number): void {
    const optimizer = this.optimizer!;
    const ctx: PassContext = { backend: this.backend, dropout: true, seed: this.seed, step: optimizer.step, pass: 0 };
    const logits = this.forward(x, n, ctx);
    let grad: Tensor | undefined = this.lossAndGrad(logits, labels, n, labelKind);
    // Nothing below the lowest trainable layer needs a gradient.
    const lowest = this.layers.findIndex((l) => l.params.length > 0 && !this.frozenLayers.has(l.name));
    for (let i = this.layers.length - 1; i >= lowest && grad; i--) grad = this.layers[i].backward(ctx, grad, n, i > lowest);
    optimizer.apply(this.layers.filter((l) => !this.frozenLayers.has(l.name)).flatMap((l) => l.params), lr);
  }

  async fit(source: BatchSource, options: FitOptions): Promise<EpochStats[]> {
    if (this.layers.every((l) => l.params.length === 0 || this.frozenLayers.has(l.name))) {
      throw new EdgelakeError('invalid-input', `fit: every layer with weights is frozen (${this.frozen.join(', ')}); nothing would train`);
    }
    const spec = { ...options.optimizer, type: options.optimizer?.type ?? 'adam' } as OptimizerSpec;
    spec.lr = options.lr ?? spec.lr ?? (spec.type === 'sgd' ? 0.05 : 1e-3);
    if (!this.optimizer || JSON.stringify(this.optimizer.spec) !== JSON.stringify(spec)) {
      const step = this.optimizer?.step ?? 0;
      this.optimizer?.destroy();
      this.optimizer = new Optimizer(spec, this.backend, this.params);
      this.optimizer.step = step;
    }
    const history: EpochStats[] = [];
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      const started = performance.now();
      const lr = options.schedule === 'cosine' ? (spec.lr * (1 + Math.cos((Math.PI * (epoch + 0.5)) / options.epochs))) / 2 : spec.lr;
      let [samples, steps, since] = [0, 0, 0];
      this.backend.fill(this.stats, 0);
      const epochSums = [0, 0];
      for await (const batch of epochBatches(source, epoch)) {
        options.signal?.throwIfAborted();
        const { x, labels, n, labelKind } = this.inputs(batch, options);
        this.trainStep(x, labels, n, labelKind, lr);
        this.release(x, labels);
        this.backend.flush(); // the loader may reuse the batch's buffers once asked for the next
        // A few steps in flight at most: progress is real, and queued uploads stay bounded.
        if (steps % IN_FLIGHT_STEPS === IN_FLIGHT_STEPS - 1) await this.backend.settle();
        samples += n;
        since += n;
        steps++;
        this.dispatchEvent(new CustomEvent<ProgressDetail>('batch', { detail: { epoch, step: steps, samples } }));
        if (options.logEvery && steps % options.logEvery === 0) {
          const [loss, correct] = await this.takeStats();
          epochSums[0] += loss;
          epochSums[1] += correct;
          this.dispatchEvent(new CustomEvent<ProgressDetail>('progress', { detail: { epoch, step: steps, samples, loss: loss / since, accuracy: correct / since } }));
          since = 0;
        }
      }
      const [loss, correct] = await this.takeStats();
      const seconds = (performance.now() - started) / 1000;
      const stats: EpochStats = {
        epoch, samples, seconds, samplesPerSecond: samples / seconds,
        loss: (epochSums[0] + loss) / samples, accuracy: (epochSums[1] + correct) / samples,
      };
      history.push(stats);
      this.dispatchEvent(new CustomEvent<EpochStats>('epoch', { detail: stats }));
    }
    return history;
  }

  /** Mean loss and accuracy over every batch of `source` (dropout off). */
  async evaluate(source: AsyncIterable<Batch>, options: DataOptions = {}): Promise<{ loss: number; accuracy: number; samples: number }> {
    this.backend.fill(this.stats, 0);
    let samples = 0;
    for await (const batch of source) {
      const { x, labels, n, labelKind } = this.inputs(batch, options);
      const logits = this.forward(x, n, { backend: this.backend, dropout: false, seed: this.seed, step: 0, pass: 0 });
      this.lossAndGrad(logits, labels, n, labelKind);
      this.release(x, labels);
      this.backend.flush();
      samples += n;
    }
    const [loss, correct] = await this.takeStats();
    return { loss: loss / samples, accuracy: correct / samples, samples };
  }

  /**
   * Class probabilities (n x classes) for n samples of float32 input, in slices of `batchSize`;
   * with `passes` > 1, MC-dropout: passes x n x classes, pass t with its own dropout mask.
   */
  async predictProba(input: Float32Array | GPUBuffer, n: number, options: { passes?: number; batchSize?: number } = {}): Promise<Float32Array> {
    const probs = this.probabilities(input, n, options);
    try {
      return await this.backend.read(probs);
    } finally {
      this.backend.destroy(probs);
    }
  }

  /** Uncertainty per sample (higher = less sure), from one pass or `passes` MC-dropout passes (bald, variation-ratio). */
  async uncertainty(input: Float32Array | GPUBuffer, n: number, measure: UncertaintyMeasure, options: { passes?: number; batchSize?: number } = {}): Promise<Float32Array> {
    const passes = options.passes ?? (measure === 'bald' || measure === 'variation-ratio' ? 10 : 1);
    if (passes > 1 && !this.spec.layers.some((l) => l.type === 'dropout')) {
      // Without dropout every pass gives the same answer: bald would be ~0 for every sample, silently.
      throw new EdgelakeError('invalid-input', `${measure} with ${passes} passes is MC dropout, and this model has no dropout layer: add one (mlp({ ..., dropout: 0.2 })) or use entropy, margin or least-confidence`);
    }
    const probs = this.probabilities(input, n, { ...options, passes });
    const scores = this.backend.create(n, 'model uncertainty');
    try {
      this.backend.run('uncertainty', { probs, scores, n, classes: this.classes, passes, measure });
      return await this.backend.read(scores);
    } finally {
      this.backend.destroy(probs);
      this.backend.destroy(scores);
    }
  }

  dispose(): void {
    this.backend.flush();
    for (const l of this.layers) l.destroy();
    this.optimizer?.destroy();
    for (const t of [this.stats, ...this.perSample.values()]) this.backend.destroy(t);
  }

  private probabilities(input: Float32Array | GPUBuffer, n: number, options: { passes?: number; batchSize?: number }): Tensor {
    const { passes = 1, batchSize = 512 } = options;
    const b = this.backend;
    const all = b.wrap(input, n * this.inputSize, 'model input');
    const probs = b.create(passes * n * this.classes, 'model probabilities');
    // One slice: the input itself; else a buffer each slice is copied into.
    const whole = n <= batchSize;
    const slice = whole ? all : b.create(batchSize * this.inputSize, 'model input slice');
    const sliceProbs = b.create(Math.min(n, batchSize) * this.classes, 'model probabilities slice');
    try {
      for (let start = 0; start < n; start += batchSize) {
        const m = Math.min(batchSize, n - start);
        if (!whole) b.copy(all, start * this.inputSize, slice, 0, m * this.inputSize);
        for (let pass = 0; pass < passes; pass++) {
          // One pass: dropout off; several: each MC pass draws its own masks.
          const ctx: PassContext = { backend: b, dropout: passes > 1, seed: this.seed, step: 0x7fffffff, pass: pass + 1 };
          b.run('softmax', { logits: this.forward(slice, m, ctx), probs: sliceProbs, n: m, classes: this.classes });
          b.copy(sliceProbs, 0, probs, (pass * n + start) * this.classes, m * this.classes);
        }
        b.flush();
      }
      return probs;
    } finally {
      for (const t of whole ? [all, sliceProbs] : [all, slice, sliceProbs]) b.destroy(t);
    }
  }

  /** Softmax cross-entropy of the logits; adds loss and correct counts to the running sums; returns dL/dlogits. */
  private lossAndGrad(logits: Tensor, labels: Tensor, n: number, labelKind: 'index' | 'soft'): Tensor {
    const [gradLogits, loss, correct] = [this.scratch('grad logits', n * this.classes), this.scratch('loss', n), this.scratch('correct', n)];
    this.backend.run('softmaxCrossEntropy', { logits, labels, labelKind, n, classes: this.classes, gradLogits, gradScale: 1 / n, loss, correct });
    this.backend.run('sum', { input: loss, count: n, output: this.stats, outputIndex: 0, accumulate: true });
    this.backend.run('sum', { input: correct, count: n, output: this.stats, outputIndex: 1, accumulate: true });
    return gradLogits;
  }

  private async takeStats(): Promise<[number, number]> {
    const [loss, correct] = await this.backend.read(this.stats);
    this.backend.fill(this.stats, 0);
    return [loss, correct];
  }

  private scratch(name: string, size: number): Tensor {
    let t = this.perSample.get(name);
    if (!t || t.size < size) {
      if (t) this.backend.destroy(t);
      this.perSample.set(name, (t = this.backend.create(size, `model ${name}`)));
    }
    return t;
  }

  /** The batch's input and labels as tensors, checked against the model. */
  private inputs(batch: Batch, options: DataOptions): { x: Tensor; labels: Tensor; n: number; labelKind: 'index' | 'soft' } {
    const [inputName, targetName] = [options.input ?? 'image', options.target ?? 'label'];
    const n = batch.ids.length;
    const x = batch.tensors[inputName];
    const y = batch.tensors[targetName];
    if (x === undefined || y === undefined) {
      throw new EdgelakeError('invalid-input', `the batch has no tensor "${x === undefined ? inputName : targetName}" (it has ${Object.keys(batch.tensors).join(', ')})`);
    }
    const need = n * this.inputSize;
    const bad = Array.isArray(x) ? 'samples of different sizes'
      : ArrayBuffer.isView(x) ? (x instanceof Float32Array ? (x.length !== need ? `${x.length} values` : undefined) : `${x.constructor.name} values`)
      : x.size < need * 4 ? `a ${x.size}-byte GPU buffer` : undefined;
    if (bad) {
      // Float rows of another width are the wrong input (another backbone, RGB for gray), which no transform mends.
      const hint = x instanceof Float32Array ? `${n} rows of ${x.length / n} values a sample; give the model inputs of its width` : `${bad}; give the loader a transform (e.g. { ${inputName}: { scale: 1 / 255 } })`;
      throw new EdgelakeError('invalid-input', `tensor ${inputName}: the model needs ${n} x ${this.inputSize} float32 values, the batch has ${hint}`);
    }
    const labelKind = options.labels ?? (y instanceof Float32Array ? 'soft' : 'index');
    let labels: Float32Array | Int32Array | GPUBuffer;
    if (Array.isArray(y)) throw new EdgelakeError('invalid-input', `tensor ${targetName}: labels must be one value (or one row) per sample`);
    else if (ArrayBuffer.isView(y) && !(y instanceof Float32Array) && !(y instanceof Int32Array)) labels = Int32Array.from(y as ArrayLike<number>);
    else labels = y as Float32Array | Int32Array | GPUBuffer;
    if (labelKind === 'index' && labels instanceof Int32Array) {
      // The loss of a label past the classes is 0 with a gradient anyway: PyTorch refuses it ("Target 7 is out of bounds"), and so do we.
      const bad = labels.subarray(0, n).findIndex((c) => c < 0 || c >= this.classes);
      if (bad >= 0) throw new EdgelakeError('invalid-input', `tensor ${targetName}: sample ${batch.ids[bad]} has label ${labels[bad]}, and the model has ${this.classes} classes (0 to ${this.classes - 1})`);
    }
    const labelCount = labelKind === 'soft' ? n * this.classes : n;
    return { x: this.backend.wrap(x as Float32Array | GPUBuffer, need, inputName), labels: this.backend.wrap(labels, labelCount, targetName), n, labelKind };
  }

  private release(...tensors: Tensor[]): void {
    for (const t of tensors) this.backend.destroy(t);
  }
}

export function epochBatches(source: BatchSource, epoch: number): AsyncIterable<Batch> {
  if (typeof source === 'function') return source(epoch);
  if (epoch === 0) return source;
  if (!source.forEpoch) throw new EdgelakeError('invalid-input', 'fit over several epochs needs a Loader or a function (epoch) => batches');
  // A Loader made for epoch e goes on with e + 1, e + 2...: each epoch its own shuffle.
  return source.forEpoch(((source as { epoch?: number }).epoch ?? 0) + epoch);
}
