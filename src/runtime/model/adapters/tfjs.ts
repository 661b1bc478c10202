import { EdgelakeError } from '../../../errors.js';
import type { LabelKind } from '../../../kernels/loss/loss.ref.js';
import { uncertaintyRef, type UncertaintyMeasure } from '../../../kernels/uncertainty/uncertainty.ref.js';
import type { Batch } from '../../loader/loader.js';
import { batchTensorBytes, isSoftLabels } from '../../loader/transform.js';
import type { Learner } from '../learner.js';
import { epochBatches, type BatchSource, type DataOptions, type EpochStats, type FitOptions } from '../model.js';
import { fitOptimizerSpec, sameButLr, withDefaults, type OptimizerSpec } from '../optimizer.js';

// The few TF.js types the adapter calls, written out so that edgelake never imports TF.js (an
// optional peer). TF.js's own declarations are too particular to be assigned to them (a function
// taking its Tensor cannot stand for one taking ours), so the entry takes `tf` and the model as
// objects and reads them through these.
interface TfTensor {
  readonly shape: number[];
  data(): Promise<ArrayLike<number>>;
  dispose(): void;
}
interface TfOptimizer {
  minimize(f: () => TfTensor, returnCost?: boolean, varList?: TfTensor[]): TfTensor | null;
  dispose(): void;
  /** Adam reads it at every step; SGD and momentum keep a scalar of it, which only setLearningRate renews. */
  learningRate: number;
  setLearningRate?(learningRate: number): void;
}
interface TfLayer {
  getClassName(): string;
  getConfig(): { activation?: unknown };
  /** A nested model's own. */
  readonly layers?: TfLayer[];
  readonly outputs?: TfSymbolicTensor[];
}
interface TfSymbolicTensor {
  readonly shape: (number | null)[];
  readonly sourceLayer: TfLayer;
  /** Which of its source layer's outputs it is. */
  readonly tensorIndex: number;
}
interface TfLayersModel {
  readonly inputs: { shape: (number | null)[] }[];
  readonly outputs: TfSymbolicTensor[];
  readonly layers: TfLayer[];
  readonly trainableWeights: { read(): TfTensor }[];
  readonly nonTrainableWeights: { read(): TfTensor; write(value: TfTensor): unknown }[];
  apply(inputs: TfTensor, kwargs?: { training?: boolean }): TfTensor | TfTensor[];
}
interface Tfjs {
  tensor(values: Float32Array | Int32Array | { buffer: GPUBuffer; zeroCopy?: boolean }, shape?: number[], dtype?: 'float32' | 'int32'): TfTensor;
  /** Typed loosely: TF.js's own signature is generic over its TensorContainer. */
  tidy(fn: () => void): unknown;
  keep(t: TfTensor): TfTensor;
  clone(t: TfTensor): TfTensor;
  oneHot(indices: TfTensor, depth: number): TfTensor;
  losses: { softmaxCrossEntropy(onehotLabels: TfTensor, logits: TfTensor): TfTensor };
  logSoftmax(logits: TfTensor): TfTensor;
  softmax(logits: TfTensor): TfTensor;
  log(x: TfTensor): TfTensor;
  clipByValue(x: TfTensor, min: number, max: number): TfTensor;
  mul(a: TfTensor, b: TfTensor): TfTensor;
  sum(x: TfTensor, axis?: number): TfTensor;
  neg(x: TfTensor): TfTensor;
  add(a: TfTensor, b: TfTensor): TfTensor;
  sub(a: TfTensor, b: TfTensor): TfTensor;
  equal(a: TfTensor, b: TfTensor): TfTensor;
  argMax(x: TfTensor, axis?: number): TfTensor;
  cast(x: TfTensor, dtype: 'float32' | 'int32'): TfTensor;
  stack(tensors: TfTensor[]): TfTensor;
  train: {
    adam(learningRate: number, beta1?: number, beta2?: number, epsilon?: number): TfOptimizer;
    sgd(learningRate: number): TfOptimizer;
    momentum(learningRate: number, momentum: number, useNesterov?: boolean): TfOptimizer;
  };
}

