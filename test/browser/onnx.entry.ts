/**
 * Bundled into the page by onnx.test.ts: onnxEmbedder on ONNX Runtime Web's WebGPU provider
 * (Chromium's WebGPU on SwiftShader) against its wasm CPU provider, and an edgelake head trained
 * on the WebGPU embeddings. Only plain JSON crosses the page boundary.
 */
import * as ort from 'onnxruntime-web/webgpu';
import { head, type Batch } from '../../src/index.js';
import { onnxEmbedder } from '../../src/onnx.js';

/** Pixels (base64 of uint8, 784 a sample) and labels 0-4. */
interface Split { pixels: string; labels: number[] }
export interface OnnxRun {
  /** Largest |WebGPU - wasm| over the first 64 test embeddings: rows uploaded by ORT, and a GPUBuffer passed without a copy. */
  uploaded: number;
  zeroCopy: number;
  dims: number;
  accuracy: number;
  samples: number;
}

declare global {
  interface Window {
    onnxTest: { run(train: Split, test: Split): Promise<OnnxRun> };
  }
}

const floats = (s: Split) => Float32Array.from(atob(s.pixels), (c) => c.charCodeAt(0) / 255);
const worst = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

window.onnxTest = {
  async run(trainSplit, testSplit) {
    ort.env.wasm.wasmPaths = `${location.origin}/ort/`;
    ort.env.wasm.numThreads = 1;
    const model = new Uint8Array(await (await fetch('/backbone.onnx')).arrayBuffer());
    const gpu = onnxEmbedder(ort, await ort.InferenceSession.create(model, { executionProviders: ['webgpu'] }), { shape: [1, 28, 28] });
    const cpu = onnxEmbedder(ort, await ort.InferenceSession.create(model, { executionProviders: ['wasm'] }), { shape: [1, 28, 28] });
    const [train, test] = [floats(trainSplit), floats(testSplit)];
    const n = 64;
    const probe = test.subarray(0, n * 784);
    const reference = (await cpu.embed(probe, n)).rows;
    const uploaded = (await gpu.embed(probe, n)).rows;
    // The samples already on ORT's device, as a loader's batch would be: Tensor.fromGpuBuffer, no copy.
    const device = await (ort.env.webgpu as unknown as { device: GPUDevice | Promise<GPUDevice> }).device;
    const buffer = device.createBuffer({ size: probe.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC });
    device.queue.writeBuffer(buffer, 0, probe);
    const zeroCopy = (await gpu.embed(buffer, n)).rows;
    buffer.destroy();

    // The training images go through the backbone once; the head then trains on their embeddings (a frozen backbone's features do not change).
    const embedAll = async (x: Float32Array, count: number) => {
      const rows: Float32Array[] = [];
      for (let at = 0; at < count; at += 250) rows.push((await gpu.embed(x.subarray(at * 784, Math.min(count, at + 250) * 784), Math.min(250, count - at))).rows);
      const out = new Float32Array(rows.reduce((a, r) => a + r.length, 0));
      rows.reduce((at, r) => (out.set(r, at), at + r.length), 0);
      return out;
    };
    const dims = reference.length / n;
    const batches = (rows: Float32Array, labels: number[]) => (async function* (): AsyncGenerator<Batch> {
      for (let at = 0; at < labels.length; at += 64) {
        const m = Math.min(64, labels.length - at);
        yield { ids: Uint32Array.from({ length: m }, (_, i) => at + i), tensors: { image: rows.subarray(at * dims, (at + m) * dims), label: Int32Array.from(labels.slice(at, at + m)) } };
      }
    })();
    const [trainRows, testRows] = [await embedAll(train, trainSplit.labels.length), await embedAll(test, testSplit.labels.length)];
    const classifier = head({ dims, classes: 5, hidden: [64], seed: 1 });
    await classifier.fit(() => batches(trainRows, trainSplit.labels), { epochs: 8, lr: 3e-3 });
    const { accuracy, samples } = await classifier.evaluate(batches(testRows, testSplit.labels));
    classifier.dispose();
    return { uploaded: worst(uploaded, reference), zeroCopy: worst(zeroCopy, reference), dims, accuracy, samples };
  },
};
