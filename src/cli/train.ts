import { readFile, writeFile } from 'node:fs/promises';
import { MAX_SEED, parseFlags, positiveInt, refuseExpandedPattern, wholeNumber, type Flags } from './flags.js';
import { EdgelakeError } from '../errors.js';
import { openDataset } from '../runtime/open.node.js';
import type { Dataset } from '../runtime/dataset/dataset.js';
import { formatAdapter } from '../kernels/device.js';
import { getNodeDevice } from '../kernels/device.node.js';
import type { Model, ModelSpec } from '../runtime/model/model.js';
import { loadModel, loadWeights, savedSpec, saveModel, type LoadedWeights } from '../runtime/model/model-io.js';
import { cnn, createModel, head, mlp } from '../runtime/model/zoo.js';
import { openCacheFolder } from './cache.js';
import { progressBar, type CliIo } from './io.js';
import { Loader } from '../runtime/loader/loader.js';
import { classCount } from './classes.js';

export const trainUsage =
  'edgelake train ROOT [--model mlp|cnn|head] [--epochs N] [--input TENSOR] [--label TENSOR] [--input-size N] [--batch-size N] [--lr X] [--seed S] [--device gpu|cpu] [--workers N] [--cache DIR] [--save FILE] [--resume FILE] [--init FILE [--freeze N]] [--ref R] [--json]';

export const trainFlags = {
  model: { type: 'string', default: 'mlp', value: 'mlp|cnn|head', help: 'the model to train' },
  epochs: { type: 'string', value: 'N', help: 'passes over the train split (default 1)' },
  input: { type: 'string', value: 'TENSOR', help: 'the input tensor (default image)' },
  label: { type: 'string', value: 'TENSOR', help: 'the class label tensor (default label); without class names, its largest label + 1 classes' },
  'input-size': { type: 'string', value: 'N', help: 'images of any size: random-resized crops to NxN for training, centre crops for testing' },
  'batch-size': { type: 'string', value: 'N', help: 'samples a step (default 128)' },
  lr: { type: 'string', value: 'X', help: 'the learning rate (default 1e-3, Adam, cosine schedule)' },
  seed: { type: 'string', value: 'S', help: 'the seed of the weights and the shuffle (default 0)' },
  device: { type: 'string', value: 'gpu|cpu', help: 'gpu: WebGPU, required; cpu: the CPU references (default: the GPU when there is one)' },
  workers: { type: 'string', value: 'N', help: 'decode workers (default 1)' },
  cache: { type: 'string', value: 'DIR', help: 'a persistent chunk cache folder (default none)' },
  save: { type: 'string', value: 'FILE', help: 'save the trained model (safetensors, with its optimizer state)' },
  resume: { type: 'string', value: 'FILE', help: 'go on training a model --save wrote' },
  init: { type: 'string', value: 'FILE', help: 'start from a pretrained model: its architecture and weights, the classifier fresh for this dataset\'s classes' },
  freeze: { type: 'string', value: 'N', help: 'with --init or --resume: keep the first N layers with weights as they are (0: train them all)' },
  ref: { type: 'string', value: 'R', help: 'the ref, tag or version id to read (default the head)' },
  json: { type: 'boolean', help: 'print the epochs and the test result as JSON' },
} as const satisfies Flags;

