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
 */
export async function saveModel(model: Model): Promise<Uint8Array> {
  const tensors: Record<string, NamedTensor> = {};
  for (const p of model.params) tensors[p.name] = float32Tensor(p.shape, await model.backend.read(p.value));
  const optimizer = model.optimizer;
  if (optimizer) {
    for (const p of model.params) {
      for (const [k, t] of Object.entries(optimizer.state.get(p.name)!)) tensors[`${OPTIMIZER}${p.name}.${k}`] = float32Tensor(p.shape, await model.backend.read(t));
    }
  }
  const metadata: Record<string, string> = { format: FORMAT, spec: JSON.stringify(model.spec), seed: String(model.seed) };
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

function take(tensors: Record<string, NamedTensor>, key: string, shape: number[], name: string): Float32Array {
  const t = tensors[key];
  if (!t) throw new EdgelakeError('invalid-input', `${name}: tensor ${key} is missing`);
  if (t.shape.join(',') !== shape.join(',')) throw new EdgelakeError('invalid-input', `${name}: tensor ${key} is [${t.shape.join(', ')}], the model needs [${shape.join(', ')}]`);
  return tensorFloat32(t, key);
}

function parseJson<T>(text: string | undefined, name: string, field: string): T {
  try {
    if (text === undefined) throw new Error('missing');
    return JSON.parse(text) as T;
  } catch (e) {
    throw new EdgelakeError('invalid-input', `${name}: metadata ${field} is not valid JSON (${(e as Error).message})`);
  }
}