export interface TfjsLearnerOptions {
  /** Classes the model predicts (its output width). */
  classes: number;
  /** What the model gives: 'probabilities' or 'logits' (default: as the layer making its output says, tfjsOutputOf). */
  output?: 'probabilities' | 'logits';
}

/**
 * What a LayersModel gives: probabilities when the layer making its first output is a softmax (a
 * layer's softmax activation, or a Softmax layer, whose config names no activation), else logits.
 */
export function tfjsOutputOf(layersModel: object): 'probabilities' | 'logits' {
  const last = sourceOf((layersModel as TfLayersModel).outputs[0]);
  return last.getClassName() === 'Softmax' || last.getConfig().activation === 'softmax' ? 'probabilities' : 'logits';
}

/** The layer that makes `t`, followed into nested models (a base model and a head model). */
const sourceOf = (t: TfSymbolicTensor): TfLayer => (t.sourceLayer.outputs ? sourceOf(t.sourceLayer.outputs[t.tensorIndex]) : t.sourceLayer);

const DROPOUT = new Set(['Dropout', 'SpatialDropout1D', 'SpatialDropout2D', 'SpatialDropout3D', 'GaussianDropout', 'AlphaDropout']);
const hasDropout = (layers: TfLayer[]): boolean => layers.some((l) => DROPOUT.has(l.getClassName()) || hasDropout(l.layers ?? []));

/**
 * A TF.js LayersModel as a Learner: `tfjs` is the TF.js namespace (`import * as tf from
 * '@tensorflow/tfjs'`) with its backend chosen; the model is trained by TF.js's own Adam or SGD
 * (FitOptions.optimizer, with edgelake's defaults; TF.js has no weight decay for them). On
 * the WebGPU backend built on edgelake's device, a loader's GPU batches become TF.js tensors
 * without a copy (tf.tensor({ buffer, zeroCopy: true })): the batch stays the loader's until the
 * step is recorded, and nothing of it is read back. Loss and accuracy are summed on the device
 * and read once per epoch. Frozen layers are TF.js's own (`layer.trainable = false`).
 */
