import { EdgelakeError } from '../../errors.js';
import { TypedEventTarget } from '../../events.js';
import type { UncertaintyMeasure } from '../../kernels/uncertainty/uncertainty.ref.js';
import type { LabelKind } from '../../kernels/loss/loss.ref.js';
import type { Batch } from '../loader/loader.js';
import { batchTensorBytes } from '../loader/transform.js';
import type { Backend, Tensor } from './backend.js';
import { batchLabels } from './batch-labels.js';
import { makeLayer, product, type Layer, type LayerSpec, type Param, type PassContext } from './layers.js';
import { fitOptimizerSpec, Optimizer, sameButLr, type OptimizerSpec } from './optimizer.js';

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
  /**
   * 'index' for n class indices, 'soft' for n x classes rows of class probabilities (mixup).
   * Default: 'soft' for the loader's mixup labels and for a Float32Array, else 'index' (float32
   * class indices, n values, need labels: 'index').
   */
  labels?: LabelKind;
}

export interface FitOptions extends DataOptions {
  epochs: number;
  /** Learning rate (default 1e-3 for Adam, 0.05 for SGD); a fit at a new lr keeps the optimizer's state. */
  lr?: number;
  /**
   * Adam (the default: decoupled weight decay, i.e. AdamW) or SGD (momentum 0.9 by default, where
   * PyTorch's is 0); see OptimizerSpec. Other hyperparameters than a previous fit's start a new optimizer.
   */
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
    this.stats = backend.create(3, 'model loss, correct and invalid-label sums');
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
  trainStep(x: Tensor, labels: Tensor, n: number, labelKind: LabelKind, lr?: number): void {
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
    const spec = fitOptimizerSpec(options.lr, options.optimizer);
    if (this.optimizer && sameButLr(this.optimizer.spec, spec)) {
      this.optimizer.spec.lr = spec.lr; // saved with the weights: the rate it trains at now
    } else {
      // Other hyperparameters: new moments, and a step count from 0 for their bias correction.
      this.optimizer?.destroy();
      this.optimizer = new Optimizer(spec, this.backend, this.params);
    }
    const history: EpochStats[] = [];
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      const started = performance.now();
      const lr = options.schedule === 'cosine' ? (spec.lr * (1 + Math.cos((Math.PI * (epoch + 0.5)) / options.epochs))) / 2 : spec.lr;
      // read: the steps whose sums were read (logEvery), so a check names the steps since.
      let [samples, steps, since, read] = [0, 0, 0, 0];
      this.backend.fill(this.stats, 0);
      const epochSums = [0, 0];
      const checked = () => this.checkedStats(options, { epoch, first: read + 1, last: steps, lr });
      for await (const batch of epochBatches(source, epoch)) {
        options.signal?.throwIfAborted();
        const n = batch.ids.length;
        if (n === 0) continue; // nothing to learn from, and its mean loss would be 0 / 0
        const { x, labels, labelKind } = this.inputs(batch, options);
        this.trainStep(x, labels, n, labelKind, lr);
        this.keepStepLoss(steps - read, n);
        this.release(x, labels);
        this.backend.flush(); // the loader may reuse the batch's buffers once asked for the next
        // A few steps in flight at most: progress is real, and queued uploads stay bounded.
        if (steps % IN_FLIGHT_STEPS === IN_FLIGHT_STEPS - 1) await this.backend.settle();
        samples += n;
        since += n;
        steps++;
        this.dispatchEvent(new CustomEvent<ProgressDetail>('batch', { detail: { epoch, step: steps, samples } }));
        if (options.logEvery && steps % options.logEvery === 0) {
          const [loss, correct] = await checked();
          read = steps;
          epochSums[0] += loss;
          epochSums[1] += correct;
          this.dispatchEvent(new CustomEvent<ProgressDetail>('progress', { detail: { epoch, step: steps, samples, loss: loss / since, accuracy: correct / since } }));
          since = 0;
        }
      }
      if (steps === 0) throw new EdgelakeError('invalid-input', `fit: the source gave no batches for epoch ${epoch}`);
      const [loss, correct] = await checked();
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
      const n = batch.ids.length;
      if (n === 0) continue;
      const { x, labels, labelKind } = this.inputs(batch, options);
      const logits = this.forward(x, n, { backend: this.backend, dropout: false, seed: this.seed, step: 0, pass: 0 });
      this.lossAndGrad(logits, labels, n, labelKind);
      this.release(x, labels);
      this.backend.flush();
      samples += n;
    }
    if (samples === 0) throw new EdgelakeError('invalid-input', 'evaluate: the source gave no batches');
    const [loss, correct] = await this.checkedStats(options);
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
    // Inputs of another size would be read past their end, or scored a sample's piece at a time.
    if (input instanceof Float32Array ? input.length !== n * this.inputSize : input.size < n * this.inputSize * 4) {
      const given = input instanceof Float32Array ? `${input.length} float32 values` : `a ${input.size}-byte GPU buffer`;
      throw new EdgelakeError('invalid-input', `uncertainty: the model takes inputs of [${this.spec.input.join(', ')}], ${this.inputSize} values a sample, so ${n} samples are ${n * this.inputSize} float32 values; it was given ${given}`);
    }
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

