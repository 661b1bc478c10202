/// <reference types="@webgpu/types" preserve="true" />
// edgelake/tfjs: a TensorFlow.js LayersModel as edgelake's Learner. TF.js stays the user's: this entry never imports it.
export { tfjsLearner, tfjsOutputOf, type TfjsLearnerOptions } from './runtime/model/adapters/tfjs.js';
