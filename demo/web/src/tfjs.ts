// "Bring a model": a TensorFlow.js LayersModel from a URL (model.json) or from files the person
// picks (model.json and its weight shards), trained by TF.js on edgelake's own GPUDevice. Loaded
// only when a run uses one, so the page's first load carries no TF.js (Vite splits this module).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { loadLayersModel } from '@tensorflow/tfjs-layers';
import { tfjsLearner } from '../../../src/tfjs.js';
import type { RunModel } from './run.js';

let backend: Promise<string> | undefined;

/** TF.js's WebGPU backend built on `device` (GPU batches reach TF.js without a copy), or its CPU backend. */
function useBackend(device: GPUDevice | null): Promise<string> {
  backend ??= (async () => {
    if (device) {
      // The kernels are registered under 'webgpu': replace the package's own factory (its own adapter and device) by ours.
      tf.removeBackend('webgpu');
      tf.registerBackend('webgpu', () => new WebGPUBackend(device, device.adapterInfo), 3);
      if (await tf.setBackend('webgpu')) return 'webgpu';
    }
    await tf.setBackend('cpu');
    return 'cpu';
  })();
  return backend;
}

/**
 * A TF.js model as the run's model. `from`: a model.json URL, the files of a saved model
 * (model.json first or anywhere among them), or `indexeddb://...` where a run saved it.
 * `inputs` and `classes` are the dataset's; a model that does not fit them is refused by name.
 */
export async function tfjsModel(from: string | File[], savedAs: string, device: GPUDevice | null, inputs: number, classes: number): Promise<RunModel> {
  const on = await useBackend(device);
  const model = typeof from === 'string' ? await loadLayersModel(from) : await loadLayersModel(tf.io.browserFiles(modelFilesFirst(from)));
  const name = typeof from === 'string' ? from : from.map((f) => f.name).join(', ');
  const inputShape = model.inputs[0].shape.slice(1) as number[];
  const width = inputShape.reduce((a, d) => a * d, 1);
  const out = model.outputs[0].shape.at(-1);
  if (width !== inputs || out !== classes) {
    model.dispose();
    throw new Error(`the TF.js model ${name} takes [${inputShape.join(', ')}] and gives ${out} classes; this dataset has ${inputs} values per image and ${classes} classes`);
  }
  const learner = tfjsLearner(tf, model, { classes }); // probabilities or logits, as its last layer says
  return {
    kind: 'tfjs',
    describe: `TF.js model (${model.layers.length} layers, ${model.countParams().toLocaleString('en')} parameters; TF.js ${on} backend${on === 'webgpu' ? " on edgelake's device" : ''})`,
    learner,
    save: async () => void (await model.save(savedAs)),
    dispose: () => {
      learner.dispose();
      model.dispose();
    },
  };
}

/** tf.io.browserFiles wants model.json first, then the weight files. */
function modelFilesFirst(files: File[]): File[] {
  const json = files.filter((f) => f.name.endsWith('.json'));
  if (json.length !== 1) throw new Error(`choose one model.json and its weight files (.bin); got ${files.map((f) => f.name).join(', ') || 'nothing'}`);
  return [json[0], ...files.filter((f) => f !== json[0])];
}