  /** Softmax cross-entropy of the logits; adds loss, correct and invalid-label counts to the running sums; returns dL/dlogits. */
  private lossAndGrad(logits: Tensor, labels: Tensor, n: number, labelKind: LabelKind): Tensor {
    const [gradLogits, loss, correct, invalid] = [this.scratch('grad logits', n * this.classes), this.scratch('loss', n), this.scratch('correct', n), this.scratch('invalid', n)];
    this.backend.run('softmaxCrossEntropy', { logits, labels, labelKind, n, classes: this.classes, gradLogits, gradScale: 1 / n, loss, correct, invalid });
    this.backend.run('sum', { input: loss, count: n, output: this.stats, outputIndex: 0, accumulate: true });
    this.backend.run('sum', { input: correct, count: n, output: this.stats, outputIndex: 1, accumulate: true });
    // GPU labels are never read back: the kernel counts those out of range, refused when the sums are read.
    this.backend.run('sum', { input: invalid, count: n, output: this.stats, outputIndex: 2, accumulate: true });
    return gradLogits;
  }

  /** Keeps this step's loss in slot `slot` (steps since the last read): read only when the sum is not finite, to name the step. */
  private keepStepLoss(slot: number, n: number): void {
    let t = this.perSample.get('step losses');
    if (!t || t.size <= slot) {
      const grown = this.backend.create(Math.max(64, 2 * slot), 'model step losses');
      if (t) this.backend.copy(t, 0, grown, 0, t.size);
      if (t) this.backend.destroy(t);
      this.perSample.set('step losses', (t = grown));
    }
    this.backend.run('sum', { input: this.scratch('loss', n), count: n, output: t, outputIndex: slot });
  }

  /**
   * The loss and correct sums since the last read (one read, as before), refusing labels out of
   * range and, in fit (`at`), a loss gone NaN or infinite: Keras's TerminateOnNaN.
   */
  private async checkedStats(options: DataOptions, at?: { epoch: number; first: number; last: number; lr: number }): Promise<[number, number]> {
    const [loss, correct, invalid] = await this.backend.read(this.stats);
    this.backend.fill(this.stats, 0);
    const steps = at && (at.first === at.last ? `step ${at.last}` : `steps ${at.first} to ${at.last}`);
    if (invalid > 0) {
      const where = at ? `epoch ${at.epoch}, ${steps},` : 'the batches';
      throw new EdgelakeError('invalid-input', `tensor ${options.target ?? 'label'}: ${invalid} sample${invalid === 1 ? '' : 's'} in ${where} ha${invalid === 1 ? 's a label' : 've labels'} outside [0, ${this.classes}): the model has ${this.classes} classes (PyTorch: "Target is out of bounds")`);
    }
    if (at && !Number.isFinite(loss)) {
      const losses = await this.backend.read(this.perSample.get('step losses')!, at.last - at.first + 1);
      const k = losses.findIndex((l) => !Number.isFinite(l)); // -1: finite steps whose sum overflowed
      throw new EdgelakeError('invalid-input', `fit: the loss went ${k >= 0 ? losses[k] : loss} at epoch ${at.epoch}, ${k >= 0 ? `step ${at.first + k}` : steps}: training diverged, and the weights are no longer usable; lower the learning rate (lr ${at.lr}), or check the inputs are scaled (e.g. a loader transform { scale: 1 / 255 })`);
    }
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
  private inputs(batch: Batch, options: DataOptions): { x: Tensor; labels: Tensor; labelKind: LabelKind } {
    const [inputName, targetName] = [options.input ?? 'image', options.target ?? 'label'];
    const n = batch.ids.length;
    const x = batch.tensors[inputName];
    const y = batch.tensors[targetName];
    if (x === undefined || y === undefined) {
      throw new EdgelakeError('invalid-input', `the batch has no tensor "${x === undefined ? inputName : targetName}" (it has ${Object.keys(batch.tensors).join(', ')})`);
    }
    const need = n * this.inputSize;
    // Float rows: a Float32Array, or a GPUBuffer a transform filled (a pooled one is larger than what it holds).
    const filled = Array.isArray(x) || (ArrayBuffer.isView(x) && !(x instanceof Float32Array)) ? undefined : batchTensorBytes(x);
    const transform = `; give the loader a transform (e.g. { ${inputName}: { scale: 1 / 255 } })`;
    let hint: string | undefined;
    // Float rows of another width are the wrong input (another backbone, RGB for gray), which no transform mends.
    if (filled !== undefined) hint = filled !== need * 4 ? `${n} rows of ${filled / 4 / n} values a sample; give the model inputs of its width` : undefined;
    else if (Array.isArray(x)) hint = `samples of different sizes${transform}`;
    else if (ArrayBuffer.isView(x)) hint = `${x.constructor.name} values${transform}`;
    else if (x.size < need * 4) hint = `a ${x.size}-byte GPU buffer${transform}`;
    if (hint) throw new EdgelakeError('invalid-input', `tensor ${inputName}: the model needs ${n} x ${this.inputSize} float32 values, the batch has ${hint}`);
    const { labels, labelKind } = batchLabels(batch, targetName, this.classes, options.labels);
    const count = labelKind === 'soft' ? n * this.classes : n;
    return { x: this.backend.wrap(x as Float32Array | GPUBuffer, need, inputName), labels: this.backend.wrap(labels, count, targetName), labelKind };
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
