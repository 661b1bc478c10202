import { describe, expect, test } from 'vitest';
import { encodeDecode, GpuTimer, Transients, uploadBuffer } from '../../src/kernels/index.js';
import { gpuDescribe } from './gpu.js';

describe('GpuTimer without timestamp-query', () => {
  test('records nothing and reads {}', async () => {
    const device = { features: new Set<string>() } as unknown as GPUDevice; // the timer touches only features
    const timer = new GpuTimer(device, { label: 'off' });
    expect(timer.enabled).toBe(false);
    expect(timer.pass('decode')).toEqual({ label: 'decode' });
    timer.resolve({} as GPUCommandEncoder);
    expect(await timer.read()).toEqual({});
    timer.destroy();
  });
});

gpuDescribe('GpuTimer', ({ device }) => {
  test('milliseconds per pass label, summed over passes, from timestamp queries when offered', async () => {
    const timer = new GpuTimer(device, { label: 'test timer', capacity: 4 });
    expect(timer.enabled).toBe(device.features.has('timestamp-query'));
    const bytes = new Uint8Array(300_001);
    const input = uploadBuffer(device, 'timed input', GPUBufferUsage.STORAGE, bytes);
    const usage = GPUBufferUsage.STORAGE;
    const output = device.createBuffer({ label: 'timed output', size: bytes.length * 4, usage });
    const encoder = device.createCommandEncoder({ label: 'timed' });
    const transients = new Transients();
    for (const label of ['decode', 'decode', 'other']) {
      const pass = encoder.beginComputePass(timer.pass(label));
      encodeDecode(device, pass, { input, output, samples: 1, shape: [bytes.length], dtype: 'uint8' }, transients);
      pass.end();
    }
    timer.resolve(encoder);
    device.queue.submit([encoder.finish()]);
    transients.destroy();
    const ms = await timer.read();
    if (timer.enabled) {
      expect(Object.keys(ms).sort()).toEqual(['decode', 'other']);
      for (const value of Object.values(ms)) expect(value >= 0 && value < 10_000, `${value} ms`).toBe(true);
      console.log(`GPU time of a 300001-byte uint8 decode, twice: ${ms.decode.toFixed(3)} ms (once more: ${ms.other.toFixed(3)} ms)`);
      expect(() => {
        for (let i = 0; i < 5; i++) timer.pass('overflow');
      }).toThrow(/more than 4 passes/);
    } else {
      expect(ms).toEqual({});
    }
    timer.destroy();
    input.destroy();
    output.destroy();
  });
});
