/// <reference types="@webgpu/types" preserve="true" />
// edgelake/onnx: an ONNX Runtime Web model as a frozen backbone whose embeddings an edgelake head learns from. onnxruntime-web stays the user's: this entry never imports it.
export { onnxEmbedder, type OnnxEmbedder, type OnnxEmbedderOptions } from './runtime/model/adapters/onnx.js';