/** `edgelake train`: fits a model on the train split, streaming, then evaluates it on the test split. */
export async function trainCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(trainFlags, args);
  const chosen = args.some((a) => a === '--model' || a.startsWith('--model=')); // --model has a default
  refuseExpandedPattern(positionals);
  if (positionals.length !== 1) throw new EdgelakeError('invalid-input', `usage: ${trainUsage}`);
  if (!['mlp', 'cnn', 'head'].includes(values.model!)) throw new EdgelakeError('invalid-input', `--model must be mlp, cnn or head, not "${values.model}"`);
  if (values.device !== undefined && !['gpu', 'cpu'].includes(values.device)) throw new EdgelakeError('invalid-input', `--device must be gpu or cpu, not "${values.device}"`);
  const epochs = positiveInt(values.epochs, '--epochs', 1);
  const batchSize = positiveInt(values['batch-size'], '--batch-size', 128);
  const inputSize = values['input-size'] === undefined ? undefined : positiveInt(values['input-size'], '--input-size', 0);
  const seed = wholeNumber(values.seed, '--seed', 0, MAX_SEED);
  const workers = wholeNumber(values.workers, '--workers', 1);
  const lr = values.lr === undefined ? undefined : Number(values.lr);
  if (values.init !== undefined && values.resume !== undefined) throw new EdgelakeError('invalid-input', '--init starts a new training from pretrained weights, --resume goes on with a saved one: give one of them');
  const freeze = values.freeze === undefined ? undefined : Number(values.freeze);
  if (freeze !== undefined && !/^\d+$/.test(values.freeze!)) throw new EdgelakeError('invalid-input', `--freeze must be a whole number of layers, 0 or more, not "${values.freeze}"`);
  if (freeze !== undefined && values.init === undefined && values.resume === undefined) throw new EdgelakeError('invalid-input', '--freeze keeps pretrained layers as they are: give the model with --init FILE (or --resume FILE)');
  if (lr !== undefined && !(lr > 0)) throw new EdgelakeError('invalid-input', `--lr must be a positive number, not "${values.lr}"`);
  // --device gpu demands one; without --device the GPU is used when there is one.
  const gpu = values.device === 'cpu' ? null : await getNodeDevice({ required: values.device === 'gpu' ? true : undefined }); // no --device: EDGELAKE_REQUIRE_GPU decides
  const cache = values.cache ? await openCacheFolder(values.cache, undefined, io) : undefined;
  try {
    const ds = await openDataset(positionals[0], { cache, ref: values.ref });
    const input = values.input ?? (values.model === 'head' ? 'embedding' : 'image');
    const target = values.label ?? 'label';
    const classes = await classCount(ds, target);
    const stored = ds.tensor(input).shape;
    if (inputSize === undefined && stored.some((d) => d === null)) {
      throw new EdgelakeError('invalid-input', `tensor ${input} holds images of any size [${stored.map((d) => d ?? '*').join(', ')}]: give --input-size N to fit them to NxN`);
    }
    // Images fitted to NxN: a random resized crop for training, the centre for testing (torchvision's recipe).
    const fit = (crop: 'random' | 'center') => (inputSize === undefined ? {} : { fit: { size: [inputSize, inputSize] as const, crop } });
    const shape = inputSize === undefined ? (stored as number[]) : [inputSize, inputSize, stored[2] ?? 3];
    const device = gpu?.device ?? null;
    const base = values.init === undefined ? undefined : new Uint8Array(await readFile(values.init));
    const model = values.resume
      ? loadModel(new Uint8Array(await readFile(values.resume)), { device, name: values.resume })
      : base ? baseModel(savedSpec(base, values.init), shape, classes, { init: values.init, input, model: chosen ? values.model : undefined }, { device, seed })
      : makeModel(values.model!, shape, classes, { device, seed });
    // A pretrained base: every layer the file shares by name, the classifier afresh (this dataset's classes).
    const init = base && { file: values.init!, ...initFrom(model, base, values.init!) };
    const defaulted = [chosen || base || values.resume ? '' : `--model ${values.model}`, values.epochs === undefined ? `--epochs ${epochs}` : ''].filter(Boolean);
    if (defaulted.length && !values.json) io.stderr(`training with the defaults ${defaulted.join(' and ')} (edgelake train --help lists the flags)\n`);
    if (init && !values.json) io.stderr(`--init ${init.file}: loaded ${init.loaded.join(', ')}; fresh ${init.fresh.join(', ')}\n`);
    if (freeze !== undefined) model.freeze(freeze);
    const image = model.spec.input.length === 3; // [channels, height, width]: images go in as CHW
    const loader = (split: string | undefined, shuffle: boolean) => new Loader(ds.view({ split }), {
      batchSize, tensors: [input, target], device: device ?? undefined,
      shuffle: shuffle ? { seed, windowChunks: 4 } : undefined,
      transform: { [input]: { scale: scaleFor(ds, input), toCHW: image, ...fit(shuffle ? 'random' : 'center') } },
      workers,
    });
    const { train, test: testSplit } = splitsOf(ds);
    // Evaluated only when there is a test split, as torchvision's and HF's scripts do: the model is still trained and saved.
    if (!testSplit && !values.json) io.stderr(`dataset ${ds.name} has no "test" split: training ${train ? 'on the train split' : 'on every sample'}, the evaluation skipped\n`);
    const trainLength = ds.view({ split: train }).length;
    const show = progressBar(io, 'training');
    model.addEventListener('batch', (e) => {
      const d = e.detail;
      show(d.epoch * trainLength + d.samples, epochs * trainLength, `epoch ${d.epoch + 1}/${epochs}`);
    });
    model.addEventListener('epoch', (e) => {
      const s = e.detail;
      if (!values.json) show.note(`epoch ${s.epoch + 1}: loss ${s.loss.toFixed(4)}, train accuracy ${s.accuracy.toFixed(4)}, ${s.samplesPerSecond.toFixed(0)} samples/s`);
    });
    const started = performance.now();
    const history = await model.fit(loader(train, true), { epochs, lr, input, target });
    const test = testSplit ? await model.evaluate(loader(testSplit, false), { input, target }) : null;
    const seconds = (performance.now() - started) / 1000;
    if (values.save) await writeFile(values.save, await saveModel(model));
    const result = {
      dataset: ds.name, version: ds.version, model: values.model, device: device ? 'gpu' : 'cpu', adapter: gpu ? formatAdapter(gpu.adapter) : 'cpu',
      ...(init && { init }), frozen: model.frozen, epochs, batchSize, seed, trainSamples: trainLength,
      evaluation: test && { samples: test.samples, accuracy: test.accuracy, loss: test.loss }, testSamples: test?.samples ?? 0, testAccuracy: test?.accuracy ?? null, testLoss: test?.loss ?? null,
      samplesPerSecond: history.reduce((a, h) => a + h.samples, 0) / history.reduce((a, h) => a + h.seconds, 0), seconds, history,
    };
    model.dispose();
    const tested = test ? `test accuracy ${test.accuracy.toFixed(4)} (${test.samples} samples)` : 'trained (no test split to evaluate on)';
    io.stdout(values.json ? JSON.stringify(result) + '\n' : `${tested} after ${epochs} epoch(s), ${seconds.toFixed(1)} s on ${result.adapter}${values.save ? `; saved ${values.save}` : ''}\n`);
    return 0;
  } finally {
    await cache?.store.close();
  }
}

