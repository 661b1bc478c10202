// ONNX Runtime Web's WebGPU provider in real Chromium (SwiftShader): a frozen backbone for an edgelake head.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundle, noChromium, openBrowser, type Browser } from './chromium.js';
import { modelToOnnx } from '../../scripts/export-onnx.js';
import { BASE_MODEL, fashionClasses } from '../../scripts/pretrain-base.js';
import { SUBSET } from '../support/cli.js';
import { loadModel } from '../../src/index.js';

const ENTRY = fileURLToPath(new URL('./onnx.entry.ts', import.meta.url));
// What onnxruntime-web/webgpu loads at run time from env.wasm.wasmPaths: its wasm and the module that starts it.
const ORT_FILES = ['ort-wasm-simd-threaded.asyncify.mjs', 'ort-wasm-simd-threaded.asyncify.wasm'];

/** The first `count` images of the subset's classes 5-9 as the page takes them: pixels in base64, labels 0-4. */
function split(name: 'train' | 't10k', count: number) {
  const { x, y } = fashionClasses(SUBSET, name, [5, 6, 7, 8, 9]);
  return { pixels: Buffer.from(Uint8Array.from(x.subarray(0, count * 784), (v) => Math.round(v * 255))).toString('base64'), labels: Array.from(y.subarray(0, count)) };
}

describe.skipIf(noChromium)('onnxEmbedder on ONNX Runtime Web\'s WebGPU provider in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    const base = loadModel(new Uint8Array(readFileSync(BASE_MODEL)), { name: BASE_MODEL });
    const backbone = await modelToOnnx(base, 5); // the shipped base's convolutions: 32 x 7 x 7 features
    base.dispose();
    browser = await openBrowser({ '/entry.js': await bundle(ENTRY), '/backbone.onnx': backbone, ...Object.fromEntries(ORT_FILES.map((f) => [`/ort/${f}`, new Uint8Array(readFileSync(`node_modules/onnxruntime-web/dist/${f}`))])) }, 120_000);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('gives ORT\'s own CPU embeddings to 1e-3, from uploaded rows and from a GPU buffer without a copy; a head on them learns classes 5-9', async () => {
    const page = await browser.open();
    const result = await page.evaluate(([train, test]) => window.onnxTest.run(train, test), [split('train', 1000), split('t10k', 500)] as const);
    console.log(`ONNX Runtime Web in Chromium: WebGPU vs wasm embeddings differ by at most ${result.uploaded.toExponential(2)} (uploaded), ${result.zeroCopy.toExponential(2)} (GPU buffer); head accuracy ${result.accuracy.toFixed(3)} on ${result.samples} test images`);
    expect(result.dims).toBe(32 * 7 * 7);
    expect(result.uploaded).toBeLessThan(1e-3);
    expect(result.zeroCopy).toBeLessThan(1e-3);
    expect(result.samples).toBe(500);
    expect(result.accuracy).toBeGreaterThan(0.9);
    await page.close();
  }, 180_000);
});
