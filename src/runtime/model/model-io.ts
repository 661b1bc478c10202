import { EdgelakeError } from '../../errors.js';
import type { Model, ModelSpec } from './model.js';
import { Optimizer, type OptimizerSpec } from './optimizer.js';
import { decodeSafetensors, encodeSafetensors, float32Tensor, tensorFloat32, type NamedTensor } from './safetensors.js';
import { createModel, type ModelOptions } from './zoo.js';

const FORMAT = 'edgelake-model/1';
const OPTIMIZER = 'optimizer.';

/**
 * The model as safetensors: every weight under its layer name ('dense_0.weight', shaped as the
 * layer holds it), the optimizer's state under 'optimizer.<param>.<m|v|velocity>', and in the
 * metadata the architecture, optimizer and step, so loadModel rebuilds it and training resumes.
 * `optimizer: false` saves the weights alone (a third of the bytes with Adam): a base to fine-tune.
 */
export async function saveModel(model: Model, options: { optimizer?: boolean } = {}): Promise<Uint8Array> {
  const tensors: Record<string, NamedTensor> = {};
  for (const p of model.params) tensors[p.name] = float32Tensor(p.shape, await model.backend.read(p.value));
  const optimizer = options.optimizer === false ? undefined : model.optimizer;
  if (optimizer) {
    for (const p of model.params) {
      for (const [k, t] of Object.entries(optimizer.state.get(p.name)!)) tensors[`${OPTIMIZER}${p.name}.${k}`] = float32Tensor(p.shape, await model.backend.read(t));
    }
  }
  const metadata: Record<string, string> = { format: FORMAT, spec: JSON.stringify(model.spec), seed: String(model.seed), frozen: JSON.stringify(model.frozen) };
  if (optimizer) Object.assign(metadata, { optimizer: JSON.stringify(optimizer.spec), step: String(optimizer.step) });
  return encodeSafetensors(tensors, metadata);
}

/** Rebuilds a saved model (on `options.device`, or the CPU) with its weights and optimizer state. */
export function loadModel(bytes: Uint8Array, options: ModelOptions & { name?: string } = {}): Model {
  const name = options.name ?? 'model';
  const { tensors, metadata } = decodeSafetensors(bytes, { name });
  if (metadata.format !== FORMAT) throw new EdgelakeError('invalid-input', `${name}: not an edgelake model (metadata format ${JSON.stringify(metadata.format)}, expected ${FORMAT})`);
  const spec = parseJson<ModelSpec>(metadata.spec, name, 'spec');
  const model = createModel(spec, { ...options, seed: Number(metadata.seed ?? 0) });
  try {
    for (const p of model.params) model.backend.write(p.value, take(tensors, p.name, p.shape, name));
    if (metadata.frozen) model.freeze(parseJson<string[]>(metadata.frozen, name, 'frozen'));
    if (metadata.optimizer) {
      const optimizer = new Optimizer(parseJson<OptimizerSpec>(metadata.optimizer, name, 'optimizer'), model.backend, model.params);
      optimizer.step = Number(metadata.step ?? 0);
      model.optimizer = optimizer;
      for (const p of model.params) {
        for (const [k, t] of Object.entries(optimizer.state.get(p.name)!)) model.backend.write(t, take(tensors, `${OPTIMIZER}${p.name}.${k}`, p.shape, name));
      }
    }
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/** What loadWeights copied: layers loaded from the file, and layers left as they were (not in the file, or skipped). */
export interface LoadedWeights {
  loaded: string[];
  fresh: string[];
}

/** The architecture a saved model's file holds (what loadModel rebuilds), without its weights. */
export function savedSpec(bytes: Uint8Array, name = 'model'): ModelSpec {
  const { metadata } = decodeSafetensors(bytes, { name });
  if (metadata.format !== FORMAT) throw new EdgelakeError('invalid-input', `${name}: not an edgelake model (metadata format ${JSON.stringify(metadata.format)}, expected ${FORMAT})`);
  return parseJson<ModelSpec>(metadata.spec, name, 'spec');
}

/**
 * Copies a saved model's weights into `model` layer by layer, by name (Keras' load_weights
 * by_name), to start from a pretrained base: each layer the file holds is loaded, except those
 * in `skip` (a new task's classifier, say), which keep their fresh weights, as do layers the file
 * lacks. A layer whose shapes differ is an error naming it (skip it to start it afresh); nothing
 * is written unless every layer checks out. The file's optimizer state is not taken: a new task
 * starts its own.
 */
export function loadWeights(model: Model, bytes: Uint8Array, options: { skip?: readonly string[]; name?: string } = {}): LoadedWeights {
  const name = options.name ?? 'weights';
  const { tensors, metadata } = decodeSafetensors(bytes, { name });
  if (metadata.format !== FORMAT) throw new EdgelakeError('invalid-input', `${name}: not an edgelake model (metadata format ${JSON.stringify(metadata.format)}, expected ${FORMAT})`);
  const skip = new Set(options.skip ?? []);
  const layers = model.layers.filter((l) => l.params.length > 0);
  const unknown = [...skip].filter((s) => !layers.some((l) => l.name === s));
  if (unknown.length) throw new EdgelakeError('invalid-input', `${name}: skip names no layer with weights of the model: ${unknown.join(', ')} (it has ${layers.map((l) => l.name).join(', ')})`);
  const taken = layers.filter((l) => !skip.has(l.name) && l.params.some((p) => tensors[p.name]));
  const values = taken.flatMap((l) => l.params.map((p) => {
    try {
      return { p, data: take(tensors, p.name, p.shape, name) };
    } catch (e) {
      throw new EdgelakeError('invalid-input', `${(e as Error).message}; skip layer ${l.name} to start it afresh`, { cause: e });
    }
  }));
  if (taken.length === 0) throw new EdgelakeError('invalid-input', `${name}: shares no layer with the model (the model has ${layers.map((l) => l.name).join(', ')})`);
  for (const { p, data } of values) model.backend.write(p.value, data);
  return { loaded: taken.map((l) => l.name), fresh: layers.filter((l) => !taken.includes(l)).map((l) => l.name) };
}

function take(tensors: Record<string, NamedTensor>, key: string, shape: number[], name: string): Float32Array {
  const t = tensors[key];
  if (!t) throw new EdgelakeError('invalid-input', `${name}: tensor ${key} is missing`);
  if (t.shape.join(',') !== shape.join(',')) throw new EdgelakeError('invalid-input', `${name}: tensor ${key} is [${t.shape.join(', ')}], the model needs [${shape.join(', ')}]`);
  try {
    return tensorFloat32(t, key);
  } catch (e) {
    throw new EdgelakeError('invalid-input', `${name}: ${(e as Error).message}`, { cause: e });
  }
}

function parseJson<T>(text: string | undefined, name: string, field: string): T {
  try {
    if (text === undefined) throw new Error('missing');
    return JSON.parse(text) as T;
  } catch (e) {
    throw new EdgelakeError('invalid-input', `${name}: metadata ${field} is not valid JSON (${(e as Error).message})`);
  }
}