export function tfjsLearner(tfjs: object, layersModel: object, options: TfjsLearnerOptions): Learner {
  const [tf, model] = [tfjs as Tfjs, layersModel as TfLayersModel];
  if (typeof tf.tensor !== 'function' || typeof tf.train?.adam !== 'function') throw new EdgelakeError('invalid-input', 'tfjsLearner: the first argument must be the TF.js namespace (import * as tf from \'@tensorflow/tfjs\')');
  if (!Array.isArray(model.inputs) || !Array.isArray(model.outputs) || typeof model.apply !== 'function') throw new EdgelakeError('invalid-input', 'tfjsLearner: the second argument must be a TF.js LayersModel (tf.sequential(), tf.model() or tf.loadLayersModel())');
  const { classes } = options;
  const shape = model.inputs[0].shape.slice(1);
  if (!shape.every((d): d is number => typeof d === 'number' && d > 0)) {
    throw new EdgelakeError('invalid-input', `tfjsLearner: the model's input shape [${shape.join(', ')}] must be fixed after the batch dimension`);
  }
  const size = shape.reduce((a, b) => a * b, 1);
  const width = model.outputs[0].shape.at(-1);
  if (width !== classes) {
    const binary = width === 1 ? ': a binary classifier needs 2 outputs with softmax (Dense(2, softmax), not Dense(1, sigmoid))' : '';
    throw new EdgelakeError('invalid-input', `tfjsLearner: the model's output width is ${width} and classes is ${classes}${binary}`);
  }
  const dropout = hasDropout(model.layers);
  const logits = (options.output ?? tfjsOutputOf(model)) === 'logits';
  let optimizer: TfOptimizer | undefined;
  let optimizerSpec: OptimizerSpec | undefined;

  /** TF.js's optimizer for a spec, its defaults edgelake's (withDefaults). */
  const makeOptimizer = (spec: OptimizerSpec): TfOptimizer => {
    const s = withDefaults(spec);
    if (s.weightDecay) throw new EdgelakeError('invalid-input', `tfjsLearner: TF.js's ${s.type} has no weight decay; give the layers a kernelRegularizer (tf.regularizers.l2) instead of optimizer.weightDecay`);
    if (s.type === 'adam') return tf.train.adam(s.lr, s.beta1, s.beta2, s.eps);
    return s.momentum > 0 ? tf.train.momentum(s.lr, s.momentum, s.nesterov) : tf.train.sgd(s.lr);
  };
  const setRate = (o: TfOptimizer, rate: number) => (o.setLearningRate ? o.setLearningRate(rate) : (o.learningRate = rate));

  /** The batch's input as a [n, ...shape] tensor: a GPU batch without a copy. */
  const input = (batch: Batch, name: string): TfTensor => {
    const x = batch.tensors[name];
    const n = batch.ids.length;
    if (x instanceof Float32Array) {
      // More values than rows of the model's input would be read as misaligned rows (RGB into a gray model), silently.
      if (x.length !== n * size) throw new EdgelakeError('invalid-input', `tfjsLearner: tensor ${name} has ${x.length} values; the model takes ${n} x [${shape.join(', ')}] = ${n * size}`);
      return tf.tensor(x, [n, ...shape], 'float32');
    }
    if (x !== undefined && !ArrayBuffer.isView(x) && !Array.isArray(x)) {
      // A pooled buffer is larger than its values: what the loader's transform filled is what counts.
      const filled = batchTensorBytes(x);
      if (x.size < n * size * 4 || (filled !== undefined && filled !== n * size * 4)) {
        throw new EdgelakeError('invalid-input', `tfjsLearner: tensor ${name} is a GPU buffer of ${(filled ?? x.size) / 4} values; the model takes ${n} x [${shape.join(', ')}] = ${n * size}`);
      }
      return tf.tensor({ buffer: x, zeroCopy: true }, [n, ...shape], 'float32');
    }
    throw new EdgelakeError('invalid-input', `tfjsLearner: tensor ${name} must be float32 rows or a GPU buffer (give the loader a transform), the batch has ${x === undefined ? 'no such tensor' : x.constructor.name}`);
  };
  /** The batch's labels as n x classes rows: class indices one-hot, soft rows (mixup's) as they are. */
  const labels = (batch: Batch, name: string, kind: LabelKind | undefined): { y: TfTensor; soft: boolean } => {
    const y = batch.tensors[name];
    const n = batch.ids.length;
    const mixed = isSoftLabels(y);
    const soft = (kind ?? (mixed || y instanceof Float32Array ? 'soft' : 'index')) === 'soft';
    // Read as indices, mixup's rows would train every sample towards class 0, silently.
    if (mixed && !soft) throw new EdgelakeError('invalid-input', `tfjsLearner: tensor ${name} holds mixup's soft labels, not class indices: leave labels unset, or 'soft'`);
    const count = soft ? n * classes : n;
    const filled = y === undefined || Array.isArray(y) ? undefined : batchTensorBytes(y);
    if (y === undefined || Array.isArray(y) || (ArrayBuffer.isView(y) ? y.length !== count || (soft && !(y instanceof Float32Array)) : y.size < count * 4 || (filled !== undefined && filled !== count * 4))) {
      const has = y === undefined ? 'no such tensor' : Array.isArray(y) ? 'a list of samples' : ArrayBuffer.isView(y) ? `${y.length} ${y.constructor.name} values` : `a GPU buffer of ${(filled ?? y.size) / 4} values`;
      const hint = soft && y instanceof Float32Array && y.length === n ? "; float class indices need labels: 'index'" : '';
      throw new EdgelakeError('invalid-input', `tfjsLearner: tensor ${name} must hold integer class labels (${n}) or soft label rows (${n} x ${classes} float32), the batch has ${has}${hint}`);
    }
    if (soft) return { y: tf.tensor(ArrayBuffer.isView(y) ? (y as Float32Array) : { buffer: y, zeroCopy: true }, [n, classes], 'float32'), soft };
    const indices = ArrayBuffer.isView(y) ? tf.tensor(inClasses(y as ArrayLike<number>, batch, name), [n], 'int32') : tf.tensor({ buffer: y, zeroCopy: true }, [n], 'int32');
    const onehot = tf.oneHot(indices, classes);
    indices.dispose();
    return { y: onehot, soft };
  };
  /** CPU labels, checked: one-hot makes an all-zero row of a label out of range, a loss of 0, silently (GPU labels are counted in lossOf). */
  const inClasses = (values: ArrayLike<number>, batch: Batch, name: string): Int32Array => {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!(Number.isInteger(v) && v >= 0 && v < classes)) throw new EdgelakeError('invalid-input', `tfjsLearner: label ${v} at row ${i} (sample ${batch.ids[i]}) of tensor ${name} is outside [0, ${classes})`);
    }
    return values instanceof Int32Array ? values : Int32Array.from(values);
  };
  const output = (x: TfTensor, training: boolean): TfTensor => {
    const out = model.apply(x, { training });
    return Array.isArray(out) ? out[0] : out;
  };
  /** Mean cross-entropy of a batch, and its summed loss, correct count and count of labels out of range (one-hot rows of zeros), as [3]. */
  const lossOf = (out: TfTensor, { y, soft }: { y: TfTensor; soft: boolean }): { mean: TfTensor; sums: TfTensor } => {
    const scalar = (v: number) => tf.tensor(Float32Array.of(v), [], 'float32');
    const n = y.shape[0];
    const logP = logits ? tf.logSoftmax(out) : tf.log(tf.clipByValue(out, 1e-7, 1));
    const loss = tf.sum(tf.neg(tf.sum(tf.mul(y, logP), 1)));
    const correct = tf.sum(tf.cast(tf.equal(tf.argMax(out, 1), tf.argMax(y, 1)), 'float32'));
    const invalid = soft ? scalar(0) : tf.sub(scalar(n), tf.cast(tf.sum(y), 'float32'));
    return { mean: tf.mul(loss, scalar(1 / n)), sums: tf.stack([loss, correct, invalid]) };
  };

  /**
   * Loss and accuracy over the batches: each step adds its [loss, correct, invalid] to sums on the
   * device, read once; a step that throws leaks nothing (its tensors are a tidy's). `what` names the
   * batches in errors: labels out of range (GPU labels are checked only here) and no batches at all.
   */
  const summed = async (batches: AsyncIterable<Batch>, what: string, target: string, step: (batch: Batch, sums: TfTensor) => TfTensor) => {
    let sums = tf.tensor(Float32Array.of(0, 0, 0), [3], 'float32');
    let samples = 0;
    try {
      for await (const batch of batches) {
        if (batch.ids.length === 0) continue; // nothing to learn from, and its mean loss would be 0 / 0
        const next = tf.tidy(() => step(batch, sums)) as TfTensor;
        sums.dispose();
        sums = next;
        samples += batch.ids.length;
      }
      if (samples === 0) throw new EdgelakeError('invalid-input', `tfjsLearner: the source gave no batches for ${what}`);
      const { 0: loss, 1: correct, 2: invalid } = await sums.data();
      if (invalid > 0) throw new EdgelakeError('invalid-input', `tfjsLearner: ${invalid} label${invalid === 1 ? '' : 's'} of tensor ${target} in ${what} ${invalid === 1 ? 'is' : 'are'} outside [0, ${classes})`);
      return { loss: loss / samples, accuracy: correct / samples, samples };
    } finally {
      sums.dispose();
    }
  };

  const learner: Learner = {
    classes,
    async fit(source: BatchSource, o: FitOptions): Promise<EpochStats[]> {
      const spec = fitOptimizerSpec(o.lr, o.optimizer);
      // A new lr keeps the optimizer's state (its moments); other hyperparameters start a new one.
      if (!optimizer || !sameButLr(optimizerSpec!, spec)) {
        const made = makeOptimizer(spec);
        optimizer?.dispose();
        optimizer = made;
      }
      optimizerSpec = spec;
      const trainer = optimizer;
      const history: EpochStats[] = [];
      const variables = model.trainableWeights.map((w) => w.read());
      const target = o.target ?? 'label';
      for (let epoch = 0; epoch < o.epochs; epoch++) {
        const started = performance.now();
        // The cosine schedule as Model.fit runs it.
        setRate(trainer, o.schedule === 'cosine' ? (spec.lr * (1 + Math.cos((Math.PI * (epoch + 0.5)) / o.epochs))) / 2 : spec.lr);
        const { loss, accuracy, samples } = await summed(epochBatches(source, epoch), `epoch ${epoch}`, target, (batch, sums) => {
          o.signal?.throwIfAborted();
          const [x, y] = [input(batch, o.input ?? 'image'), labels(batch, target, o.labels)];
          let next: TfTensor | undefined;
          trainer.minimize(() => {
            const step = lossOf(output(x, true), y);
            next = tf.keep(tf.add(sums, step.sums)); // minimize disposes what its function made
            return step.mean;
          }, false, variables);
          return next!;
        });
        if (!Number.isFinite(loss)) {
          throw new EdgelakeError('invalid-input', `tfjsLearner: the loss went ${loss} in epoch ${epoch}: training diverged; lower the learning rate (lr ${spec.lr}), or check the inputs are scaled`);
        }
        const seconds = (performance.now() - started) / 1000;
        history.push({ epoch, samples, seconds, samplesPerSecond: samples / seconds, loss, accuracy });
      }
      return history;
    },
    evaluate(source: AsyncIterable<Batch>, o: DataOptions = {}) {
      const target = o.target ?? 'label';
      return summed(source, 'evaluate', target, (batch, sums) => tf.add(sums, lossOf(output(input(batch, o.input ?? 'image'), false), labels(batch, target, o.labels)).sums));
    },
    async predictProba(x: Float32Array | GPUBuffer, n: number, o: { passes?: number } = {}) {
      const passes = o.passes ?? 1;
      const batch: Batch = { ids: new Uint32Array(n), tensors: { input: x } };
      // MC dropout runs training-mode passes, which use batch statistics (as Keras's model(x, training=True)) and move BatchNormalization's moving ones: those are put back.
      const saved = passes > 1 ? model.nonTrainableWeights.map((w) => tf.clone(w.read())) : [];
      let probs: TfTensor;
      try {
        probs = tf.tidy(() => {
          const inputs = input(batch, 'input');
          return tf.stack(Array.from({ length: passes }, () => {
            const out = output(inputs, passes > 1);
            return logits ? tf.softmax(out) : out;
          }));
        }) as TfTensor;
      } finally {
        saved.forEach((value, i) => {
          model.nonTrainableWeights[i].write(value);
          value.dispose();
        });
      }
      try {
        return Float32Array.from(await probs.data());
      } finally {
        probs.dispose();
      }
    },
    async uncertainty(x: Float32Array | GPUBuffer, n: number, measure: UncertaintyMeasure, o: { passes?: number } = {}) {
      const passes = o.passes ?? (measure === 'bald' || measure === 'variation-ratio' ? 10 : 1);
      if (passes > 1 && !dropout) {
        // Without dropout every pass gives the same answer: bald would be ~0 for every sample, silently.
        throw new EdgelakeError('invalid-input', `tfjsLearner: ${measure} with ${passes} passes is MC dropout, and this model has no dropout layer: add one (tf.layers.dropout({ rate: 0.2 })) or use entropy, margin or least-confidence`);
      }
      const probs = await learner.predictProba(x, n, { passes });
      const scores = new Float32Array(n);
      uncertaintyRef({ probs, scores, n, classes, passes, measure });
      return scores;
    },
    dispose() {
      optimizer?.dispose();
      optimizer = undefined;
    },
  };
  return learner;
}
