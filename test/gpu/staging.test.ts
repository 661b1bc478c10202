import { expect, test } from 'vitest';
import {
  BatchUploader, BufferPool, decodeRef, encodeDecode, readBuffer, Transients, type DecodeKernelOptions,
} from '../../src/kernels/index.js';
import { gpuDescribe } from './gpu.js';

const seed = Number(process.env.EDGELAKE_SEED ?? Date.now() % 2 ** 32);

function randomBatch(samples: number, salt: number): Uint8Array {
  let state = (seed ^ Math.imul(salt, 0x9e3779b1)) >>> 0;
  return new Uint8Array(samples * 45).map(() => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 24);
}
const options = (samples: number): DecodeKernelOptions => ({
  samples, shape: [5, 3, 3], dtype: 'uint8', scale: 1 / 255, mean: [0.4, 0.5, 0.6], std: [0.2, 0.25, 0.3], toCHW: true,
});

/**
 * The loader's loop: upload batch i + 1 *before* submitting batch i (so the upload overlaps the
 * work), decode each into a pooled output, read everything back at the end.
 */
async function pipelined(device: GPUDevice, uploader: BatchUploader, batches: Uint8Array[]): Promise<Float32Array[]> {
  const pool = new BufferPool(device);
  const outputs: GPUBuffer[] = [];
  const transients = new Transients();
  let input = uploader.upload(batches[0]);
  for (let i = 0; i < batches.length; i++) {
    const samples = batches[i].length / 45;
    const output = pool.acquire(batches[i].length * 4, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC, `batch ${i} output`);
    outputs.push(output);
    const encoder = device.createCommandEncoder({ label: `batch ${i}` });
    const pass = encoder.beginComputePass({ label: `decode batch ${i}` });
    encodeDecode(device, pass, { ...options(samples), input, output }, transients);
    pass.end();
    const commands = encoder.finish();
    if (i + 1 < batches.length) input = uploader.upload(batches[i + 1]); // recorded before batch i is submitted
    device.queue.submit([commands]);
  }
  transients.destroy();
  const results: Float32Array[] = [];
  for (const [i, output] of outputs.entries()) {
    results.push(new Float32Array(await readBuffer(device, output, batches[i].length * 4)));
    pool.release(output);
  }
  pool.trim();
  return results;
}

gpuDescribe('BatchUploader', ({ device }) => {
  test('double buffering: uploads of odd sizes ahead of the submit leave every batch intact', async () => {
    const batches = [7, 33, 1, 1000, 13, 1000].map((samples, i) => randomBatch(samples, i));
    const uploader = new BatchUploader(device, { label: 'test batches' });
    const results = await pipelined(device, uploader, batches);
    for (const [i, bytes] of batches.entries()) {
      expect(results[i], `batch ${i}, seed ${seed}`).toEqual(decodeRef(bytes, options(bytes.length / 45)));
    }
    expect(uploader.uploads).toBe(6);
    uploader.destroy();
  });

  test('slots are used in turn, labelled, and grow only when a batch outgrows them', () => {
    const uploader = new BatchUploader(device, { label: 'turns', slots: 3 });
    const small = new Uint8Array(13);
    const slots = [0, 1, 2].map(() => uploader.upload(small));
    expect(slots.map((slot) => slot.label)).toEqual(['turns slot 0', 'turns slot 1', 'turns slot 2']);
    expect(new Set(slots).size).toBe(3);
    expect(uploader.upload(small)).toBe(slots[0]);
    const grown = uploader.upload(new Uint8Array(5000));
    expect(grown).not.toBe(slots[1]);
    expect(grown.size).toBeGreaterThanOrEqual(5000);
    uploader.destroy();
  });

  test('with one slot, uploading ahead of the submit overwrites the batch: why there are two', async () => {
    const batches = [33, 33].map((samples, i) => randomBatch(samples, 10 + i));
    const uploader = new BatchUploader(device, { label: 'one slot', slots: 1 });
    const results = await pipelined(device, uploader, batches);
    expect(results[0]).toEqual(decodeRef(batches[1], options(33))); // batch 0 saw batch 1's bytes
    uploader.destroy();
  });
});
