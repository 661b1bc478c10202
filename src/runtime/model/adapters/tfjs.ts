import { EdgelakeError } from '../../../errors.js';
import { uncertaintyRef, type UncertaintyMeasure } from '../../../kernels/uncertainty/uncertainty.ref.js';
import type { Batch } from '../../loader/loader.js';
import type { Learner } from '../learner.js';
import { epochBatches, type BatchSource, type DataOptions, type EpochStats, type FitOptions } from '../model.js';

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
}
interface TfLayersModel {
  readonly inputs: { shape: (number | null)[] }[];
  readonly layers: { getClassName(): string; getConfig(): { activation?: unknown } }[];
  readonly trainableWeights: { read(): TfTensor }[];
  apply(inputs: TfTensor, kwargs?: { training?: boolean }): TfTensor | TfTensor[];
}
interface Tfjs {
  tensor(values: Float32Array | Int32Array | { buffer: GPUBuffer; zeroCopy?: boolean }, shape?: number[], dtype?: 'float32' | 'int32'): TfTensor;
  /** Typed loosely: TF.js's own signature is generic over its TensorContainer. */
  tidy(fn: () => void): unknown;
  keep(t: TfTensor): TfTensor;
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
  equal(a: TfTensor, b: TfTensor): TfTensor;
  argMax(x: TfTensor, axis?: number): TfTensor;
  cast(x: TfTensor, dtype: 'float32' | 'int32'): TfTensor;
  stack(tensors: TfTensor[]): TfTensor;
  train: { adam(learningRate: number): TfOptimizer };
}

export interface TfjsLearnerOptions {
  /** Classes the model predicts (its output width). */
  classes: number;
  /** What the model gives: 'probabilities' or 'logits' (default: as its last layer says, tfjsOutputOf). */
  output?: 'probabilities' | 'logits';
}

/**
 * What a LayersModel gives: probabilities when its last layer is a softmax (a layer's softmax
 * activation, or a Softmax layer, whose config names no activation), else logits.
 */
export function tfjsOutputOf(layersModel: object): 'probabilities' | 'logits' {
  const last = (layersModel as TfLayersModel).layers.at(-1);
  return last?.getClassName() === 'Softmax' || last?.getConfig().activation === 'softmax' ? 'probabilities' : 'logits';
}

/**
 * A TF.js LayersModel as a Learner: `tfjs` is the TF.js namespace (`import * as tf from
 * '@tensorflow/tfjs'`) with its backend chosen; the model is trained by TF.js's own Adam. On
 * the WebGPU backend built on edgelake's device, a loader's GPU batches become TF.js tensors
 * without a copy (tf.tensor({ buffer, zeroCopy: true })): the batch stays the loader's until the
 * step is recorded, and nothing of it is read back. Loss and accuracy are summed on the device
 * and read once per epoch. Frozen layers are TF.js's own (`layer.trainable = false`).
 */