/** The splits to train and test on: a dataset with no splits at all (build linked) trains on every sample; no "test" split, no evaluation. */
function splitsOf(ds: Dataset): { train: string | undefined; test: string | undefined } {
  const has = (name: string) => Object.hasOwn(ds.splits, name);
  return { train: has('train') || Object.keys(ds.splits).length > 0 ? 'train' : undefined, test: has('test') ? 'test' : undefined };
}

function makeModel(kind: string, shape: number[], classes: number, options: { device: GPUDevice | null; seed: number }): Model {
  const size = shape.reduce((a, b) => a * b, 1);
  if (kind === 'cnn') {
    if (shape.length !== 3) throw new EdgelakeError('invalid-input', `--model cnn needs [height, width, channels] images, the input is [${shape.join(', ')}]`);
    return cnn({ ...options, input: [shape[2], shape[0], shape[1]], classes });
  }
  if (kind === 'head') return head({ ...options, dims: size, classes, hidden: [128] });
  return mlp({ ...options, layers: [size, 256, 128, classes] });
}

/**
 * A pretrained base's architecture for this task, as Keras users fine-tune one: its layers, the
 * classifier as wide as the dataset's classes; the dataset's inputs must be the ones it takes.
 */
function baseModel(spec: ModelSpec, shape: number[], classes: number, values: { init?: string; model?: string; input?: string }, options: { device: GPUDevice | null; seed: number }): Model {
  const convolutional = spec.layers.some((l) => l.type === 'conv2d');
  if (values.model !== undefined && (values.model === 'cnn') !== convolutional) {
    throw new EdgelakeError('invalid-input', `--init ${values.init} is ${convolutional ? 'a convolutional model (--model cnn)' : 'a dense model (--model mlp or head)'}, not --model ${values.model}`);
  }
  const gives = spec.input.length === 3 ? [shape[2], shape[0], shape[1]] : [shape.reduce((a, b) => a * b, 1)];
  if (gives.join(',') !== spec.input.join(',')) {
    throw new EdgelakeError('invalid-input', `--init ${values.init} takes inputs of [${spec.input.join(', ')}]; tensor ${values.input ?? 'image'} gives [${gives.join(', ')}] (choose another with --input, or fit images with --input-size)`);
  }
  let classifier = spec.layers.length - 1;
  while (classifier >= 0 && spec.layers[classifier].type !== 'dense') classifier--;
  return createModel({ input: spec.input, layers: spec.layers.map((l, i) => (i === classifier ? { ...l, units: classes } : l)) }, options);
}

function initFrom(model: Model, bytes: Uint8Array, file: string): LoadedWeights {
  const classifier = model.layers.filter((l) => l.params.length > 0).at(-1)!.name;
  return loadWeights(model, bytes, { skip: [classifier], name: file });
}

/** 1/255 for 8-bit images, else 1 (quantized embeddings are dequantized by the decode kernel). */
function scaleFor(ds: Dataset, input: string): number {
  const t = ds.tensor(input);
  return t.dtype === 'uint8' && !t.quant ? 1 / 255 : 1;
}