export function tfjsLearner(tfjs: object, layersModel: object, options: TfjsLearnerOptions): Learner {
  const [tf, model] = [tfjs as Tfjs, layersModel as TfLayersModel];
  if (typeof tf.tensor !== 'function' || typeof tf.train?.adam !== 'function') throw new EdgelakeError('invalid-input', 'tfjsLearner: the first argument must be the TF.js namespace (import * as tf from \'@tensorflow/tfjs\')');
  if (!Array.isArray(model.inputs) || typeof model.apply !== 'function') throw new EdgelakeError('invalid-input', 'tfjsLearner: the second argument must be a TF.js LayersModel (tf.sequential(), tf.model() or tf.loadLayersModel())');
  const { classes } = options;
  const shape = model.inputs[0].shape.slice(1);
  if (!shape.every((d): d is number => typeof d === 'number' && d > 0)) {
    throw new EdgelakeError('invalid-input', `tfjsLearner: the model's input shape [${shape.join(', ')}] must be fixed after the batch dimension`);
  }
  const size = shape.reduce((a, b) => a * b, 1);
  const logits = (options.output ?? tfjsOutputOf(model)) === 'logits';
  let optimizer: TfOptimizer | undefined;
  let optimizerLr = NaN;

  /** The batch's input as a [n, ...shape] tensor: a GPU batch without a copy. */
  const input = (batch: Batch, name: string): TfTensor => {
    const x = batch.tensors[name];
    const n = batch.ids.length;
    if (x instanceof Float32Array) return tf.tensor(x.subarray(0, n * size), [n, ...shape], 'float32');
    if (x !== undefined && !ArrayBuffer.isView(x) && !Array.isArray(x)) return tf.tensor({ buffer: x, zeroCopy: true }, [n, ...shape], 'float32');
    throw new EdgelakeError('invalid-input', `tfjsLearner: tensor ${name} must be float32 rows or a GPU buffer (give the loader a transform), the batch has ${x === undefined ? 'no such tensor' : x.constructor.name}`);
  };
  const labels = (batch: Batch, name: string): TfTensor => {
    const y = batch.tensors[name];
    const n = batch.ids.length;
    if (y === undefined || Array.isArray(y) || y instanceof Float32Array) throw new EdgelakeError('invalid-input', `tfjsLearner: tensor ${name} must hold integer class labels`);
    const indices = ArrayBuffer.isView(y) ? tf.tensor(Int32Array.from(y as ArrayLike<number>).subarray(0, n), [n], 'int32') : tf.tensor({ buffer: y, zeroCopy: true }, [n], 'int32');
    const onehot = tf.oneHot(indices, classes);
    indices.dispose();
    return onehot;
  };
  const output = (x: TfTensor, training: boolean): TfTensor => {
    const out = model.apply(x, { training });
    return Array.isArray(out) ? out[0] : out;
  };
  /** Mean cross-entropy of a batch, and its per-sample loss and correct count summed into `sums` [loss, correct]. */
  const lossOf = (out: TfTensor, y: TfTensor): { mean: TfTensor; loss: TfTensor; correct: TfTensor } => {
    const logP = logits ? tf.logSoftmax(out) : tf.log(tf.clipByValue(out, 1e-7, 1));
    const loss = tf.sum(tf.neg(tf.sum(tf.mul(y, logP), 1)));
    const correct = tf.sum(tf.cast(tf.equal(tf.argMax(out, 1), tf.argMax(y, 1)), 'float32'));
    return { mean: tf.mul(loss, tf.tensor(Float32Array.of(1 / y.shape[0]), [], 'float32')), loss, correct };
  };

  const learner: Learner = {
    classes,
    async fit(source: BatchSource, o: FitOptions): Promise<EpochStats[]> {
      const lr = o.lr ?? 1e-3;
      if (!optimizer || optimizerLr !== lr) {
        optimizer?.dispose();
        optimizer = tf.train.adam(lr);
        optimizerLr = lr;
      }
      const history: EpochStats[] = [];
      const variables = model.trainableWeights.map((w) => w.read());
      for (let epoch = 0; epoch < o.epochs; epoch++) {
        const started = performance.now();
        // The cosine schedule as Model.fit runs it; TF.js reads the rate at every step.
        (optimizer as unknown as { learningRate: number }).learningRate = o.schedule === 'cosine' ? (lr * (1 + Math.cos((Math.PI * (epoch + 0.5)) / o.epochs))) / 2 : lr;
        let sums = tf.tensor(Float32Array.of(0, 0), [2], 'float32');
        let samples = 0;
        for await (const batch of epochBatches(source, epoch)) {
          o.signal?.throwIfAborted();
          const x = input(batch, o.input ?? 'image');
          const y = labels(batch, o.target ?? 'label');
          let step: { loss: TfTensor; correct: TfTensor } | undefined;
          optimizer.minimize(() => {
            const { mean, loss, correct } = lossOf(output(x, true), y);
            step = { loss: tf.keep(loss), correct: tf.keep(correct) }; // minimize disposes what its function made
            return mean;
          }, false, variables);
          const next = tf.tidy(() => tf.add(sums, tf.stack([step!.loss, step!.correct]))) as TfTensor;
          for (const t of [sums, x, y, step!.loss, step!.correct]) t.dispose();
          sums = next;
          samples += batch.ids.length;
        }
        const { 0: loss, 1: correct } = await sums.data();
        sums.dispose();
        const seconds = (performance.now() - started) / 1000;
        history.push({ epoch, samples, seconds, samplesPerSecond: samples / seconds, loss: loss / samples, accuracy: correct / samples });
      }
      return history;
    },
    async evaluate(source: AsyncIterable<Batch>, o: DataOptions = {}) {
      let sums = tf.tensor(Float32Array.of(0, 0), [2], 'float32');
      let samples = 0;
      for await (const batch of source) {
        const x = input(batch, o.input ?? 'image');
        const y = labels(batch, o.target ?? 'label');
        const next = tf.tidy(() => {
          const { loss, correct } = lossOf(output(x, false), y);
          return tf.add(sums, tf.stack([loss, correct]));
        }) as TfTensor;
        for (const t of [sums, x, y]) t.dispose();
        sums = next;
        samples += batch.ids.length;
      }
      const { 0: loss, 1: correct } = await sums.data();
      sums.dispose();
      return { loss: loss / samples, accuracy: correct / samples, samples };
    },
    async predictProba(x: Float32Array | GPUBuffer, n: number, o: { passes?: number } = {}) {
      const passes = o.passes ?? 1;
      const batch: Batch = { ids: new Uint32Array(n), tensors: { input: x } };
      const inputs = input(batch, 'input');
      const probs = tf.tidy(() => tf.stack(Array.from({ length: passes }, () => {
        const out = output(inputs, passes > 1); // MC dropout: training-mode passes
        return logits ? tf.softmax(out) : out;
      }))) as TfTensor;
      inputs.dispose();
      try {
        return Float32Array.from(await probs.data());
      } finally {
        probs.dispose();
      }
    },
    async uncertainty(x: Float32Array | GPUBuffer, n: number, measure: UncertaintyMeasure, o: { passes?: number } = {}) {
      const passes = o.passes ?? (measure === 'bald' || measure === 'variation-ratio' ? 10 : 1);
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
